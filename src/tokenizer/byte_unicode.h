// The byte <-> character map of byte-level BPE (GPT-2): every byte value is
// represented by one printable Unicode character, so that any byte string is a
// string of vocabulary characters. Printable Latin-1 bytes ('!'..'~',
// '¡'..'¬', '®'..'ÿ') stand for themselves; the other 68 bytes take the code
// points U+0100, U+0101, ... in byte order (so ' ' is 'Ġ', '\n' is 'Ċ').
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fptq::tok {

// UTF-8 text of the character that stands for byte b.
const std::string& byte_to_unicode(uint8_t b);

// The byte a single character (given as its UTF-8 text) stands for, or
// nullopt when the character is not in the map.
std::optional<uint8_t> unicode_to_byte(std::string_view ch);

// Maps every byte of `bytes` to its character and appends the result to *out.
void bytes_to_unicode_text(std::string_view bytes, std::string* out);

}  // namespace fptq::tok
