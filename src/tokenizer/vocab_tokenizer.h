// The part of a tokenizer that only depends on its vocabulary: id checks,
// token texts and bytes, BOS/EOS and end-of-generation. BpeTokenizer and
// SpmTokenizer derive from it and fill `vocab_` and `bytes_` in their
// constructors.
#pragma once

#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace fptq::tok {

class VocabTokenizer : public Tokenizer {
 public:
  std::string token_bytes(int32_t id) const override;
  const std::string& token_text(int32_t id) const override;

  int32_t n_vocab() const override { return vocab_.size(); }
  int32_t bos_id() const override { return vocab_.bos; }
  int32_t eos_id() const override { return vocab_.eos; }
  bool add_bos_by_default() const override { return vocab_.add_bos; }
  bool is_end_of_generation(int32_t id) const override { return vocab_.is_eog(id); }

  const Vocab& vocab() const { return vocab_; }

 protected:
  // Throws fptq::Error when id is outside the vocabulary.
  void check_id(int32_t id) const;

  Vocab vocab_;
  std::vector<std::string> bytes_;  // token_bytes() of every id
};

}  // namespace fptq::tok
