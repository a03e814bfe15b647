#include "tokenizer/utf8.h"

#include "core/error.h"

namespace fptq::tok {

size_t utf8_lead_len(uint8_t lead) {
  static constexpr uint8_t kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLen[lead >> 4];
}

size_t utf8_valid_len(std::string_view s, size_t pos) {
  const auto at = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  const uint8_t c = at(pos);
  if (c < 0x80) return 1;
  const size_t left = s.size() - pos;
  const auto cont = [&](size_t i) { return (at(pos + i) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return left >= 2 && cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (left < 3 || !cont(1) || !cont(2)) return 0;
    const uint8_t c1 = at(pos + 1);
    if (c == 0xE0 && c1 < 0xA0) return 0;   // overlong
    if (c == 0xED && c1 >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (left < 4 || !cont(1) || !cont(2) || !cont(3)) return 0;
    const uint8_t c1 = at(pos + 1);
    if (c == 0xF0 && c1 < 0x90) return 0;   // overlong
    if (c == 0xF4 && c1 >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;  // continuation byte, 0xC0/0xC1, 0xF5-0xFF
}

bool utf8_is_valid(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    // ASCII fast path.
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t n = utf8_valid_len(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string utf8_encode(uint32_t cp) {
  FPTQ_CHECK_MSG(cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF), "code point {:#x}", cp);
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

Utf8Repair utf8_repair(std::string_view s) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  Utf8Repair r;
  r.text.reserve(s.size() + 16);
  r.orig.reserve(s.size() + 16);
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_valid_len(s, i);
    if (n == 0) {
      r.text += kReplacement;
      r.orig.insert(r.orig.end(), {static_cast<uint32_t>(i), 0, 0});
      i += 1;
    } else {
      r.text.append(s.substr(i, n));
      r.orig.push_back(static_cast<uint32_t>(i));
      r.orig.insert(r.orig.end(), n - 1, 0);  // not code point starts
      i += n;
    }
  }
  r.orig.push_back(static_cast<uint32_t>(s.size()));
  return r;
}

}  // namespace fptq::tok
