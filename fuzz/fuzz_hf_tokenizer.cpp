// libFuzzer target: tokenizer.json -> tokenizer.ggml.* keys -> a working
// tokenizer that encodes and decodes a fixed text. Input that is not JSON is
// skipped; from a parsed document on, only fptq::Error may come out.
#include <cstdint>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "fuzz/fuzz_support.h"
#include "io/hf_tokenizer.h"
#include "io/metadata.h"
#include "tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fptq;
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;
  io::Metadata md;
  try {
    io::HfTokenizerInputs in;
    in.tokenizer = &j;
    // The optional sections a directory adds, taken from the document itself
    // so the fuzzer can reach them.
    const nlohmann::json* cfg = nullptr;
    if (j.is_object()) {
      auto it = j.find("fuzz_tokenizer_config");
      if (it != j.end()) cfg = &*it;
      auto nv = j.find("fuzz_n_vocab");
      if (nv != j.end() && nv->is_number_integer()) in.n_vocab = nv->get<int64_t>();
    }
    in.tokenizer_config = cfg;
    io::add_hf_tokenizer_metadata(in, "fuzz/tokenizer.json", md);
  } catch (const Error&) {
    return 0;
  }
  try {
    const auto tok = tok::Tokenizer::from_metadata(md, "fuzz/tokenizer.json");
    const std::vector<int32_t> ids =
        tok->encode(" Hello  world\n\t<|endoftext|> ab abc \xff\xc3\xa9 123", true, true);
    for (int32_t id : ids) fuzz::require(id >= 0 && id < tok->n_vocab(), "token id in range");
    (void)tok->decode(ids);
  } catch (const Error&) {
  }
  return 0;
}
