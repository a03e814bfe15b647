// Inputs that crashed (or could exhaust memory in) the parsers, found by the
// libFuzzer targets in fuzz/ or while writing them; each must now give a
// one-line fptq::Error. The bytes are kept verbatim.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"
#include "io/hf_tokenizer.h"
#include "io/metadata.h"

namespace fptq::io {
namespace {
using nlohmann::json;

std::string tokenizer_error(const std::string& tokenizer_json, std::optional<int64_t> n_vocab) {
  const json tok = json::parse(tokenizer_json);
  HfTokenizerInputs in;
  in.tokenizer = &tok;
  in.n_vocab = n_vocab;
  Metadata md;
  try {
    add_hf_tokenizer_metadata(in, "t/tokenizer.json", md);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

// config.json's vocab_size pads the vocabulary with [PAD<id>] tokens: a
// vocab_size of 4e9 (which config.json accepts as a u32) allocated 4e9
// strings (std::bad_alloc / length_error, not an fptq::Error).
TEST(FuzzRegressions, HugeVocabSizeIsRefusedBeforePadding) {
  const std::string tok =
      R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]},
          "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}})";
  EXPECT_EQ(tokenizer_error(tok, 4000000000), "t/tokenizer.json: vocab_size 4000000000 out of range (1 to 16777216)");
  EXPECT_EQ(tokenizer_error(tok, 0), "t/tokenizer.json: vocab_size 0 out of range (1 to 16777216)");
  EXPECT_EQ(tokenizer_error(tok, 8), "no error");
}

}  // namespace
}  // namespace fptq::io
