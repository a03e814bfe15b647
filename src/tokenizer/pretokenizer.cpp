#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/pretokenizer.h"

#include <pcre2.h>

#include <array>

#include "core/error.h"

namespace fptq::tok {
namespace {

// GPT-2: contractions, optional space + letters / digits / other symbols,
// whitespace not followed by a non-space.
constexpr std::string_view kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";
// LLaMA-3: case-insensitive contractions (ASCII case only), one optional
// non-letter/non-digit before letters, numbers in groups of up to 3, newlines
// kept with the punctuation before them.
constexpr std::string_view kLlama3 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Qwen2: as LLaMA-3 but every digit on its own.
constexpr std::string_view kQwen2 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

struct VariantSpec {
  std::string_view canonical;
  std::vector<std::string_view> names;
  std::vector<std::string_view> patterns;
  bool ignore_merges;
};

const std::vector<VariantSpec>& variants() {
  static const std::vector<VariantSpec> v = {
      {"gpt2", {"gpt2", "gpt-2", "mpt", "olmo", "jais", "phi-2", "roberta-bpe"}, {kGpt2}, false},
      {"smollm",
       {"smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b"},
       {R"(\p{N})", kGpt2},
       false},
      {"llama-bpe",
       {"llama-bpe", "llama3", "llama-v3", "falcon3", "dbrx", "smaug-bpe"},
       {kLlama3},
       true},
      {"qwen2", {"qwen2", "stablelm2", "deepseek-r1-qwen"}, {kQwen2}, false},
      {"default",
       {"default", ""},
       {R"([\p{P}\$\+<=>\^~\|]+)", kGpt2, R"(\p{N}+)", R"([0-9][0-9][0-9])"},
       false},
  };
  return v;
}

}  // namespace

struct PreTokenizer::Regex {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Regex() {
    if (code) pcre2_code_free(code);
  }
};

PreTokenizer::PreTokenizer(std::string_view variant, std::string_view where) {
  const VariantSpec* spec = nullptr;
  for (const auto& v : variants())
    for (const auto name : v.names)
      if (name == variant) spec = &v;
  if (!spec) fail("{}: unsupported tokenizer.ggml.pre '{}'", where, variant);
  variant_ = spec->canonical;
  ignore_merges_ = spec->ignore_merges;
  for (const auto pattern : spec->patterns) {
    auto re = std::make_unique<Regex>();
    int err = 0;
    PCRE2_SIZE err_off = 0;
    re->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                             PCRE2_UTF | PCRE2_UCP, &err, &err_off, nullptr);
    if (!re->code) {
      std::array<PCRE2_UCHAR, 256> msg{};
      pcre2_get_error_message(err, msg.data(), msg.size());
      FPTQ_CHECK_MSG(false, "pre-tokenizer regex '{}' does not compile at {}: {}", pattern,
                     err_off, reinterpret_cast<const char*>(msg.data()));
    }
    re->jit = pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE) == 0;
    patterns_.emplace_back(pattern);
    regexes_.push_back(std::move(re));
  }
}

PreTokenizer::~PreTokenizer() = default;

std::vector<std::string_view> PreTokenizer::split(std::string_view text) const {
  std::vector<std::string_view> pieces;
  if (text.empty()) return pieces;
  pieces.push_back(text);
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> md(
      pcre2_match_data_create(1, nullptr), &pcre2_match_data_free);
  FPTQ_CHECK(md != nullptr);
  std::vector<std::string_view> next;
  for (const auto& re : regexes_) {
    next.clear();
    next.reserve(pieces.size() * 2);
    for (const std::string_view piece : pieces) {
      const auto subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
      size_t pos = 0, emitted = 0;
      while (pos < piece.size()) {
        const int rc = re->jit ? pcre2_jit_match(re->code, subject, piece.size(), pos, 0,
                                                 md.get(), nullptr)
                               : pcre2_match(re->code, subject, piece.size(), pos,
                                             PCRE2_NO_UTF_CHECK, md.get(), nullptr);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc <= 0) {  // e.g. a resource limit on pathological input
          std::array<PCRE2_UCHAR, 256> msg{};
          pcre2_get_error_message(rc, msg.data(), msg.size());
          fail("pre-tokenizer '{}': regex match failed at byte {} of a {}-byte piece: {}",
               variant_, pos, piece.size(), reinterpret_cast<const char*>(msg.data()));
        }
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
        const size_t b = ov[0], e = ov[1];
        if (e == b) {  // an empty match: step one code point (none of ours can match empty)
          pos = b + 1;
          while (pos < piece.size() && (static_cast<uint8_t>(piece[pos]) & 0xC0) == 0x80) ++pos;
          continue;
        }
        if (b > emitted) next.push_back(piece.substr(emitted, b - emitted));
        next.push_back(piece.substr(b, e - b));
        emitted = pos = e;
      }
      if (emitted < piece.size()) next.push_back(piece.substr(emitted));
    }
    pieces.swap(next);
  }
  return pieces;
}

}  // namespace fptq::tok
