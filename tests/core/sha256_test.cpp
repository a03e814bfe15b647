#include "core/sha256.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "testing/testing.h"

namespace {

// FIPS 180-4 / NIST example vectors.
TEST(Sha256, NistVectors) {
  EXPECT_EQ(fptq::sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(fptq::sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(fptq::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(fptq::sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// Padding boundaries: 55, 56, 63, 64, 65 bytes, fed whole and byte by byte.
TEST(Sha256, StreamingEqualsOneShot) {
  for (size_t n : {0u, 1u, 55u, 56u, 57u, 63u, 64u, 65u, 119u, 120u, 128u, 1000u}) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += char('a' + i % 26);
    fptq::Sha256 h;
    for (char c : s) h.update(&c, 1);
    EXPECT_EQ(h.hex_digest(), fptq::sha256_hex(s)) << "n = " << n;
  }
}

// The digest the shared data README lists for stories260K.gguf.
TEST(Sha256, SharedModelDigest) {
  const auto p = fptq::testing::shared_data("models/stories260K.gguf");
  FPTQ_REQUIRE_FILE(p);
  std::ifstream in(p, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(fptq::sha256_hex(bytes),
            "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d");
}

}  // namespace
