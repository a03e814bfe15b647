// Splits input text around special tokens written in it (e.g. "<|im_end|>"),
// before any pre-tokenization or merging.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace fptq::tok {

// A piece of the input: raw text to tokenize (token == -1), or a special
// token matched in the text.
struct Fragment {
  std::string_view text;  // view into the input; the token's text when token >= 0
  int32_t token = -1;
};

// Fragments of `text` in order; their texts concatenate to `text`. Special
// tokens are matched longest first (vocab.specials order), each leftmost and
// non-overlapping in the text left over by longer ones. Control and unknown
// tokens are matched only when parse_special; user-defined tokens always.
std::vector<Fragment> split_special(std::string_view text, const Vocab& vocab, bool parse_special);

}  // namespace fptq::tok
