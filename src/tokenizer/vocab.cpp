#include "tokenizer/vocab.h"

#include <algorithm>
#include <array>

#include "core/error.h"

namespace fptq::tok {
namespace {

const io::Value& require_array(const io::Metadata& md, std::string_view key, io::ValueType elem,
                               std::string_view where) {
  const io::Value* v = md.find(key);
  if (!v) fail("{}: missing key '{}'", where, key);
  if (!v->is_array() || v->elem_type != elem)
    fail("{}: key '{}' must be an array of {}, got {}", where, key, io::value_type_name(elem),
         v->is_array() ? "array of " + std::string(io::value_type_name(v->elem_type))
                       : std::string(io::value_type_name(v->type)));
  return *v;
}

bool is_int_type(io::ValueType t) {
  switch (t) {
    case io::ValueType::U8: case io::ValueType::I8: case io::ValueType::U16:
    case io::ValueType::I16: case io::ValueType::U32: case io::ValueType::I32:
    case io::ValueType::U64: case io::ValueType::I64:
      return true;
    default:
      return false;
  }
}

// An optional token id key: absent -> dflt; u32/u64 all-ones or -1 -> none.
int32_t read_id(const io::Metadata& md, std::string_view key, int32_t dflt, int32_t n_vocab,
                std::string_view where) {
  if (!md.contains(key)) return dflt;
  const int64_t v = md.get_int(key, where);
  if (v == -1 || v == 0xFFFFFFFFll) return -1;
  if (v < 0 || v >= n_vocab)
    fail("{}: key '{}' = {} is outside the vocabulary of {} tokens", where, key, v, n_vocab);
  return static_cast<int32_t>(v);
}

}  // namespace

bool Vocab::is_eog(int32_t id) const { return std::binary_search(eog.begin(), eog.end(), id); }

Vocab load_vocab(const io::Metadata& md, std::string_view where, const VocabDefaults& dflt) {
  Vocab v;
  v.text = require_array(md, "tokenizer.ggml.tokens", io::ValueType::STRING, where).strings;
  const size_t n = v.text.size();
  if (n == 0) fail("{}: key 'tokenizer.ggml.tokens' is empty", where);
  if (n > static_cast<size_t>(INT32_MAX))
    fail("{}: key 'tokenizer.ggml.tokens' has {} entries, more than ids can hold", where, n);
  const int32_t n_vocab = static_cast<int32_t>(n);

  v.score.assign(n, 0.0f);
  if (md.contains("tokenizer.ggml.scores")) {
    const auto& s = require_array(md, "tokenizer.ggml.scores", io::ValueType::F32, where);
    if (s.floats.size() != n)
      fail("{}: key 'tokenizer.ggml.scores' has {} entries, tokenizer.ggml.tokens has {}", where,
           s.floats.size(), n);
    for (size_t i = 0; i < n; ++i) v.score[i] = static_cast<float>(s.floats[i]);
  }

  v.type.assign(n, TokenType::kNormal);
  if (const io::Value* t = md.find("tokenizer.ggml.token_type")) {
    if (!t->is_array() || !is_int_type(t->elem_type))
      fail("{}: key 'tokenizer.ggml.token_type' must be an integer array", where);
    if (t->ints.size() != n)
      fail("{}: key 'tokenizer.ggml.token_type' has {} entries, tokenizer.ggml.tokens has {}",
           where, t->ints.size(), n);
    for (size_t i = 0; i < n; ++i) {
      const int64_t x = t->ints[i];
      if (x < 0 || x > 6)
        fail("{}: key 'tokenizer.ggml.token_type'[{}] = {} is not a token type (0..6)", where, i,
             x);
      v.type[i] = static_cast<TokenType>(x);
    }
  }

  v.id_of.reserve(n);
  for (int32_t i = 0; i < n_vocab; ++i) v.id_of[v.text[i]] = i;

  // Family defaults only apply when they name a token of this vocabulary.
  const auto dflt_id = [&](int32_t id) { return id < n_vocab ? id : -1; };
  v.bos = read_id(md, "tokenizer.ggml.bos_token_id", dflt_id(dflt.bos), n_vocab, where);
  v.eos = read_id(md, "tokenizer.ggml.eos_token_id", dflt_id(dflt.eos), n_vocab, where);
  v.unk = read_id(md, "tokenizer.ggml.unknown_token_id", dflt_id(dflt.unk), n_vocab, where);
  const int32_t eot = read_id(md, "tokenizer.ggml.eot_token_id", -1, n_vocab, where);
  const int32_t eom = read_id(md, "tokenizer.ggml.eom_token_id", -1, n_vocab, where);
  v.add_bos = md.get_bool("tokenizer.ggml.add_bos_token", dflt.add_bos, where);
  if (v.add_bos && v.bos < 0)
    fail("{}: tokenizer.ggml.add_bos_token is set but there is no BOS token", where);

  // End of generation: EOS, EOT, EOM, and control tokens that chat formats
  // use to end a turn or a document.
  static constexpr std::array<std::string_view, 8> kEogTexts = {
      "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>",
      "<EOT>", "<|end_of_text|>"};
  for (const int32_t id : {v.eos, eot, eom})
    if (id >= 0) v.eog.push_back(id);
  for (const std::string_view t : kEogTexts) {
    const int32_t id = v.find(t);
    if (id >= 0 && v.type[id] == TokenType::kControl) v.eog.push_back(id);
  }
  std::sort(v.eog.begin(), v.eog.end());
  v.eog.erase(std::unique(v.eog.begin(), v.eog.end()), v.eog.end());

  for (int32_t i = 0; i < n_vocab; ++i) {
    const TokenType t = v.type[i];
    if ((t == TokenType::kControl || t == TokenType::kUserDefined || t == TokenType::kUnknown) &&
        !v.text[i].empty())
      v.specials.push_back(i);
  }
  std::stable_sort(v.specials.begin(), v.specials.end(), [&](int32_t a, int32_t b) {
    return v.text[a].size() > v.text[b].size();
  });
  return v;
}

}  // namespace fptq::tok
