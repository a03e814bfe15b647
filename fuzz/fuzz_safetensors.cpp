// libFuzzer target: the safetensors header parser and layout checks on
// arbitrary bytes. Only fptq::Error may come out; a tensor that parsed must
// lie inside the input.
#include <cstdint>

#include "core/error.h"
#include "fuzz/fuzz_support.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fptq;
  try {
    const io::SafetensorsFile f = io::parse_safetensors(data, size, "fuzz.safetensors");
    uint64_t prev_end = 0;
    for (const io::SafetensorsTensor& t : f.tensors) {
      fuzz::require(t.data >= data && t.data + t.nbytes <= data + size, "tensor data inside input");
      fuzz::require(t.offset >= prev_end, "tensors in offset order, not overlapping");
      prev_end = t.offset + t.nbytes;
      uint64_t n = 1;
      for (int64_t d : t.shape) n *= uint64_t(d);
      fuzz::require(n * io::safetensors_dtype_size(t.dtype) == t.nbytes, "shape x dtype == bytes");
      fuzz::require(f.find(t.name) == &t, "find() returns the tensor");
    }
  } catch (const Error&) {
  }
  return 0;
}
