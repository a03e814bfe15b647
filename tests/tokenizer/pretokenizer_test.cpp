// Pre-tokenizer splits against Hugging Face tokenizers' pre-tokenizers
// (tests/tokenizer/golden/pretokenizer-splits.json).
#include "tokenizer/pretokenizer.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "golden_cases.h"

namespace fptq::tok {
namespace {

using namespace fptq::tok::testing;

std::vector<std::string> split(const PreTokenizer& p, std::string_view text) {
  std::vector<std::string> out;
  for (const auto piece : p.split(text)) out.emplace_back(piece);
  return out;
}

TEST(PreTokenizer, MatchesHuggingFaceOnGoldenStrings) {
  const auto j = nlohmann::json::parse(read_file(golden_path("pretokenizer-splits.json")));
  int variants = 0;
  for (const auto& [variant, cases] : j.at("variants").items()) {
    ++variants;
    const PreTokenizer p(variant, "test");
    EXPECT_EQ(p.variant(), variant);
    ASSERT_GE(cases.size(), 30u);
    for (const auto& c : cases) {
      const std::string text = c.at("text").get<std::string>();
      const auto want = c.at("pieces").get<std::vector<std::string>>();
      EXPECT_EQ(split(p, text), want) << variant << " / " << c.at("name").get<std::string>();
    }
  }
  EXPECT_EQ(variants, 4);
}

TEST(PreTokenizer, LookaheadKeepsLastSpaceWithNextWord) {
  const PreTokenizer gpt2("gpt2", "test");
  EXPECT_EQ(split(gpt2, "a   b  "), (std::vector<std::string>{"a", "  ", " b", "  "}));
  EXPECT_EQ(split(gpt2, "x\t\ty"), (std::vector<std::string>{"x", "\t", "\t", "y"}));
  const PreTokenizer llama3("llama-bpe", "test");
  EXPECT_EQ(split(llama3, "a   b"), (std::vector<std::string>{"a", "  ", " b"}));
  EXPECT_EQ(split(llama3, "1234567"), (std::vector<std::string>{"123", "456", "7"}));
  EXPECT_EQ(split(llama3, "x.\n\ny"), (std::vector<std::string>{"x", ".\n\n", "y"}));
}

TEST(PreTokenizer, PiecesConcatenateToInput) {
  for (const char* v : {"gpt2", "smollm", "llama-bpe", "qwen2", "default"}) {
    const PreTokenizer p(v, "test");
    const std::string text = "It's 2024!  Été\t\tà Paris —  日本 😀\n\n end ";
    std::string joined;
    for (const auto piece : p.split(text)) {
      EXPECT_FALSE(piece.empty()) << v;
      joined += piece;
    }
    EXPECT_EQ(joined, text) << v;
    EXPECT_TRUE(p.split("").empty());
  }
}

TEST(PreTokenizer, AliasesAndUnknownVariants) {
  EXPECT_EQ(PreTokenizer("llama3", "m").variant(), "llama-bpe");
  EXPECT_EQ(PreTokenizer("gpt-2", "m").variant(), "gpt2");
  EXPECT_EQ(PreTokenizer("starcoder", "m").variant(), "smollm");
  EXPECT_EQ(PreTokenizer("stablelm2", "m").variant(), "qwen2");
  EXPECT_TRUE(PreTokenizer("llama-bpe", "m").ignore_merges());
  EXPECT_FALSE(PreTokenizer("smollm", "m").ignore_merges());
  try {
    PreTokenizer("no-such-pre", "model.gguf");
    FAIL() << "expected fptq::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.gguf"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("no-such-pre"), std::string::npos);
  }
}

}  // namespace
}  // namespace fptq::tok
