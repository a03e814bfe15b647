#include "core/memory_budget.h"

#include <unistd.h>

#include "core/checked_math.h"
#include "core/error.h"

namespace fptq {

uint64_t physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  uint64_t b = 0;
  if (pages <= 0 || page <= 0 || !checked_mul(uint64_t(pages), uint64_t(page), &b))
    return uint64_t(1) << 63;
  return b;
}

void check_allocation(std::string_view what, std::initializer_list<uint64_t> factors,
                      std::string_view hint) {
  uint64_t bytes = 1;
  bool overflow = false;
  for (uint64_t f : factors) overflow = overflow || !checked_mul(bytes, f, &bytes);
  const uint64_t ram = physical_memory_bytes();
  if (overflow)
    fail("{} would take more than 2^64 bytes (this machine has {:.1f} GiB): {}", what,
         double(ram) / double(1 << 30), hint);
  if (bytes > ram)
    fail("{} would take {:.1f} GiB, more than this machine's {:.1f} GiB of memory: {}", what,
         double(bytes) / double(1 << 30), double(ram) / double(1 << 30), hint);
}

}  // namespace fptq
