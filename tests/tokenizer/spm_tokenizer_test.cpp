// SentencePiece-style BPE on the real stories260K GGUF, against llama.cpp's
// ids (tests/tokenizer/golden/stories260K-ids.json and the shared goldens).
#include <gtest/gtest.h>

#include <random>

#include "golden_cases.h"
#include "testing/testing.h"
#include "tokenizer/spm_tokenizer.h"
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

class Stories260K : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto path = fptq::testing::shared_data("models/stories260K.gguf");
    if (std::filesystem::exists(path)) tok_ = load_tokenizer(path).release();
  }
  static void TearDownTestSuite() {
    delete tok_;
    tok_ = nullptr;
  }
  void SetUp() override { FPTQ_REQUIRE_FILE(fptq::testing::shared_data("models/stories260K.gguf")); }
  static Tokenizer* tok_;
};
Tokenizer* Stories260K::tok_ = nullptr;

TEST_F(Stories260K, Properties) {
  EXPECT_EQ(tok_->n_vocab(), 512);
  EXPECT_EQ(tok_->bos_id(), 1);
  EXPECT_EQ(tok_->eos_id(), 2);
  EXPECT_TRUE(tok_->add_bos_by_default());  // key absent: llama default
  EXPECT_EQ(tok_->kind(), "llama (SentencePiece BPE)");
  EXPECT_TRUE(tok_->is_end_of_generation(2));
  EXPECT_FALSE(tok_->is_end_of_generation(1));
  EXPECT_FALSE(tok_->is_end_of_generation(261));
  EXPECT_EQ(tok_->token_text(261), "\xE2\x96\x81" "a");
  EXPECT_EQ(tok_->token_bytes(261), " a");
  EXPECT_EQ(tok_->token_bytes(13), "\n");        // <0x0A>
  EXPECT_EQ(tok_->token_bytes(258), "\xFF");     // <0xFF>
  EXPECT_EQ(tok_->token_bytes(1), "");           // BOS
  EXPECT_EQ(tok_->token_bytes(0), "");           // <unk>
  EXPECT_THROW(tok_->token_bytes(512), Error);
  EXPECT_THROW(tok_->token_text(-1), Error);
  const std::vector<int32_t> bad = {261, 512};
  EXPECT_THROW(tok_->decode(bad), Error);
}

// True when llama.cpp's way of cutting text into characters (by the length
// a lead byte announces) gives the same pieces as fptq's (well-formed
// sequences, else single bytes): always on valid UTF-8, sometimes on invalid.
bool same_character_cuts(std::string_view text) {
  std::string esc = "\xE2\x96\x81";
  for (const char c : text) esc += c == ' ' ? std::string("\xE2\x96\x81") : std::string(1, c);
  for (size_t off = 0; off < esc.size();) {
    const size_t lead = std::min(utf8_lead_len(static_cast<uint8_t>(esc[off])), esc.size() - off);
    if (lead != std::max<size_t>(utf8_valid_len(esc, off), 1)) return false;
    off += lead;
  }
  return true;
}

TEST_F(Stories260K, MatchesLlamaCppOnGoldenStrings) {
  const GoldenFile g = load_golden("stories260K-ids.json");
  ASSERT_GE(g.cases.size(), 30u);
  int compared = 0, invalid_compared = 0;
  for (const GoldenCase& c : g.cases) {
    SCOPED_TRACE(c.name);
    if (!c.valid_utf8 && !same_character_cuts(c.bytes)) continue;  // README: known difference
    ++compared;
    invalid_compared += !c.valid_utf8;
    const auto ids = tok_->encode(c.bytes, false, false);
    EXPECT_EQ(ids, c.ids) << first_difference(c.ids, ids);
    const auto ids_sp = tok_->encode(c.bytes, false, true);
    EXPECT_EQ(ids_sp, c.ids_parse_special) << first_difference(c.ids_parse_special, ids_sp);
    auto with_bos = c.ids;
    with_bos.insert(with_bos.begin(), 1);
    EXPECT_EQ(tok_->encode(c.bytes, true), with_bos);
  }
  EXPECT_GE(invalid_compared, 2);
  EXPECT_GE(compared, static_cast<int>(g.cases.size()) - 3);
}

TEST_F(Stories260K, InvalidUtf8BytesBecomeByteTokens) {
  // llama.cpp lets the stray lead byte 0xFF take the next 3 bytes (the
  // escaped space) with it; fptq keeps it alone: "▁bad", "▁", <0xFF>, "▁byte".
  const auto ids = tok_->encode("bad \xFF byte", false);
  std::vector<std::string> texts;
  for (const int32_t id : ids) texts.push_back(tok_->token_text(id));
  ASSERT_GE(texts.size(), 3u);
  EXPECT_NE(std::find(texts.begin(), texts.end(), "<0xFF>"), texts.end());
  EXPECT_EQ(tok_->decode(ids), "bad \xFF byte");
  // The same words around it tokenize as they do without it.
  const auto a = tok_->encode("bad ", false), b = tok_->encode("byte", false);
  EXPECT_TRUE(std::equal(a.begin(), a.end(), ids.begin()));
}

TEST_F(Stories260K, RoundTripsGoldenStringsIncludingInvalidUtf8) {
  for (const GoldenCase& c : load_golden("stories260K-ids.json").cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(tok_->decode(tok_->encode(c.bytes, false)), c.bytes);
    EXPECT_EQ(tok_->decode(tok_->encode(c.bytes, true)), c.bytes);
  }
}

TEST_F(Stories260K, ByteFallbackForCharactersOutsideTheVocabulary) {
  // '中' (E4 B8 AD) is not a token: its three bytes come out as <0xXX> tokens.
  const auto ids = tok_->encode("\xE4\xB8\xAD", false);
  ASSERT_EQ(ids.size(), 4u);
  EXPECT_EQ(tok_->token_text(ids[0]), "\xE2\x96\x81");  // the added space prefix
  EXPECT_EQ(tok_->token_text(ids[1]), "<0xE4>");
  EXPECT_EQ(tok_->token_text(ids[2]), "<0xB8>");
  EXPECT_EQ(tok_->token_text(ids[3]), "<0xAD>");
  EXPECT_EQ(tok_->decode(ids), "\xE4\xB8\xAD");
}

TEST_F(Stories260K, RandomBytesAlwaysRoundTrip) {
  // Every byte has a <0xXX> token and no special text is parsed: lossless,
  // except that a "▁" (U+2581) in the input is a space to SentencePiece.
  for (const std::string& s : random_strings(1234, 2000)) {
    std::string want;
    for (size_t i = 0; i < s.size();) {
      if (s.compare(i, 3, "\xE2\x96\x81") == 0) {
        want += ' ';
        i += 3;
      } else {
        want += s[i++];
      }
    }
    const auto ids = tok_->encode(s, true);
    ASSERT_EQ(tok_->decode(ids), want) << ::testing::PrintToString(s);
    for (const int32_t id : ids) ASSERT_TRUE(id >= 0 && id < tok_->n_vocab());
  }
}

TEST_F(Stories260K, EmptyTextIsBosOnly) {
  EXPECT_TRUE(tok_->encode("", false).empty());
  EXPECT_EQ(tok_->encode("", true), std::vector<int32_t>{1});
  EXPECT_EQ(tok_->decode(std::vector<int32_t>{1}), "");
}

TEST_F(Stories260K, DecodeDropsOnlyTheAddedLeadingSpace) {
  EXPECT_EQ(tok_->decode(tok_->encode("  two spaces", true)), "  two spaces");
  // A sequence that does not start with a space piece is left alone.
  EXPECT_EQ(tok_->decode(tok_->encode("x", false)), "x");
}

TEST_F(Stories260K, MatchesSharedGreedyGolden) {
  const auto text_path = fptq::testing::shared_data("golden/stories260K-greedy-256.txt");
  FPTQ_REQUIRE_FILE(text_path);
  std::string text = read_file(text_path);
  if (!text.empty() && text.back() == '\n') text.pop_back();
  const auto want = read_ids(fptq::testing::shared_data("golden/stories260K-greedy-256-ids.txt"));
  const auto got = tok_->encode(text, true);
  EXPECT_EQ(got, want) << first_difference(want, got);
  EXPECT_EQ(got.size(), 257u);
  EXPECT_EQ(tok_->decode(got), text);
}

TEST_F(Stories260K, MatchesSharedWikiTextGoldenFastAndRoundTrips) {
  FPTQ_REQUIRE_FILE(fptq::testing::shared_data("text/wikitext-2-raw-test.txt"));
  const std::string text = wikitext_without_final_newline();
  const auto want =
      read_ids(fptq::testing::shared_data("golden/stories260K-wikitext-2-test-ids.txt"));
  std::vector<int32_t> got;
  const double t = seconds([&] { got = tok_->encode(text, true); });
  std::printf("stories260K: %zu bytes -> %zu tokens in %.3f s (%.1f MB/s)\n", text.size(),
              got.size(), t, text.size() / t / 1e6);
  RecordProperty("encode_seconds", std::to_string(t));
  ASSERT_EQ(got, want) << first_difference(want, got);
  // Generous bound: ~0.3 s in Release on one core; sanitizer builds are slower.
  EXPECT_LT(t, 20.0);

  const auto g = load_golden("stories260K-ids.json").wikitext;
  std::vector<int32_t> no_bos(got.begin() + 1, got.end());
  EXPECT_EQ(no_bos.size(), g.at("n_tokens").get<size_t>());
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a64_ids(no_bos)));
  EXPECT_EQ(hex, g.at("fnv1a64").get<std::string>());

  std::string back;
  const double td = seconds([&] { back = tok_->decode(got); });
  std::printf("stories260K: decode in %.3f s\n", td);
  EXPECT_TRUE(back == text) << "WikiText round trip differs";
}

}  // namespace
}  // namespace fptq::tok
