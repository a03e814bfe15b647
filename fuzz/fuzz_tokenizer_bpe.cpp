// libFuzzer target: the byte-level BPE tokenizer with a real vocabulary
// (SmolLM2's, 49152 tokens, smollm pre-tokenizer) on arbitrary bytes. Its
// header promises decode(encode(s)) == s when every byte's character is a
// token, valid UTF-8 or not; a byte without one is dropped (as llama.cpp
// does). SmolLM2 lacks 21 of them (e.g. 0x04, 0xC0, 0xF1, 0xF2, 0xF5-0xFF),
// so the round trip is checked on inputs made only of the other 235 bytes.
#include <array>
#include <cstdint>
#include <string>
#include <unordered_set>

#include "fuzz/fuzz_tokenizer.h"
#include "tokenizer/byte_unicode.h"

namespace {
const fptq::tok::Tokenizer* g_tok = nullptr;
std::array<bool, 256> g_byte_has_token{};
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const std::string path = fptq::fuzz::env_or("FPTQ_MODELS_DIR", FPTQ_FUZZ_MODELS_DIR) +
                           "/SmolLM2-135M-Instruct.Q4_1.gguf";
  g_tok = fptq::fuzz::load_tokenizer(path).release();
  std::unordered_set<std::string> texts;
  for (int32_t id = 0; id < g_tok->n_vocab(); ++id) texts.insert(g_tok->token_text(id));
  for (int b = 0; b < 256; ++b)
    g_byte_has_token[size_t(b)] = texts.count(fptq::tok::byte_to_unicode(uint8_t(b))) > 0;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fptq::fuzz::fuzz_tokenizer(*g_tok, data, size, [](std::string_view s) {
    for (unsigned char c : s)
      if (!g_byte_has_token[c]) return false;
    return true;
  });
}
