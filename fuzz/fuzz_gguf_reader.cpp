// libFuzzer target: the GGUF reader on arbitrary bytes, then what a loader
// does next with a file that parsed: dequantize its tensors and build its
// tokenizer. Only fptq::Error may come out; anything else is a finding.
#include <cmath>
#include <cstdint>

#include "core/error.h"
#include "fuzz/fuzz_support.h"
#include "io/dequant.h"
#include "io/gguf_reader.h"
#include "tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fptq;
  std::shared_ptr<io::ModelFile> file;
  try {
    file = io::parse_gguf(data, size, "fuzz.gguf");
  } catch (const Error&) {
    return 0;
  }
  for (const io::TensorInfo& t : file->tensors) {
    fuzz::require(t.data >= data && t.data + t.nbytes <= data + size, "tensor data inside input");
    if (!io::type_info(t.type).can_dequantize || t.n_elements() > (int64_t(1) << 20)) continue;
    try {
      const std::vector<float> v = io::dequantize_tensor(t);
      fuzz::require(int64_t(v.size()) == t.n_elements(), "dequantized element count");
    } catch (const Error&) {
    }
  }
  try {
    const auto tok = tok::Tokenizer::from_metadata(file->metadata, file->path);
    const std::vector<int32_t> ids = tok->encode("Hello world <s> </s>\n\xe2\x96\x81 42", true, true);
    for (int32_t id : ids) fuzz::require(id >= 0 && id < tok->n_vocab(), "token id in range");
    (void)tok->decode(ids);
  } catch (const Error&) {
  }
  return 0;
}
