#include "tokenizer/byte_unicode.h"

#include <array>
#include <unordered_map>

#include "tokenizer/utf8.h"

namespace fptq::tok {
namespace {

struct ByteMap {
  std::array<std::string, 256> to_text;
  std::unordered_map<uint32_t, uint8_t> from_cp;

  ByteMap() {
    const auto printable = [](uint32_t b) {
      return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    uint32_t next = 256;
    for (uint32_t b = 0; b < 256; ++b) {
      const uint32_t cp = printable(b) ? b : next++;
      to_text[b] = utf8_encode(cp);
      from_cp.emplace(cp, static_cast<uint8_t>(b));
    }
  }
};

const ByteMap& byte_map() {
  static const ByteMap m;
  return m;
}

}  // namespace

const std::string& byte_to_unicode(uint8_t b) { return byte_map().to_text[b]; }

std::optional<uint8_t> unicode_to_byte(std::string_view ch) {
  if (ch.empty() || ch.size() > 2) return std::nullopt;  // all mapped code points are < U+0800
  if (utf8_valid_len(ch, 0) != ch.size()) return std::nullopt;
  uint32_t cp = static_cast<uint8_t>(ch[0]);
  if (ch.size() == 2) cp = ((cp & 0x1F) << 6) | (static_cast<uint8_t>(ch[1]) & 0x3F);
  const auto& m = byte_map().from_cp;
  const auto it = m.find(cp);
  if (it == m.end()) return std::nullopt;
  return it->second;
}

void bytes_to_unicode_text(std::string_view bytes, std::string* out) {
  const auto& m = byte_map().to_text;
  for (const char c : bytes) *out += m[static_cast<uint8_t>(c)];
}

}  // namespace fptq::tok
