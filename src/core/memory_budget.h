// One bound for memory sized from options or file metadata (a KV cache from
// -n and the context length, calibration sequences from --samples and
// --seqlen): the product is computed without overflow and compared with the
// machine's physical memory before anything is allocated, so a hostile size
// ends in one line naming the request and the bound instead of the machine
// swapping or the allocator aborting.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace fptq {

// Physical memory of this machine in bytes (sysconf), or 2^63 when unknown.
uint64_t physical_memory_bytes();

// Fails with an fptq::Error unless the product of `factors` (bytes) fits in
// physical memory. `what` names the allocation and `hint` says which option
// or metadata to lower ("lower -n").
void check_allocation(std::string_view what, std::initializer_list<uint64_t> factors,
                      std::string_view hint);

}  // namespace fptq
