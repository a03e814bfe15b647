// SHA-256 (FIPS 180-4), used to record a digest of calibration text in the
// provenance of a quantized model. Small and dependency-free; checked against
// the FIPS test vectors and against sha256sum in tests/core.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace fptq {

// Streaming hasher: update() any number of times, then hex_digest() (or
// digest()) once; after that the object must not be updated again.
class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t n);
  void update(std::string_view s) { update(s.data(), s.size()); }
  std::array<uint8_t, 32> digest();
  std::string hex_digest();  // 64 lowercase hex characters

 private:
  void block(const uint8_t* p);  // compresses one 64-byte block
  std::array<uint32_t, 8> h_;
  std::array<uint8_t, 64> buf_{};
  size_t buf_len_ = 0;
  uint64_t total_ = 0;  // bytes hashed
  bool finished_ = false;
};

// Hex SHA-256 of a byte string.
std::string sha256_hex(std::string_view data);

}  // namespace fptq
