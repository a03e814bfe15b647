// tokenizer.json -> tokenizer.ggml.* keys: byte-level BPE (gpt2 + pre-tokenizer
// detection), SentencePiece-style BPE (llama), and rejection of bad input.
#include "io/hf_tokenizer.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace fptq::io {
namespace {
using nlohmann::json;

const std::string kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const std::string kQwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

json byte_level(bool use_regex) {
  return {{"type", "ByteLevel"},
          {"add_prefix_space", false},
          {"trim_offsets", true},
          {"use_regex", use_regex}};
}
json split(const std::string& re) {
  return {
      {"type", "Split"}, {"pattern", {{"Regex", re}}}, {"behavior", "Isolated"}, {"invert", false}};
}
json sequence(std::vector<json> steps) { return {{"type", "Sequence"}, {"pretokenizers", steps}}; }

// A small byte-level BPE vocabulary: 7 tokens, 3 merges, 2 added tokens.
json gpt2_tokenizer() {
  json t;
  t["model"] = {
      {"type", "BPE"},
      {"vocab", {{"a", 0}, {"b", 1}, {"c", 2}, {"Ġ", 3}, {"ab", 4}, {"abc", 5}, {"Ġa", 6}}},
      {"merges", {"a b", "ab c", "Ġ a"}}};
  t["added_tokens"] = {{{"id", 7}, {"content", "<|endoftext|>"}, {"special", true}},
                       {{"id", 8}, {"content", "<think>"}, {"special", false}}};
  t["pre_tokenizer"] = byte_level(true);
  return t;
}

Metadata convert(const json& tok, const json* tcfg = nullptr, std::optional<int64_t> n_vocab = {},
                 std::optional<int64_t> bos = {}, std::optional<int64_t> eos = {}) {
  HfTokenizerInputs in;
  in.tokenizer = &tok;
  in.tokenizer_config = tcfg;
  in.n_vocab = n_vocab;
  in.bos_token_id = bos;
  in.eos_token_id = eos;
  Metadata md;
  add_hf_tokenizer_metadata(in, "dir/tokenizer.json", md);
  return md;
}

void expect_error(const json& tok, std::initializer_list<std::string> parts,
                  std::optional<int64_t> n_vocab = {}, const json* tcfg = nullptr) {
  try {
    convert(tok, tcfg, n_vocab);
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("dir/tokenizer.json"), std::string::npos) << msg;
    for (const std::string& p : parts)
      EXPECT_NE(msg.find(p), std::string::npos) << p << " in: " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

TEST(HfTokenizer, ByteLevelBpe) {
  const json tcfg = {{"bos_token", nullptr},
                     {"eos_token", {{"content", "<|endoftext|>"}}},
                     {"add_bos_token", false},
                     {"chat_template", "{{ messages }}"}};
  const Metadata md = convert(gpt2_tokenizer(), &tcfg, /*n_vocab=*/12, /*bos=*/7);
  EXPECT_EQ(md.get_string("tokenizer.ggml.model", "t"), "gpt2");
  EXPECT_EQ(md.get_string("tokenizer.ggml.pre", "t"), "gpt2");
  EXPECT_EQ(md.find("tokenizer.ggml.tokens")->strings,
            (std::vector<std::string>{"a", "b", "c", "Ġ", "ab", "abc", "Ġa", "<|endoftext|>",
                                      "<think>", "[PAD9]", "[PAD10]", "[PAD11]"}));
  EXPECT_EQ(md.find("tokenizer.ggml.token_type")->ints,
            (std::vector<int64_t>{1, 1, 1, 1, 1, 1, 1, 3, 4, 5, 5, 5}));
  EXPECT_EQ(md.find("tokenizer.ggml.token_type")->scalar_type(), ValueType::I32);
  EXPECT_EQ(md.find("tokenizer.ggml.merges")->strings,
            (std::vector<std::string>{"a b", "ab c", "Ġ a"}));
  EXPECT_FALSE(md.contains("tokenizer.ggml.scores"));
  EXPECT_EQ(md.get_int("tokenizer.ggml.eos_token_id", "t"), 7);
  EXPECT_EQ(md.get_int("tokenizer.ggml.bos_token_id", "t"), 7);  // from config.json
  EXPECT_FALSE(md.get_bool("tokenizer.ggml.add_bos_token", true, "t"));
  EXPECT_EQ(md.get_string("tokenizer.chat_template", "t"), "{{ messages }}");
}

TEST(HfTokenizer, MergesAsLists) {
  json tok = gpt2_tokenizer();
  tok["model"]["merges"] =
      json::array({json::array({"a", "b"}), json::array({"ab", "c"}), json::array({"Ġ", "a"})});
  EXPECT_EQ(convert(tok).find("tokenizer.ggml.merges")->strings,
            (std::vector<std::string>{"a b", "ab c", "Ġ a"}));
}

TEST(HfTokenizer, RecognisesPreTokenizers) {
  json tok = gpt2_tokenizer();
  EXPECT_EQ(hf_pre_tokenizer_name(tok, "t"), "gpt2");
  tok["pre_tokenizer"] =
      sequence({{{"type", "Digits"}, {"individual_digits", true}}, byte_level(true)});
  EXPECT_EQ(hf_pre_tokenizer_name(tok, "t"), "smollm");
  EXPECT_EQ(convert(tok).get_string("tokenizer.ggml.pre", "t"), "smollm");
  tok["pre_tokenizer"] = sequence({split(kLlama3), byte_level(false)});
  EXPECT_EQ(hf_pre_tokenizer_name(tok, "t"), "llama-bpe");
  tok["pre_tokenizer"] = sequence({split(kQwen2), byte_level(false)});
  EXPECT_EQ(hf_pre_tokenizer_name(tok, "t"), "qwen2");
}

TEST(HfTokenizer, RejectsUnknownPreTokenizer) {
  json tok = gpt2_tokenizer();
  tok["pre_tokenizer"] = sequence({split(R"(\p{L}+|\s+)"), byte_level(false)});
  expect_error(tok, {"pre_tokenizer not recognised"});
  tok["pre_tokenizer"] = sequence({split(kLlama3), byte_level(true)});  // regex applied twice
  expect_error(tok, {"pre_tokenizer not recognised"});
  tok["pre_tokenizer"] =
      sequence({{{"type", "Digits"}, {"individual_digits", false}}, byte_level(true)});
  expect_error(tok, {"pre_tokenizer not recognised"});
}

TEST(HfTokenizer, RejectsBadMerges) {
  json tok = gpt2_tokenizer();
  tok["model"]["merges"] = {"a b", "ab x"};
  expect_error(tok, {"merge 1", "'x'", "not in the vocabulary"});
  tok["model"]["merges"] = {"a b", "b c"};  // "bc" not in the vocabulary
  expect_error(tok, {"merge 1", "merged token", "'bc'"});
  tok["model"]["merges"] = {"ab"};
  expect_error(tok, {"merge 0", "'ab'"});
  tok["model"]["merges"] = {"a b c"};
  expect_error(tok, {"merge 0"});
  tok["model"]["merges"] = json::array({json::array({"a b", "c"})});
  expect_error(tok, {"merge 0", "cannot be written"});
  tok["model"]["merges"] = {42};
  expect_error(tok, {"merge 0"});
}

TEST(HfTokenizer, RejectsInconsistentIds) {
  json tok = gpt2_tokenizer();
  expect_error(tok, {"token id 8 beyond the model's vocab_size 5"}, 5);
  tok["added_tokens"][0]["id"] = 2;  // "<|endoftext|>" on top of "c"
  expect_error(tok, {"id 2", "'c'", "'<|endoftext|>'"});
  tok = gpt2_tokenizer();
  tok["model"]["vocab"]["d"] = -1;
  expect_error(tok, {"'d'", "invalid id -1"});
  tok = gpt2_tokenizer();
  tok["model"]["vocab"] = json::array();
  expect_error(tok, {"model.vocab"});
}

TEST(HfTokenizer, RejectsSpecialTokenNotInVocab) {
  const json tcfg = {{"bos_token", "<s>"}};
  expect_error(gpt2_tokenizer(), {"bos_token", "'<s>'", "not in the vocabulary"}, {}, &tcfg);
}

TEST(HfTokenizer, RejectsUnsupportedModels) {
  json tok = gpt2_tokenizer();
  tok["model"]["type"] = "Unigram";
  expect_error(tok, {"model type 'Unigram'", "not supported"});
  tok = gpt2_tokenizer();
  tok["pre_tokenizer"] = {{"type", "Whitespace"}};
  expect_error(tok, {"neither byte_fallback nor a ByteLevel"});
  expect_error(json::array(), {"JSON object"});
  tok = gpt2_tokenizer();
  tok["added_tokens"] = {{{"id", "seven"}, {"content", "x"}}};
  expect_error(tok, {"'x'", "invalid id"});
}

// SentencePiece-style BPE with byte fallback (Llama 2, Mistral, TinyLlama).
json spm_tokenizer() {
  json t;
  json vocab = {{"<unk>", 0}, {"<s>", 1},   {"</s>", 2}, {"<0x0A>", 3}, {"<0xFF>", 4},
                {"▁", 5},     {"t", 6},     {"h", 7},    {"e", 8},      {"▁t", 9},
                {"he", 10},   {"▁the", 11}, {"x", 12}};
  t["model"] = {{"type", "BPE"},
                {"byte_fallback", true},
                {"unk_token", "<unk>"},
                {"vocab", vocab},
                {"merges", {"▁ t", "h e", "▁t he"}}};
  t["added_tokens"] = {{{"id", 0}, {"content", "<unk>"}, {"special", true}},
                       {{"id", 1}, {"content", "<s>"}, {"special", true}},
                       {{"id", 2}, {"content", "</s>"}, {"special", true}}};
  t["normalizer"] = {{"type", "Sequence"},
                     {"normalizers",
                      {{{"type", "Prepend"}, {"prepend", "▁"}},
                       {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "▁"}}}}};
  t["pre_tokenizer"] = nullptr;
  return t;
}

TEST(HfTokenizer, SentencePieceStyleBpe) {
  const json tok = spm_tokenizer();
  const json tcfg = {{"bos_token", "<s>"}, {"eos_token", "</s>"}, {"add_bos_token", true}};
  const Metadata md = convert(tok, &tcfg, 13);
  EXPECT_EQ(md.get_string("tokenizer.ggml.model", "t"), "llama");
  EXPECT_FALSE(md.contains("tokenizer.ggml.pre"));
  EXPECT_FALSE(md.contains("tokenizer.ggml.merges"));
  EXPECT_EQ(md.find("tokenizer.ggml.token_type")->ints,
            (std::vector<int64_t>{2, 3, 3, 6, 6, 1, 1, 1, 1, 1, 1, 1, 1}));
  // Merge results score -rank; other normal tokens below every merge, by id.
  EXPECT_EQ(md.find("tokenizer.ggml.scores")->floats,
            (std::vector<double>{0, 0, 0, 0, 0, -8, -9, -10, -11, 0, -1, -2, -15}));
  EXPECT_EQ(md.find("tokenizer.ggml.scores")->scalar_type(), ValueType::F32);
  EXPECT_EQ(md.get_int("tokenizer.ggml.bos_token_id", "t"), 1);
  EXPECT_EQ(md.get_int("tokenizer.ggml.eos_token_id", "t"), 2);
  EXPECT_EQ(md.get_int("tokenizer.ggml.unknown_token_id", "t"), 0);
  EXPECT_TRUE(md.get_bool("tokenizer.ggml.add_bos_token", false, "t"));
  EXPECT_TRUE(md.get_bool("tokenizer.ggml.add_space_prefix", false, "t"));
}

TEST(HfTokenizer, SentencePieceFirstMergeRankWins) {
  // "▁the" is produced by merges 2 and 4: its score is -2.
  json tok = spm_tokenizer();
  tok["model"]["vocab"]["▁th"] = 13;
  tok["model"]["merges"].push_back("▁t h");
  tok["model"]["merges"].push_back("▁th e");
  const Metadata md = convert(tok);
  EXPECT_EQ(md.find("tokenizer.ggml.scores")->floats[13], -3.0);
  EXPECT_EQ(md.find("tokenizer.ggml.scores")->floats[11], -2.0);
}

TEST(HfTokenizer, SpacePrefixFollowsMetaspace) {
  json tok = spm_tokenizer();
  tok["normalizer"] = nullptr;
  EXPECT_FALSE(convert(tok).get_bool("tokenizer.ggml.add_space_prefix", true, "t"));
  tok["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "▁"}, {"prepend_scheme", "first"}};
  EXPECT_TRUE(convert(tok).get_bool("tokenizer.ggml.add_space_prefix", false, "t"));
  tok["pre_tokenizer"]["prepend_scheme"] = "never";
  EXPECT_FALSE(convert(tok).get_bool("tokenizer.ggml.add_space_prefix", true, "t"));
}

}  // namespace
}  // namespace fptq::io
