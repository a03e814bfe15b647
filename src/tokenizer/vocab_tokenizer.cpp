#include "tokenizer/vocab_tokenizer.h"

#include "core/error.h"

namespace fptq::tok {

void VocabTokenizer::check_id(int32_t id) const {
  if (id < 0 || id >= vocab_.size())
    fail("token id {} is outside the vocabulary of {} tokens", id, vocab_.size());
}

const std::string& VocabTokenizer::token_text(int32_t id) const {
  check_id(id);
  return vocab_.text[id];
}

std::string VocabTokenizer::token_bytes(int32_t id) const {
  check_id(id);
  return bytes_[id];
}

}  // namespace fptq::tok
