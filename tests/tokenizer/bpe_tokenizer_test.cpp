// Byte-level BPE on the real SmolLM2-135M GGUF, against llama.cpp's ids
// (tests/tokenizer/golden/smollm2-ids.json). Skipped when the model has not
// been fetched (scripts/fetch_model.sh).
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "golden_cases.h"
#include "testing/testing.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/utf8.h"

namespace fptq::tok {
namespace {

using namespace fptq::tok::testing;

// Seeded random strings mixing ASCII words, whitespace, digits, multi-byte
// characters and arbitrary bytes (invalid UTF-8 included).
std::vector<std::string> random_strings(uint32_t seed, int count) {
  static const std::vector<std::string> parts = {
      "a", "the", " ", "  ", "\n", "\t", "\r\n", "7", "2024", ".", "!?", "'s", "\xC3\xA9",
      "\xE4\xB8\xAD", "\xF0\x9F\x98\x80", "\xE2\x96\x81", "\xC4\xA0", "<", "|>", "\x00"};
  std::mt19937 rng(seed);
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) {
    std::string s;
    const int n = static_cast<int>(rng() % 24);
    for (int k = 0; k < n; ++k) {
      if (rng() % 5 == 0) s += static_cast<char>(rng() & 0xFF);
      else s += parts[rng() % parts.size()];
    }
    out.push_back(std::move(s));
  }
  return out;
}

class SmolLM2 : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto path = fptq::testing::smollm2_path();
    if (!path.empty()) tok_ = load_tokenizer(path).release();
  }
  static void TearDownTestSuite() {
    delete tok_;
    tok_ = nullptr;
  }
  void SetUp() override {
    if (!tok_) GTEST_SKIP() << "SmolLM2 GGUF not fetched (scripts/fetch_model.sh)";
  }
  static Tokenizer* tok_;
};
Tokenizer* SmolLM2::tok_ = nullptr;

TEST_F(SmolLM2, Properties) {
  EXPECT_EQ(tok_->n_vocab(), 49152);
  EXPECT_EQ(tok_->bos_id(), 1);
  EXPECT_EQ(tok_->eos_id(), 2);
  EXPECT_FALSE(tok_->add_bos_by_default());
  EXPECT_EQ(tok_->kind(), "gpt2 (byte-level BPE, smollm)");
  EXPECT_EQ(tok_->token_text(0), "<|endoftext|>");
  EXPECT_EQ(tok_->token_text(1), "<|im_start|>");
  EXPECT_EQ(tok_->token_text(2), "<|im_end|>");
  EXPECT_TRUE(tok_->is_end_of_generation(2));  // <|im_end|> (EOS)
  EXPECT_TRUE(tok_->is_end_of_generation(0));  // <|endoftext|>
  EXPECT_FALSE(tok_->is_end_of_generation(1));
  EXPECT_FALSE(tok_->is_end_of_generation(216));
  EXPECT_EQ(tok_->token_text(216), "\xC4\xA0");  // 'Ġ'
  EXPECT_EQ(tok_->token_bytes(216), " ");
  EXPECT_EQ(tok_->token_bytes(2), "");           // control tokens have no text
  EXPECT_THROW(tok_->token_bytes(49152), Error);
}

TEST_F(SmolLM2, MatchesLlamaCppOnGoldenStrings) {
  const GoldenFile g = load_golden("smollm2-ids.json");
  ASSERT_GE(g.cases.size(), 30u);
  for (const GoldenCase& c : g.cases) {
    SCOPED_TRACE(c.name);
    // llama.cpp encodes U+FFFD for each invalid byte; fptq keeps the byte
    // (README), so the reference for invalid input is the repaired text.
    const std::string input = c.valid_utf8 ? c.bytes : utf8_repair(c.bytes).text;
    const auto ids = tok_->encode(input, false, false);
    EXPECT_EQ(ids, c.ids) << first_difference(c.ids, ids);
    const auto ids_sp = tok_->encode(input, false, true);
    EXPECT_EQ(ids_sp, c.ids_parse_special) << first_difference(c.ids_parse_special, ids_sp);
    auto with_bos = c.ids;
    with_bos.insert(with_bos.begin(), 1);
    EXPECT_EQ(tok_->encode(input, true), with_bos);
  }
}

// The 21 bytes whose byte-level characters SmolLM2's vocabulary lacks
// (listed with the Python gguf package from tokenizer.ggml.tokens).
const std::set<uint8_t>& missing_bytes() {
  static const std::set<uint8_t> m = {0x04, 0x06, 0x13, 0x14, 0x16, 0x1d, 0xc0, 0xc1, 0xf1, 0xf2,
                                      0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe,
                                      0xff};
  return m;
}

// What decode(encode(s)) gives (bpe_tokenizer.h): s itself, except that an
// invalid byte without a token comes back as U+FFFD and a valid character
// without a token is dropped.
std::string expected_round_trip(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_valid_len(s, i);
    const auto b = static_cast<uint8_t>(s[i]);
    if (n == 0) out += missing_bytes().count(b) ? std::string("\xEF\xBF\xBD") : std::string(1, s[i]);
    else if (!(n == 1 && missing_bytes().count(b))) out.append(s.substr(i, n));
    i += n ? n : 1;
  }
  return out;
}

TEST_F(SmolLM2, RoundTripsEveryGoldenString) {
  int exact = 0;
  for (const GoldenCase& c : load_golden("smollm2-ids.json").cases) {
    SCOPED_TRACE(c.name);
    const auto ids = tok_->encode(c.bytes, false);
    const std::string want = expected_round_trip(c.bytes);
    EXPECT_EQ(tok_->decode(ids), want);
    exact += want == c.bytes;
  }
  EXPECT_GE(exact, 38);  // all but the control-byte and 0xFF cases
}

TEST_F(SmolLM2, InvalidBytesAreMappedAsBytesWhenTheVocabularyAllows) {
  // 0x80 (a stray continuation byte) is byte-level character U+0122, a token.
  const auto ids = tok_->encode("\x80", false);
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(tok_->token_text(ids[0]), "\xC4\xA2");
  EXPECT_EQ(tok_->decode(ids), "\x80");
  // 0xFF has no token: it is encoded as U+FFFD, as llama.cpp does.
  EXPECT_EQ(tok_->encode("\xFF", false), tok_->encode("\xEF\xBF\xBD", false));
  // Overlong, surrogate and out-of-range forms are invalid bytes too.
  for (const std::string s : {"\xC0\xAF", "\xED\xA0\x80", "a\xF4\x90\x80\x80z", "x\xE2\x82", "\x80\x80"}) {
    EXPECT_EQ(tok_->decode(tok_->encode(s, false)), expected_round_trip(s))
        << ::testing::PrintToString(s);
  }
  // A valid control byte without a token is dropped (llama.cpp does the same).
  EXPECT_EQ(tok_->decode(tok_->encode("a\x04" "b", false)), "ab");
}

TEST_F(SmolLM2, RandomBytesRoundTripAsDocumented) {
  for (const std::string& s : random_strings(4321, 2000)) {
    const auto ids = tok_->encode(s, false);
    ASSERT_EQ(tok_->decode(ids), expected_round_trip(s)) << ::testing::PrintToString(s);
    for (const int32_t id : ids) ASSERT_TRUE(id >= 3 && id < tok_->n_vocab()) << id;  // no control ids
  }
}

TEST_F(SmolLM2, SpecialTokensOnlyWhenParsed) {
  const std::string chat = "<|im_start|>user\nHi<|im_end|>\n";
  const auto plain = tok_->encode(chat, false, false);
  const auto special = tok_->encode(chat, false, true);
  EXPECT_EQ(special.front(), 1);
  EXPECT_NE(std::find(special.begin(), special.end(), 2), special.end());
  EXPECT_EQ(std::find(plain.begin(), plain.end(), 2), plain.end());
  EXPECT_EQ(tok_->decode(plain), chat);
  EXPECT_EQ(tok_->decode(special), "user\nHi\n");  // control tokens decode to nothing
}

TEST_F(SmolLM2, MatchesLlamaCppOnWikiTextFastAndRoundTrips) {
  FPTQ_REQUIRE_FILE(fptq::testing::shared_data("text/wikitext-2-raw-test.txt"));
  const std::string text = wikitext_without_final_newline();
  std::vector<int32_t> got;
  const double t = seconds([&] { got = tok_->encode(text, false); });
  std::printf("SmolLM2: %zu bytes -> %zu tokens in %.3f s (%.1f MB/s)\n", text.size(), got.size(),
              t, text.size() / t / 1e6);
  RecordProperty("encode_seconds", std::to_string(t));
  const auto g = load_golden("smollm2-ids.json").wikitext;
  ASSERT_EQ(got.size(), g.at("n_tokens").get<size_t>());
  const auto head = g.at("head").get<std::vector<int32_t>>();
  const auto tail = g.at("tail").get<std::vector<int32_t>>();
  EXPECT_TRUE(std::equal(head.begin(), head.end(), got.begin()));
  EXPECT_TRUE(std::equal(tail.begin(), tail.end(), got.end() - tail.size()));
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a64_ids(got)));
  EXPECT_EQ(hex, g.at("fnv1a64").get<std::string>());
  // Generous bound: well under a second in Release; sanitizer builds are slower.
  EXPECT_LT(t, 20.0);
  EXPECT_TRUE(tok_->decode(got) == text) << "WikiText round trip differs";
}

}  // namespace
}  // namespace fptq::tok
