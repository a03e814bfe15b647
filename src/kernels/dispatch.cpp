#include "kernels/dispatch.h"

#include <cpuid.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "kernels/kernel_table.h"

namespace fptq::kernels {
namespace {

struct CpuFeatures {
  bool avx2 = false;        // AVX + AVX2 + FMA + F16C, YMM state enabled by the OS
  bool avx512vnni = false;  // AVX-512 F/BW/VL/DQ/VNNI, ZMM + opmask state enabled by the OS
};

uint64_t read_xcr0() {
  uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t(hi) << 32) | lo;
}

CpuFeatures detect_cpu() {
  CpuFeatures f;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
  const bool osxsave = ecx & (1u << 27);
  const bool avx = ecx & (1u << 28);
  const bool fma = ecx & (1u << 12);
  const bool f16c = ecx & (1u << 29);
  if (!osxsave || !avx) return f;
  const uint64_t xcr0 = read_xcr0();
  const bool os_ymm = (xcr0 & 0x6) == 0x6;    // SSE + AVX state
  const bool os_zmm = (xcr0 & 0xe6) == 0xe6;  // + opmask, ZMM_Hi256, Hi16_ZMM
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return f;
  const bool avx2 = ebx & (1u << 5);
  const bool avx512f = ebx & (1u << 16);
  const bool avx512dq = ebx & (1u << 17);
  const bool avx512bw = ebx & (1u << 30);
  const bool avx512vl = ebx & (1u << 31);
  const bool avx512vnni = ecx & (1u << 11);
  f.avx2 = os_ymm && avx2 && fma && f16c;
  f.avx512vnni = f.avx2 && os_zmm && avx512f && avx512dq && avx512bw && avx512vl && avx512vnni;
  return f;
}

const CpuFeatures& cpu() {
  static const CpuFeatures f = detect_cpu();
  return f;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Ref:
      return "ref";
    case Isa::Avx2:
      return "avx2";
    case Isa::Avx512Vnni:
      return "avx512vnni";
  }
  return "?";
}

Isa parse_isa(std::string_view name) {
  for (Isa isa : {Isa::Ref, Isa::Avx2, Isa::Avx512Vnni})
    if (name == isa_name(isa)) return isa;
  fail("FPTQ_ISA='{}' is not a known instruction set (expected ref, avx2 or avx512vnni)", name);
}

bool isa_supported(Isa isa) {
  switch (isa) {
    case Isa::Ref:
      return true;
    case Isa::Avx2:
      return cpu().avx2;
    case Isa::Avx512Vnni:
      return cpu().avx512vnni;
  }
  return false;
}

Isa best_supported_isa() {
  if (isa_supported(Isa::Avx512Vnni)) return Isa::Avx512Vnni;
  if (isa_supported(Isa::Avx2)) return Isa::Avx2;
  return Isa::Ref;
}

Isa select_isa(const char* fptq_isa_value) {
  if (fptq_isa_value == nullptr || *fptq_isa_value == '\0') return best_supported_isa();
  const Isa isa = parse_isa(fptq_isa_value);
  if (!isa_supported(isa))
    fail("FPTQ_ISA={} requested but this CPU/OS cannot run it (best available: {})", isa_name(isa),
         isa_name(best_supported_isa()));
  return isa;
}

Isa active_isa() {
  // A throwing initializer leaves the static uninitialized; the next call retries.
  static const Isa isa = select_isa(std::getenv("FPTQ_ISA"));
  return isa;
}

const KernelTable& kernels_for(Isa isa) {
  if (!isa_supported(isa))
    fail("kernels for ISA {} requested but this CPU/OS cannot run them", isa_name(isa));
  switch (isa) {
    case Isa::Ref:
      return ref::table();
    case Isa::Avx2:
      return avx2::table();
    case Isa::Avx512Vnni:
      return avx512::table();
  }
  return ref::table();
}

const KernelTable& active_kernels() {
  static const KernelTable& t = kernels_for(active_isa());
  return t;
}

}  // namespace fptq::kernels
