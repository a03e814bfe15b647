// UTF-8 helpers for streaming generated text.
#pragma once

#include <cstddef>
#include <string_view>

namespace fptq::cli {

// Length of the longest prefix of `s` that does not end inside a UTF-8
// sequence: a trailing lead byte whose continuation bytes have not all
// arrived yet is held back (at most 3 bytes). Invalid bytes are not held.
inline size_t complete_utf8_prefix(std::string_view s) {
  const size_t n = s.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const unsigned char c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: look further back
    const size_t need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    return need > back ? n - back : n;
  }
  return n;
}

}  // namespace fptq::cli
