// The body of the tokenizer targets: arbitrary bytes through a real
// vocabulary. The first input byte picks the options (bit 0 add_bos, bit 1
// parse_special, bit 2 decode raw ids instead of encoding); the rest is the
// text. Checked: ids in range, BOS placement, and decode(encode(s)) == s where
// the tokenizer documents it (`round_trips` says when).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "fuzz/fuzz_support.h"
#include "tokenizer/tokenizer.h"

namespace fptq::fuzz {

template <typename RoundTrips>
int fuzz_tokenizer(const tok::Tokenizer& tok, const uint8_t* data, size_t size,
                   const RoundTrips& round_trips) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const bool add_bos = flags & 1, parse_special = flags & 2;
  if (flags & 4) {
    // decode of arbitrary ids: in-range ids decode, others throw fptq::Error.
    std::vector<int32_t> ids(text.size() / 4);
    if (!ids.empty()) std::memcpy(ids.data(), text.data(), ids.size() * 4);
    try {
      (void)tok.decode(ids);
      for (int32_t id : ids) require(id >= 0 && id < tok.n_vocab(), "decode accepted a bad id");
    } catch (const Error&) {
    }
    return 0;
  }
  const std::vector<int32_t> ids = tok.encode(text, add_bos, parse_special);
  for (int32_t id : ids) require(id >= 0 && id < tok.n_vocab(), "token id in range");
  if (add_bos && tok.bos_id() >= 0)
    require(!ids.empty() && ids[0] == tok.bos_id(), "BOS first when asked for");
  const std::string back = tok.decode(ids);
  if (!add_bos && !parse_special && round_trips(text))
    require(back == text, "decode(encode(s)) == s");
  return 0;
}

}  // namespace fptq::fuzz
