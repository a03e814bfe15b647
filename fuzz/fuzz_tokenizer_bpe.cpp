// libFuzzer target: the byte-level BPE tokenizer with a real vocabulary
// (SmolLM2's, 49152 tokens, smollm pre-tokenizer) on arbitrary bytes. Its
// header promises a lossless round trip for bytes whose character is in the
// vocabulary; SmolLM2 lacks a few (e.g. 0x04, 0xC0, 0xF5-0xFF), so the check
// applies to valid UTF-8 whose ASCII bytes each round-trip on their own.
#include <array>
#include <cstdint>

#include "fuzz/fuzz_tokenizer.h"
#include "tokenizer/utf8.h"

namespace {
const fptq::tok::Tokenizer* g_tok = nullptr;
std::array<bool, 128> g_ascii_ok{};
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const std::string path = fptq::fuzz::env_or("FPTQ_MODELS_DIR", FPTQ_FUZZ_MODELS_DIR) +
                           "/SmolLM2-135M-Instruct.Q4_1.gguf";
  g_tok = fptq::fuzz::load_tokenizer(path).release();
  for (int b = 0; b < 128; ++b) {
    const std::string s(1, char(b));
    g_ascii_ok[size_t(b)] = g_tok->decode(g_tok->encode(s, false, false)) == s;
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fptq::fuzz::fuzz_tokenizer(*g_tok, data, size, [](std::string_view s) {
    if (!fptq::tok::utf8_is_valid(s)) return false;
    for (unsigned char c : s)
      if (c < 128 && !g_ascii_ok[c]) return false;
    return true;
  });
}
