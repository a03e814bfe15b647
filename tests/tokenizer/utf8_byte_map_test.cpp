// UTF-8 validation/repair and the byte-level character map.
#include <gtest/gtest.h>

#include <set>

#include "tokenizer/byte_unicode.h"
#include "tokenizer/utf8.h"

namespace fptq::tok {
namespace {

TEST(Utf8, ValidityFollowsRfc3629) {
  // Valid: ASCII, 2/3/4-byte forms, the extremes of each range.
  for (const std::string s : {"", "abc", "\xC2\x80", "\xDF\xBF", "\xE0\xA0\x80", "\xED\x9F\xBF",
                              "\xEE\x80\x80", "\xEF\xBF\xBF", "\xF0\x90\x80\x80",
                              "\xF4\x8F\xBF\xBF", "caf\xC3\xA9 \xF0\x9F\x98\x80"}) {
    EXPECT_TRUE(utf8_is_valid(s)) << s;
  }
  // Invalid: stray continuation, overlong 2/3/4-byte forms, surrogates,
  // above U+10FFFF, 0xF5..0xFF, truncated sequences, bad continuation.
  for (const std::string s : {"\x80", "\xBF", "\xC0\x80", "\xC1\xBF", "\xE0\x9F\xBF",
                              "\xF0\x8F\xBF\xBF", "\xED\xA0\x80", "\xED\xBF\xBF",
                              "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xFF", "\xC3",
                              "\xE2\x82", "\xF0\x9F\x98", "\xC3(", "a\xE2\x28\xA1"}) {
    EXPECT_FALSE(utf8_is_valid(s)) << ::testing::PrintToString(s);
  }
}

TEST(Utf8, LeadLengthReadsOnlyTheFirstByte) {
  EXPECT_EQ(utf8_lead_len('a'), 1u);
  EXPECT_EQ(utf8_lead_len(0x80), 1u);
  EXPECT_EQ(utf8_lead_len(0xC3), 2u);
  EXPECT_EQ(utf8_lead_len(0xE2), 3u);
  EXPECT_EQ(utf8_lead_len(0xF0), 4u);
  EXPECT_EQ(utf8_lead_len(0xFF), 4u);
}

TEST(Utf8, EncodeMatchesKnownBytes) {
  EXPECT_EQ(utf8_encode(0x41), "A");
  EXPECT_EQ(utf8_encode(0xE9), "\xC3\xA9");
  EXPECT_EQ(utf8_encode(0x2581), "\xE2\x96\x81");
  EXPECT_EQ(utf8_encode(0x1F600), "\xF0\x9F\x98\x80");
}

TEST(Utf8, RepairReplacesEachInvalidByteAndMapsBack) {
  const std::string s = "a\xFF\xC3\xA9\xE2\x82z";
  const Utf8Repair r = utf8_repair(s);
  EXPECT_EQ(r.text, "a\xEF\xBF\xBD\xC3\xA9\xEF\xBF\xBD\xEF\xBF\xBDz");
  EXPECT_TRUE(utf8_is_valid(r.text));
  ASSERT_EQ(r.orig.size(), r.text.size() + 1);
  EXPECT_EQ(r.orig[0], 0u);   // a
  EXPECT_EQ(r.orig[1], 1u);   // FFFD for 0xFF
  EXPECT_EQ(r.orig[4], 2u);   // é
  EXPECT_EQ(r.orig[6], 4u);   // FFFD for 0xE2
  EXPECT_EQ(r.orig[9], 5u);   // FFFD for 0x82
  EXPECT_EQ(r.orig[12], 6u);  // z
  EXPECT_EQ(r.orig[13], 7u);  // end
}

TEST(ByteMap, KnownGpt2Characters) {
  EXPECT_EQ(byte_to_unicode(' '), "\xC4\xA0");   // U+0120 'Ġ'
  EXPECT_EQ(byte_to_unicode('\n'), "\xC4\x8A");  // U+010A 'Ċ'
  EXPECT_EQ(byte_to_unicode('\t'), "\xC4\x89");  // U+0109 'ĉ'
  EXPECT_EQ(byte_to_unicode(0x00), "\xC4\x80");  // U+0100
  EXPECT_EQ(byte_to_unicode('A'), "A");
  EXPECT_EQ(byte_to_unicode('~'), "~");
  EXPECT_EQ(byte_to_unicode(0x7F), "\xC4\xA1");  // U+0121
  EXPECT_EQ(byte_to_unicode(0xA0), "\xC5\x82");  // U+0142
  EXPECT_EQ(byte_to_unicode(0xA1), "\xC2\xA1");  // '¡' stands for itself
  EXPECT_EQ(byte_to_unicode(0xAD), "\xC5\x83");  // U+0143 (soft hyphen is not printable)
  EXPECT_EQ(byte_to_unicode(0xFF), "\xC3\xBF");  // 'ÿ'
}

TEST(ByteMap, IsABijectionOnAllBytes) {
  std::set<std::string> seen;
  for (int b = 0; b < 256; ++b) {
    const std::string& ch = byte_to_unicode(static_cast<uint8_t>(b));
    EXPECT_TRUE(seen.insert(ch).second) << b;
    const auto back = unicode_to_byte(ch);
    ASSERT_TRUE(back.has_value()) << b;
    EXPECT_EQ(*back, b);
  }
  EXPECT_EQ(unicode_to_byte("\xC5\x83"), 0xAD);           // U+0143: the last remapped byte
  EXPECT_FALSE(unicode_to_byte("\xC5\x84").has_value());  // U+0144: past the 68 remapped bytes
  EXPECT_FALSE(unicode_to_byte("ab").has_value());
  EXPECT_FALSE(unicode_to_byte("").has_value());
  EXPECT_FALSE(unicode_to_byte("\xE2\x96\x81").has_value());
}

}  // namespace
}  // namespace fptq::tok
