// The vocabulary shared by both tokenizers: token texts, scores and types as
// stored in tokenizer.ggml.*, the text -> id index, the special ids and the
// tokens matched as whole strings before tokenization.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "io/metadata.h"

namespace fptq::tok {

// tokenizer.ggml.token_type values (llama.cpp's llama_token_type).
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

// Hash for heterogeneous lookup of std::string keys by std::string_view.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using StringIdMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

struct Vocab {
  std::vector<std::string> text;  // tokenizer.ggml.tokens
  std::vector<float> score;       // tokenizer.ggml.scores (0 when absent)
  std::vector<TokenType> type;    // tokenizer.ggml.token_type (kNormal when absent)
  StringIdMap id_of;              // text -> id; the last id wins for duplicate texts

  int32_t bos = -1, eos = -1, unk = -1;  // -1: none
  bool add_bos = false;                  // tokenizer.ggml.add_bos_token (or the model default)
  std::vector<int32_t> eog;              // end-of-generation ids, sorted
  // Control, user-defined and unknown tokens with non-empty text, longest
  // text first (ties: lower id first): the strings split out of the input
  // before tokenization (control/unknown only when parse_special).
  std::vector<int32_t> specials;

  int32_t size() const { return static_cast<int32_t>(text.size()); }
  // The id of a token text, or -1.
  int32_t find(std::string_view s) const {
    const auto it = id_of.find(s);
    return it == id_of.end() ? -1 : it->second;
  }
  bool is_eog(int32_t id) const;
};

// Model-family defaults applied when the keys are absent.
struct VocabDefaults {
  int32_t bos = -1, eos = -1, unk = -1;
  bool add_bos = false;
};

// Reads tokenizer.ggml.{tokens,scores,token_type,bos_token_id,eos_token_id,
// unknown_token_id,eot_token_id,eom_token_id,add_bos_token}. Throws
// fptq::Error naming `where` and the key when a key is missing, has the wrong
// type or length, or names an id outside the vocabulary.
Vocab load_vocab(const io::Metadata& md, std::string_view where, const VocabDefaults& dflt);

}  // namespace fptq::tok
