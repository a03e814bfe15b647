// The pre-tokenizer of byte-level BPE: splits text into words with a list of
// regular expressions chosen by tokenizer.ggml.pre. Each expression is run
// over every piece left by the previous one (the piece is the whole subject,
// so look-arounds do not see past it); both the matches and the text between
// matches become pieces. Regexes run under PCRE2 with UTF and UCP, so \s,
// \p{L}, \p{N} follow Unicode properties.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fptq::tok {

class PreTokenizer {
 public:
  // Variants: "gpt2" (also "gpt-2", "mpt", "olmo", "jais", "phi-2",
  // "roberta-bpe"), "smollm" (also "starcoder", "refact", "command-r",
  // "codeshell", "exaone", "minerva-7b"), "llama-bpe" (also "llama3",
  // "llama-v3", "falcon3", "dbrx", "smaug-bpe"), "qwen2" (also "stablelm2",
  // "deepseek-r1-qwen"), and "default" (also ""). Throws fptq::Error naming
  // `where` for any other variant.
  PreTokenizer(std::string_view variant, std::string_view where);
  ~PreTokenizer();
  PreTokenizer(const PreTokenizer&) = delete;
  PreTokenizer& operator=(const PreTokenizer&) = delete;

  // Pieces of `text`, which must be well-formed UTF-8 (it is not checked):
  // views into `text`, non-empty, concatenating to `text`. Thread-safe.
  // Throws fptq::Error if PCRE2 gives up (a resource limit).
  std::vector<std::string_view> split(std::string_view text) const;

  // The canonical variant name ("gpt2", "smollm", "llama-bpe", "qwen2", "default").
  const std::string& variant() const { return variant_; }
  // The regexes, in the order they are applied.
  const std::vector<std::string>& patterns() const { return patterns_; }
  // True for variants whose words are looked up whole before merging
  // (llama-bpe: a word that is a token is not split).
  bool ignore_merges() const { return ignore_merges_; }

 private:
  struct Regex;
  std::string variant_;
  std::vector<std::string> patterns_;
  std::vector<std::unique_ptr<Regex>> regexes_;
  bool ignore_merges_ = false;
};

}  // namespace fptq::tok
