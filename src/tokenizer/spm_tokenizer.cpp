#include "tokenizer/spm_tokenizer.h"

#include <fmt/format.h>

#include <queue>
#include <unordered_map>

#include "core/error.h"
#include "tokenizer/special_split.h"
#include "tokenizer/utf8.h"

namespace fptq::tok {
namespace {

constexpr std::string_view kSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's space

// Parses "<0xXX>"; -1 when the text is not of that form.
int parse_byte_token(std::string_view s) {
  if (s.size() != 6 || s.substr(0, 3) != "<0x" || s[5] != '>') return -1;
  int v = 0;
  for (const char c : s.substr(3, 2)) {
    v <<= 4;
    if (c >= '0' && c <= '9') v |= c - '0';
    else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
    else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
    else return -1;
  }
  return v;
}

struct Symbol {
  uint32_t begin;  // byte offset in the fragment
  uint32_t len;    // 0 once merged into its left neighbour
  int32_t prev, next;
};

struct Bigram {
  float score;
  int32_t left, right;
  uint32_t len;  // bytes of left + right when queued; stale if they changed
};
// Highest score first; equal scores: leftmost first.
struct BigramOrder {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

}  // namespace

SpmTokenizer::SpmTokenizer(const io::Metadata& md, std::string_view where) {
  vocab_ = load_vocab(md, where, VocabDefaults{.bos = 1, .eos = 2, .unk = 0, .add_bos = true});
  add_space_prefix_ = md.get_bool("tokenizer.ggml.add_space_prefix", true, where);

  // Chunking is exact when no token has a "▁" right after a character that
  // is not "▁" (SentencePiece splits on whitespace, so this is the norm).
  split_before_space_ = true;
  for (const std::string& t : vocab_.text) {
    for (size_t p = t.find(kSpace, 1); p != std::string::npos; p = t.find(kSpace, p + 1)) {
      if (p < kSpace.size() || t.compare(p - kSpace.size(), kSpace.size(), kSpace) != 0)
        split_before_space_ = false;
    }
  }

  for (int b = 0; b < 256; ++b) {
    int32_t id = vocab_.find(fmt::format("<0x{:02X}>", b));
    if (id < 0) id = vocab_.find(std::string(1, static_cast<char>(b)));
    byte_token_[b] = id;
  }

  bytes_.resize(vocab_.text.size());
  for (int32_t id = 0; id < vocab_.size(); ++id) {
    const std::string& t = vocab_.text[id];
    switch (vocab_.type[id]) {
      case TokenType::kNormal: {
        std::string s;
        for (size_t i = 0; i < t.size();) {
          if (t.compare(i, kSpace.size(), kSpace) == 0) {
            s += ' ';
            i += kSpace.size();
          } else {
            s += t[i++];
          }
        }
        bytes_[id] = std::move(s);
        break;
      }
      case TokenType::kByte: {
        const int b = parse_byte_token(t);
        if (b < 0) fail("{}: byte token {} has text '{}', expected <0xXX>", where, id, t);
        bytes_[id] = std::string(1, static_cast<char>(b));
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

std::string SpmTokenizer::decode(std::span<const int32_t> ids) const {
  std::string out;
  bool first = true;
  for (const int32_t id : ids) {
    check_id(id);
    std::string_view piece = bytes_[id];
    if (piece.empty()) continue;
    // SentencePiece drops the space it added in front of the first piece.
    if (first && add_space_prefix_ && piece.front() == ' ') piece.remove_prefix(1);
    first = false;
    out += piece;
  }
  return out;
}

std::vector<int32_t> SpmTokenizer::encode(std::string_view text, bool add_bos,
                                          bool parse_special) const {
  if (text.size() >= UINT32_MAX / 4) fail("text of {} bytes is too long to tokenize", text.size());
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 2);
  if (add_bos) {
    if (vocab_.bos < 0) fail("cannot add BOS: the tokenizer has no BOS token");
    out.push_back(vocab_.bos);
  }
  bool prev_special = true;
  std::string escaped;
  for (const Fragment& f : split_special(text, vocab_, parse_special)) {
    if (f.token >= 0) {
      out.push_back(f.token);
      prev_special = true;
      continue;
    }
    escaped.clear();
    if (add_space_prefix_ && prev_special) escaped += kSpace;
    for (const char c : f.text) {
      if (c == ' ') escaped += kSpace;
      else escaped += c;
    }
    encode_fragment(escaped, &out);
    prev_special = false;
  }
  return out;
}

void SpmTokenizer::merge_chunk(std::string_view text, std::vector<int32_t>* out) const {
  std::vector<Symbol> sym;
  sym.reserve(text.size());
  for (size_t off = 0; off < text.size();) {
    // A well-formed character, or a single byte of invalid input.
    const size_t n = std::max<size_t>(utf8_valid_len(text, off), 1);
    const int32_t i = static_cast<int32_t>(sym.size());
    sym.push_back({static_cast<uint32_t>(off), static_cast<uint32_t>(n), i - 1,
                   off + n == text.size() ? -1 : i + 1});
    off += n;
  }
  if (sym.empty()) return;

  std::vector<Bigram> heap_storage;
  heap_storage.reserve(sym.size());
  std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder> queue(BigramOrder{},
                                                                       std::move(heap_storage));
  const auto try_add = [&](int32_t l, int32_t r) {
    if (l < 0 || r < 0) return;
    const uint32_t len = sym[l].len + sym[r].len;
    const int32_t id = vocab_.find(text.substr(sym[l].begin, len));
    if (id < 0) return;
    queue.push({vocab_.score[id], l, r, len});
  };
  for (int32_t i = 1; i < static_cast<int32_t>(sym.size()); ++i) try_add(i - 1, i);

  while (!queue.empty()) {
    const Bigram b = queue.top();
    queue.pop();
    Symbol& l = sym[b.left];
    Symbol& r = sym[b.right];
    if (l.len == 0 || r.len == 0 || l.len + r.len != b.len) continue;  // stale
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) sym[r.next].prev = b.left;
    try_add(l.prev, b.left);
    try_add(b.left, l.next);
  }

  for (int32_t i = 0; i >= 0; i = sym[i].next) {
    const std::string_view piece = text.substr(sym[i].begin, sym[i].len);
    const int32_t id = vocab_.find(piece);
    if (id >= 0) {
      out->push_back(id);
      continue;
    }
    // Byte fallback. Merged symbols are always tokens, so `piece` is a single
    // character (or invalid byte); without byte tokens for all of its bytes
    // it is one unknown token, as in SentencePiece.
    bool all_bytes = true;
    for (const char c : piece) all_bytes = all_bytes && byte_token_[static_cast<uint8_t>(c)] >= 0;
    if (all_bytes) {
      for (const char c : piece) out->push_back(byte_token_[static_cast<uint8_t>(c)]);
    } else if (vocab_.unk >= 0) {
      out->push_back(vocab_.unk);
    } else {
      fail("'{}' has no token, no byte tokens and the vocabulary has no unknown token", piece);
    }
  }
}

void SpmTokenizer::encode_fragment(std::string_view text, std::vector<int32_t>* out) const {
  if (!split_before_space_) {
    merge_chunk(text, out);
    return;
  }
  // No token joins a character to a following "▁" (unless that character is
  // "▁" too), so no merge crosses such a point: merging the chunks between
  // them one by one gives the same ids as merging the whole fragment, and
  // repeated chunks (words) are merged once.
  std::unordered_map<std::string_view, std::pair<uint32_t, uint32_t>> cache;
  std::vector<int32_t> chunk_ids;
  const auto emit = [&](std::string_view chunk) {
    auto it = cache.find(chunk);
    if (it == cache.end()) {
      const size_t start = chunk_ids.size();
      merge_chunk(chunk, &chunk_ids);
      it = cache.emplace(chunk, std::make_pair(static_cast<uint32_t>(start),
                                                static_cast<uint32_t>(chunk_ids.size() - start)))
               .first;
    }
    out->insert(out->end(), chunk_ids.begin() + it->second.first,
                chunk_ids.begin() + it->second.first + it->second.second);
  };
  size_t begin = 0;
  for (size_t p = text.find(kSpace, 1); p != std::string_view::npos; p = text.find(kSpace, p + 1)) {
    if (p >= kSpace.size() && text.substr(p - kSpace.size(), kSpace.size()) == kSpace) continue;
    emit(text.substr(begin, p - begin));
    begin = p;
  }
  emit(text.substr(begin));
}

}  // namespace fptq::tok
