#include "tokenizer/bpe_tokenizer.h"

#include <queue>

#include "core/error.h"
#include "tokenizer/byte_unicode.h"
#include "tokenizer/special_split.h"
#include "tokenizer/utf8.h"

namespace fptq::tok {
namespace {

struct Symbol {
  uint32_t begin, len;  // bytes of the mapped word; len 0 once merged away
  int32_t id;           // symbol id, -1 when the text is unknown
  int32_t prev, next;
};

struct Pair {
  int32_t rank;
  int32_t left, right;
  int32_t left_id, right_id;  // stale when the symbols changed since queued
};
// Lowest rank first; equal ranks: leftmost first.
struct PairOrder {
  bool operator()(const Pair& a, const Pair& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

}  // namespace

int32_t BpeTokenizer::symbol_id(std::string_view s) const {
  const int32_t id = vocab_.find(s);
  if (id >= 0) return id;
  const auto it = extra_symbols_.find(s);
  return it == extra_symbols_.end() ? -1 : it->second;
}

int32_t BpeTokenizer::intern(std::string_view s) {
  const int32_t id = symbol_id(s);
  if (id >= 0) return id;
  const int32_t nid = vocab_.size() + static_cast<int32_t>(extra_text_.size());
  extra_text_.emplace_back(s);
  extra_symbols_.emplace(std::string(s), nid);
  return nid;
}

BpeTokenizer::BpeTokenizer(const io::Metadata& md, std::string_view where) {
  vocab_ = load_vocab(md, where, VocabDefaults{});
  const std::string pre = md.get_string("tokenizer.ggml.pre", "default", where);
  pre_ = std::make_unique<PreTokenizer>(pre, where);
  kind_ = "gpt2 (byte-level BPE, " + pre_->variant() + ")";

  const io::Value* mv = md.find("tokenizer.ggml.merges");
  if (!mv) fail("{}: missing key 'tokenizer.ggml.merges'", where);
  if (!mv->is_array() || mv->elem_type != io::ValueType::STRING)
    fail("{}: key 'tokenizer.ggml.merges' must be an array of strings", where);
  merges_.reserve(mv->strings.size());
  for (size_t i = 0; i < mv->strings.size(); ++i) {
    const std::string& m = mv->strings[i];
    const size_t sp = m.size() > 1 ? m.find(' ', 1) : std::string::npos;
    if (sp == std::string::npos || sp + 1 >= m.size())
      fail("{}: tokenizer.ggml.merges[{}] = '{}' is not two symbols separated by a space", where,
           i, m);
    const std::string_view a = std::string_view(m).substr(0, sp);
    const std::string_view b = std::string_view(m).substr(sp + 1);
    const int32_t ia = intern(a), ib = intern(b);
    const int32_t ir = intern(std::string(a) + std::string(b));
    merges_.emplace(pair_key(ia, ib), Merge{static_cast<int32_t>(i), ir});  // first rank wins
  }

  // SmolLM2's unknown_token_id is <|endoftext|>: never emit a control token
  // for text the vocabulary cannot represent.
  unk_usable_ = vocab_.unk >= 0 && vocab_.type[vocab_.unk] == TokenType::kUnknown;
  for (int b = 0; b < 256; ++b)
    byte_has_token_[b] = vocab_.find(byte_to_unicode(static_cast<uint8_t>(b))) >= 0;

  bytes_.resize(vocab_.text.size());
  for (int32_t id = 0; id < vocab_.size(); ++id) {
    const std::string& t = vocab_.text[id];
    switch (vocab_.type[id]) {
      case TokenType::kNormal:
      case TokenType::kByte: {
        std::string s;
        for (size_t i = 0; i < t.size();) {
          const size_t n = std::min(utf8_lead_len(static_cast<uint8_t>(t[i])), t.size() - i);
          const auto b = unicode_to_byte(std::string_view(t).substr(i, n));
          if (b) s += static_cast<char>(*b);
          else s.append(t, i, n);  // a character outside the byte map stands for itself
          i += n;
        }
        bytes_[id] = std::move(s);
        break;
      }
      case TokenType::kUserDefined:
        bytes_[id] = t;
        break;
      default:  // control, unknown, unused, undefined: no text
        break;
    }
  }
}

std::string BpeTokenizer::decode(std::span<const int32_t> ids) const {
  std::string out;
  for (const int32_t id : ids) {
    check_id(id);
    out += bytes_[id];
  }
  return out;
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text, bool add_bos,
                                          bool parse_special) const {
  if (text.size() >= UINT32_MAX / 4) fail("text of {} bytes is too long to tokenize", text.size());
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 2);
  if (add_bos) {
    if (vocab_.bos < 0) fail("cannot add BOS: the tokenizer has no BOS token");
    out.push_back(vocab_.bos);
  }
  // Words repeat a lot in real text: remember each word's tokens for this call
  // (keys are views into `text`).
  std::unordered_map<std::string_view, std::pair<uint32_t, uint32_t>> cache;
  std::string scratch;
  std::vector<int32_t> word_ids;
  const auto emit_word = [&](std::string_view word) {
    const auto it = cache.find(word);
    if (it != cache.end()) {
      out.insert(out.end(), word_ids.begin() + it->second.first,
                 word_ids.begin() + it->second.first + it->second.second);
      return;
    }
    const size_t start = word_ids.size();
    encode_word(word, &scratch, &word_ids);
    const uint32_t n = static_cast<uint32_t>(word_ids.size() - start);
    cache.emplace(word, std::make_pair(static_cast<uint32_t>(start), n));
    out.insert(out.end(), word_ids.begin() + start, word_ids.end());
  };

  std::string word;
  for (const Fragment& f : split_special(text, vocab_, parse_special)) {
    if (f.token >= 0) {
      out.push_back(f.token);
      continue;
    }
    if (utf8_is_valid(f.text)) {
      for (const std::string_view w : pre_->split(f.text)) emit_word(w);
      continue;
    }
    // Split the repaired text, then put the original bytes back: an invalid
    // byte stays itself when its character is a token, else it becomes U+FFFD.
    const Utf8Repair fixed = utf8_repair(f.text);
    const char* base = fixed.text.data();
    for (const std::string_view w : pre_->split(fixed.text)) {
      word.clear();
      const size_t b = static_cast<size_t>(w.data() - base), e = b + w.size();
      for (size_t p = b; p < e;) {
        const size_t n = utf8_lead_len(static_cast<uint8_t>(fixed.text[p]));
        const size_t ob = fixed.orig[p], oe = fixed.orig[p + n];
        const auto byte = static_cast<uint8_t>(f.text[ob]);
        if (oe - ob == 1 && byte >= 0x80 && !byte_has_token_[byte]) word.append(fixed.text, p, n);
        else word.append(f.text.substr(ob, oe - ob));
        p += n;
      }
      encode_word(word, &scratch, &out);
    }
  }
  return out;
}

void BpeTokenizer::encode_word(std::string_view word_bytes, std::string* scratch,
                               std::vector<int32_t>* out) const {
  std::string& w = *scratch;
  w.clear();
  bytes_to_unicode_text(word_bytes, &w);

  if (pre_->ignore_merges()) {
    const int32_t id = vocab_.find(w);
    if (id >= 0) {
      out->push_back(id);
      return;
    }
  }

  // One symbol per character of the mapped word (all characters of the byte
  // map are 1 or 2 bytes long).
  std::vector<Symbol> sym;
  sym.reserve(w.size());
  for (size_t off = 0; off < w.size();) {
    const uint32_t n = static_cast<uint32_t>(utf8_lead_len(static_cast<uint8_t>(w[off])));
    const int32_t i = static_cast<int32_t>(sym.size());
    sym.push_back({static_cast<uint32_t>(off), n, symbol_id(std::string_view(w).substr(off, n)),
                   i - 1, off + n == w.size() ? -1 : i + 1});
    off += n;
  }

  std::priority_queue<Pair, std::vector<Pair>, PairOrder> queue;
  const auto try_add = [&](int32_t l, int32_t r) {
    if (l < 0 || r < 0 || sym[l].id < 0 || sym[r].id < 0) return;
    const auto it = merges_.find(pair_key(sym[l].id, sym[r].id));
    if (it == merges_.end()) return;
    queue.push({it->second.rank, l, r, sym[l].id, sym[r].id});
  };
  for (int32_t i = 1; i < static_cast<int32_t>(sym.size()); ++i) try_add(i - 1, i);

  while (!queue.empty()) {
    const Pair p = queue.top();
    queue.pop();
    Symbol& l = sym[p.left];
    Symbol& r = sym[p.right];
    if (l.len == 0 || r.len == 0 || l.next != p.right || l.id != p.left_id || r.id != p.right_id)
      continue;  // stale
    l.id = merges_.at(pair_key(l.id, r.id)).result;
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) sym[r.next].prev = p.left;
    try_add(l.prev, p.left);
    try_add(p.left, l.next);
  }

  for (int32_t i = 0; !sym.empty() && i >= 0; i = sym[i].next) {
    const Symbol& s = sym[i];
    if (s.id >= 0 && s.id < vocab_.size()) {
      out->push_back(s.id);
      continue;
    }
    // Not a token (a merge result missing from the vocabulary, or an unknown
    // character): fall back to the tokens of its characters.
    const std::string_view text = std::string_view(w).substr(s.begin, s.len);
    for (size_t off = 0; off < text.size();) {
      const size_t n = std::min(utf8_lead_len(static_cast<uint8_t>(text[off])), text.size() - off);
      const int32_t id = vocab_.find(text.substr(off, n));
      if (id >= 0) out->push_back(id);
      else if (unk_usable_) out->push_back(vocab_.unk);
      off += n;  // else dropped, as llama.cpp does
    }
  }
}

}  // namespace fptq::tok
