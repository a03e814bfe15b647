// UTF-8 helpers for the tokenizers. Text from users is never trusted to be
// valid UTF-8: every function here is total (no input makes it fail).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fptq::tok {

// Sequence length announced by a lead byte, as SentencePiece-style splitters
// read it without validation: 1 for ASCII and stray continuation bytes
// (0x80-0xBF), 2 for 0xC0-0xDF, 3 for 0xE0-0xEF, 4 for 0xF0-0xFF.
size_t utf8_lead_len(uint8_t lead);

// Length of the well-formed UTF-8 sequence starting at s[pos] (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF), or 0 when the bytes
// there do not form one. pos < s.size().
size_t utf8_valid_len(std::string_view s, size_t pos);

// True when the whole string is well-formed UTF-8.
bool utf8_is_valid(std::string_view s);

// UTF-8 encoding of a code point (cp <= 0x10FFFF, not a surrogate).
std::string utf8_encode(uint32_t cp);

// A copy of a string in which every byte that is not part of a well-formed
// sequence is replaced by U+FFFD, with the map back to the original bytes.
struct Utf8Repair {
  std::string text;  // well-formed UTF-8
  // orig[i] = offset in the original string of text byte i, for every i that
  // starts a code point, and orig[text.size()] = original size.
  std::vector<uint32_t> orig;
};
// Returns the repaired copy. Use only when !utf8_is_valid(s).
Utf8Repair utf8_repair(std::string_view s);

}  // namespace fptq::tok
