// Tokenizers built from hand-made tokenizer.ggml.* metadata: merge order,
// tie-breaking, prefixes, special tokens, unknowns and the errors for bad keys.
// Expected ids are worked out by hand from the rules in spm_tokenizer.h and
// bpe_tokenizer.h.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "io/metadata.h"
#include "tokenizer/special_split.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace fptq::tok {
namespace {

using io::Metadata;
using io::Value;
using io::ValueType;

const std::string kSp = "\xE2\x96\x81";  // ▁

struct TokenSpec {
  std::string text;
  float score;
  TokenType type;
};

Metadata spm_metadata(const std::vector<TokenSpec>& extra, bool byte_tokens = true) {
  std::vector<TokenSpec> all = {{"<unk>", 0, TokenType::kUnknown},
                                {"<s>", 0, TokenType::kControl},
                                {"</s>", 0, TokenType::kControl}};
  if (byte_tokens) {
    for (int b = 0; b < 256; ++b) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "<0x%02X>", b);
      all.push_back({buf, 0, TokenType::kByte});
    }
  }
  all.insert(all.end(), extra.begin(), extra.end());
  std::vector<std::string> texts;
  std::vector<double> scores;
  std::vector<int64_t> types;
  for (const auto& t : all) {
    texts.push_back(t.text);
    scores.push_back(t.score);
    types.push_back(static_cast<int64_t>(t.type));
  }
  Metadata md;
  md.add("tokenizer.ggml.model", Value::make_string("llama"));
  md.add("tokenizer.ggml.tokens", Value::make_string_array(texts));
  md.add("tokenizer.ggml.scores", Value::make_float_array(ValueType::F32, scores));
  md.add("tokenizer.ggml.token_type", Value::make_int_array(ValueType::I32, types));
  return md;
}

// Id of a token text (tests build small vocabularies; linear search is fine).
int32_t id_of(const Tokenizer& t, const std::string& text) {
  for (int32_t i = 0; i < t.n_vocab(); ++i)
    if (t.token_text(i) == text) return i;
  ADD_FAILURE() << "no token " << text;
  return -1;
}

TEST(SpmFromMetadata, HigherScoreMergesFirst) {
  // "ab" outscores "▁a": ▁ a b -> ▁ [ab]; "▁ab" is not a token.
  const auto t = Tokenizer::from_metadata(
      spm_metadata({{kSp, -1, TokenType::kNormal}, {"a", -1, TokenType::kNormal},
                    {"b", -1, TokenType::kNormal}, {kSp + "a", -5, TokenType::kNormal},
                    {"ab", -2, TokenType::kNormal}}),
      "test");
  EXPECT_EQ(t->encode("ab", false),
            (std::vector<int32_t>{id_of(*t, kSp), id_of(*t, "ab")}));
}

TEST(SpmFromMetadata, EqualScoresMergeLeftmostFirst) {
  const auto t = Tokenizer::from_metadata(
      spm_metadata({{kSp, -1, TokenType::kNormal}, {"a", -1, TokenType::kNormal},
                    {"b", -1, TokenType::kNormal}, {kSp + "a", -2, TokenType::kNormal},
                    {"ab", -2, TokenType::kNormal}}),
      "test");
  EXPECT_EQ(t->encode("ab", false),
            (std::vector<int32_t>{id_of(*t, kSp + "a"), id_of(*t, "b")}));
}

TEST(SpmFromMetadata, MergesChainThroughIntermediateTokens) {
  const auto t = Tokenizer::from_metadata(
      spm_metadata({{kSp, -1, TokenType::kNormal}, {"a", -1, TokenType::kNormal},
                    {"b", -1, TokenType::kNormal}, {"ab", -2, TokenType::kNormal},
                    {kSp + "ab", -3, TokenType::kNormal}}),
      "test");
  EXPECT_EQ(t->encode("ab ab", true),
            (std::vector<int32_t>{1, id_of(*t, kSp + "ab"), id_of(*t, kSp + "ab")}));
  EXPECT_EQ(t->decode(t->encode("ab ab", true)), "ab ab");
}

TEST(SpmFromMetadata, TokensSpanningASpaceAreMergedAcrossWords) {
  // "a▁b" joins words, so fragments must not be merged word by word:
  // ▁ a ▁ b -> ▁ [a▁] b -> ▁ [a▁b].
  const auto t = Tokenizer::from_metadata(
      spm_metadata({{kSp, -1, TokenType::kNormal}, {"a", -1, TokenType::kNormal},
                    {"b", -1, TokenType::kNormal}, {"a" + kSp, -1, TokenType::kNormal},
                    {"a" + kSp + "b", -2, TokenType::kNormal}}),
      "test");
  EXPECT_EQ(t->encode("a b", false),
            (std::vector<int32_t>{id_of(*t, kSp), id_of(*t, "a" + kSp + "b")}));
  EXPECT_EQ(t->decode(t->encode("a b a b", false)), "a b a b");
}

TEST(SpmFromMetadata, SpacePrefixAndBosFollowTheKeys) {
  Metadata md = spm_metadata({{kSp, -1, TokenType::kNormal}, {"a", -1, TokenType::kNormal}});
  md.add("tokenizer.ggml.add_space_prefix", Value::make_bool(false));
  md.add("tokenizer.ggml.add_bos_token", Value::make_bool(false));
  const auto t = Tokenizer::from_metadata(md, "test");
  EXPECT_FALSE(t->add_bos_by_default());
  EXPECT_EQ(t->encode("a", false), std::vector<int32_t>{id_of(*t, "a")});
  EXPECT_EQ(t->decode(t->encode(" a", false)), " a");  // no prefix to strip

  const auto d = Tokenizer::from_metadata(spm_metadata({{"a", -1, TokenType::kNormal}}), "test");
  EXPECT_TRUE(d->add_bos_by_default());  // llama default
  EXPECT_EQ(d->bos_id(), 1);
  EXPECT_EQ(d->eos_id(), 2);
}

TEST(SpmFromMetadata, UnknownCharacterWithoutByteTokensIsOneUnk) {
  const auto t = Tokenizer::from_metadata(
      spm_metadata({{kSp, -1, TokenType::kNormal}, {"a", -1, TokenType::kNormal}}, false),
      "test");
  EXPECT_EQ(t->encode("a\xE2\x82\xAC" "a", false),
            (std::vector<int32_t>{id_of(*t, kSp), id_of(*t, "a"), 0, id_of(*t, "a")}));
}

TEST(SpmFromMetadata, SpecialTokensSplitAndGetASpaceAfter) {
  const auto t = Tokenizer::from_metadata(
      spm_metadata({{kSp, -1, TokenType::kNormal}, {"a", -1, TokenType::kNormal},
                    {kSp + "a", -1, TokenType::kNormal}}),
      "test");
  // Parsed: </s> splits the text; the next fragment gets its own "▁".
  EXPECT_EQ(t->encode("a</s>a", false, true),
            (std::vector<int32_t>{id_of(*t, kSp + "a"), 2, id_of(*t, kSp + "a")}));
  // Not parsed: '<', '/', ... are byte tokens.
  const auto plain = t->encode("a</s>a", false, false);
  EXPECT_EQ(plain.size(), 6u);  // ▁a, 4 byte tokens, a
  EXPECT_EQ(t->decode(plain), "a</s>a");
}

Metadata bpe_metadata(std::vector<std::string> tokens, std::vector<std::string> merges,
                      std::string pre = "gpt2") {
  std::vector<int64_t> types(tokens.size(), static_cast<int64_t>(TokenType::kNormal));
  for (size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i].starts_with("<|")) types[i] = static_cast<int64_t>(TokenType::kControl);
  Metadata md;
  md.add("tokenizer.ggml.model", Value::make_string("gpt2"));
  md.add("tokenizer.ggml.pre", Value::make_string(std::move(pre)));
  md.add("tokenizer.ggml.tokens", Value::make_string_array(std::move(tokens)));
  md.add("tokenizer.ggml.token_type", Value::make_int_array(ValueType::I32, types));
  md.add("tokenizer.ggml.merges", Value::make_string_array(std::move(merges)));
  md.add("tokenizer.ggml.eos_token_id", Value::make_int(ValueType::U32, 0));
  return md;
}

const std::string kG = "\xC4\xA0";  // Ġ, the byte-level space

TEST(BpeFromMetadata, LowerRankMergesFirst) {
  // " ab": Ġ a b; "a b" (rank 0) beats "Ġ a" (rank 2) -> Ġ [ab]; no "Ġ ab".
  const auto t = Tokenizer::from_metadata(
      bpe_metadata({"<|end|>", "a", "b", "c", kG, "ab", "abc", kG + "a"},
                   {"a b", "ab c", kG + " a"}),
      "test");
  EXPECT_EQ(t->encode(" ab", false), (std::vector<int32_t>{4, 5}));
  EXPECT_EQ(t->encode("abc", false), (std::vector<int32_t>{6}));
  EXPECT_EQ(t->encode(" ac", false), (std::vector<int32_t>{7, 3}));
  EXPECT_EQ(t->decode(std::vector<int32_t>{4, 5, 6}), " ababc");
  EXPECT_FALSE(t->add_bos_by_default());
  EXPECT_EQ(t->bos_id(), -1);
  EXPECT_THROW(t->encode("a", true), Error);  // no BOS token to add
}

TEST(BpeFromMetadata, RepeatedPairsMergeLeftmostFirst) {
  const auto t = Tokenizer::from_metadata(bpe_metadata({"<|end|>", "a", "aa"}, {"a a"}), "test");
  EXPECT_EQ(t->encode("aaa", false), (std::vector<int32_t>{2, 1}));
  EXPECT_EQ(t->encode("aaaa", false), (std::vector<int32_t>{2, 2}));
}

TEST(BpeFromMetadata, ControlTokensParsedOnlyWhenAsked) {
  const auto t = Tokenizer::from_metadata(
      bpe_metadata({"<|end|>", "a", "<", "|", "e", "n", "d", ">"}, {}), "test");
  EXPECT_EQ(t->encode("a<|end|>", false, true), (std::vector<int32_t>{1, 0}));
  EXPECT_EQ(t->encode("a<|end|>", false, false), (std::vector<int32_t>{1, 2, 3, 4, 5, 6, 3, 7}));
  EXPECT_TRUE(t->is_end_of_generation(0));
  EXPECT_EQ(t->token_bytes(0), "");
}

TEST(BpeFromMetadata, LlamaBpeLooksUpWholeWordsFirst) {
  // "abc" is a token but no merges lead to it: llama-bpe takes it whole.
  const std::vector<std::string> toks = {"<|end|>", "a", "b", "c", "abc"};
  EXPECT_EQ(Tokenizer::from_metadata(bpe_metadata(toks, {}, "llama-bpe"), "t")->encode("abc", false),
            std::vector<int32_t>{4});
  EXPECT_EQ(Tokenizer::from_metadata(bpe_metadata(toks, {}, "gpt2"), "t")->encode("abc", false),
            (std::vector<int32_t>{1, 2, 3}));
}

TEST(SplitSpecial, LongestFirstAndUserDefinedAlways) {
  Metadata md = bpe_metadata({"<|a|>", "<|a|><|a|>", "x"}, {});
  md.set("tokenizer.ggml.token_type",
         Value::make_int_array(ValueType::I32, {3, 4, 1}));  // control, user-defined, normal
  const Vocab v = load_vocab(md, "test", {});
  const auto parsed = split_special("x<|a|><|a|><|a|>x", v, true);
  ASSERT_EQ(parsed.size(), 4u);
  EXPECT_EQ(parsed[0].text, "x");
  EXPECT_EQ(parsed[1].token, 1);
  EXPECT_EQ(parsed[2].token, 0);
  EXPECT_EQ(parsed[3].text, "x");
  const auto plain = split_special("<|a|><|a|><|a|>", v, false);
  ASSERT_EQ(plain.size(), 2u);
  EXPECT_EQ(plain[0].token, 1);
  EXPECT_EQ(plain[1].token, -1);
  EXPECT_EQ(plain[1].text, "<|a|>");
  EXPECT_TRUE(split_special("", v, true).empty());
}

// Expects fptq::Error whose message contains every one of `parts`.
template <typename F>
void expect_error(F&& f, std::initializer_list<std::string_view> parts) {
  try {
    f();
    ADD_FAILURE() << "expected fptq::Error";
  } catch (const Error& e) {
    for (const auto p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what() << " lacks " << p;
  }
}

TEST(TokenizerErrors, BadMetadataIsRejectedWithTheKeyNamed) {
  const auto build = [](Metadata md) { return Tokenizer::from_metadata(md, "m.gguf"); };
  {
    Metadata md;
    md.add("tokenizer.ggml.model", Value::make_string("llama"));
    expect_error([&] { build(md); }, {"m.gguf", "tokenizer.ggml.tokens"});
  }
  {
    Metadata md;
    expect_error([&] { build(md); }, {"m.gguf", "tokenizer.ggml.model"});
  }
  {
    Metadata md = spm_metadata({});
    md.set("tokenizer.ggml.model", Value::make_string("bert"));
    expect_error([&] { build(md); }, {"m.gguf", "bert"});
  }
  {
    Metadata md = spm_metadata({});
    md.set("tokenizer.ggml.scores", Value::make_float_array(ValueType::F32, {0.0, 1.0}));
    expect_error([&] { build(md); }, {"tokenizer.ggml.scores", "2"});
  }
  {
    Metadata md = spm_metadata({});
    md.set("tokenizer.ggml.tokens", Value::make_int_array(ValueType::I32, {1, 2}));
    expect_error([&] { build(md); }, {"tokenizer.ggml.tokens", "array of"});
  }
  {
    Metadata md = spm_metadata({});
    std::vector<int64_t> types(259, 1);
    types[5] = 9;
    md.set("tokenizer.ggml.token_type", Value::make_int_array(ValueType::I32, types));
    expect_error([&] { build(md); }, {"tokenizer.ggml.token_type", "9"});
  }
  {
    Metadata md = spm_metadata({});
    md.add("tokenizer.ggml.bos_token_id", Value::make_int(ValueType::U32, 5000));
    expect_error([&] { build(md); }, {"tokenizer.ggml.bos_token_id", "5000"});
  }
  {
    Metadata md = spm_metadata({});
    md.add("tokenizer.ggml.bos_token_id", Value::make_int(ValueType::U32, 0xFFFFFFFFll));
    expect_error([&] { build(md); }, {"add_bos_token", "no BOS"});  // default add_bos, no BOS
  }
  {
    Metadata md = spm_metadata({});
    md.set("tokenizer.ggml.token_type", Value::make_int_array(ValueType::I32,
                                                              std::vector<int64_t>(259, 6)));
    expect_error([&] { build(md); }, {"<unk>", "<0xXX>"});  // byte token with a non-byte text
  }
  expect_error([&] { build(bpe_metadata({"a", "b"}, {"ab"})); }, {"tokenizer.ggml.merges[0]", "ab"});
  expect_error([&] { build(bpe_metadata({"a"}, {}, "nonesuch")); }, {"m.gguf", "nonesuch"});
  {
    Metadata md = bpe_metadata({"a"}, {});
    Metadata no_merges;
    for (const auto& [k, v] : md.items())
      if (k != "tokenizer.ggml.merges") no_merges.add(k, v);
    expect_error([&] { build(no_merges); }, {"tokenizer.ggml.merges"});
  }
  const auto t = build(spm_metadata({}));
  expect_error([&] { t->decode(std::vector<int32_t>{0, 259}); }, {"259"});
  expect_error([&] { t->token_text(-3); }, {"-3"});
}

}  // namespace
}  // namespace fptq::tok
