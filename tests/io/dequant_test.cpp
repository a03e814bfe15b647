// dequantize(): every supported type on hand-built blocks whose expected
// values come from the documented formulas (the test encodes chosen quants
// into bytes; the library decodes), plus cross-checks against the Python
// `gguf` package on random blocks and on SmolLM2's tensors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/half.h"
#include "io/dequant.h"
#include "io/ggml_blocks.h"
#include "io/gguf_reader.h"
#include "testing/testing.h"

namespace fptq::io {
namespace {

using Bytes = std::vector<uint8_t>;

void put_u16(Bytes& b, size_t at, uint16_t v) {
  b[at] = uint8_t(v);
  b[at + 1] = uint8_t(v >> 8);
}

// Bit-exact comparison; prints the first mismatching index.
void expect_same_bits(const std::vector<float>& expected, const std::vector<float>& actual,
                      const std::string& what) {
  ASSERT_EQ(expected.size(), actual.size()) << what;
  for (size_t i = 0; i < expected.size(); ++i) {
    if (f32_to_bits(expected[i]) != f32_to_bits(actual[i])) {
      FAIL() << what << ": first mismatch at " << i << ": expected " << expected[i] << " got "
             << actual[i];
    }
  }
}

std::vector<float> run(GgmlType t, const Bytes& b, int64_t n) {
  std::vector<float> y(size_t(n), -12345.f);
  dequantize(t, b.data(), y.data(), n);
  return y;
}

// A finite fp16 scale, positive or negative, sometimes subnormal.
uint16_t random_scale(std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-0.05f, 0.05f);
  if (rng() % 16 == 0) return uint16_t(1 + rng() % 1023) | uint16_t(rng() % 2 ? 0x8000 : 0);
  return f32_to_fp16(u(rng));
}

TEST(Dequant, PlainTypes) {
  const std::vector<float> f = {1.5f, -0.0f, 3.0e-8f, 65504.f, -2.25f};
  Bytes b32(f.size() * 4);
  std::memcpy(b32.data(), f.data(), b32.size());
  expect_same_bits(f, run(GgmlType::F32, b32, 5), "F32");

  // fp16: 1.0 = 0x3C00, -2.0 = 0xC000, 65504 = 0x7BFF, 2^-24 = 0x0001, -0 = 0x8000.
  const uint16_t h[] = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x8000};
  Bytes b16(10);
  for (int i = 0; i < 5; ++i) put_u16(b16, 2 * i, h[i]);
  expect_same_bits({1.f, -2.f, 65504.f, std::ldexp(1.f, -24), -0.f}, run(GgmlType::F16, b16, 5),
                   "F16");
  // bf16: the top half of the float32: 1.0 = 0x3F80, -3.0 = 0xC040, 2^-126 = 0x0080.
  const uint16_t bf[] = {0x3F80, 0xC040, 0x0080, 0x4120, 0x0000};
  for (int i = 0; i < 5; ++i) put_u16(b16, 2 * i, bf[i]);
  expect_same_bits({1.f, -3.f, std::ldexp(1.f, -126), 10.f, 0.f}, run(GgmlType::BF16, b16, 5),
                   "BF16");
}

TEST(Dequant, Q4_0KnownBlock) {
  // d = 0.5; element i has quant i % 16, stored as byte i%16's low (i<16) or
  // high (i>=16) nibble: value = (q - 8) * 0.5.
  Bytes b(18);
  put_u16(b, 0, 0x3800);  // 0.5
  for (int j = 0; j < 16; ++j) b[2 + j] = uint8_t(j | (15 - j) << 4);
  std::vector<float> want(32);
  for (int i = 0; i < 16; ++i) want[i] = float(i - 8) * 0.5f;
  for (int i = 0; i < 16; ++i) want[16 + i] = float(15 - i - 8) * 0.5f;
  expect_same_bits(want, run(GgmlType::Q4_0, b, 32), "Q4_0");
  EXPECT_EQ(want[0], -4.0f);
  EXPECT_EQ(want[16], 3.5f);
}

TEST(Dequant, Iq4NlKnownBlock) {
  // d = 0.5; nibble u of element i as in Q4_0; value = d · ggml's level
  // table [u] (-127 ... 113).
  static const int kLevels[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                  1,    13,   25,  38,  53,  69,  89,  113};
  Bytes b(18);
  put_u16(b, 0, 0x3800);  // 0.5
  for (int j = 0; j < 16; ++j) b[2 + j] = uint8_t(j | (15 - j) << 4);
  std::vector<float> want(32);
  for (int i = 0; i < 16; ++i) want[i] = 0.5f * float(kLevels[i]);
  for (int i = 0; i < 16; ++i) want[16 + i] = 0.5f * float(kLevels[15 - i]);
  expect_same_bits(want, run(GgmlType::IQ4_NL, b, 32), "IQ4_NL");
  EXPECT_EQ(want[0], -63.5f);
  EXPECT_EQ(want[16], 56.5f);
}

// Legacy 32-element types: random quants q[i] and scales, encoded per the
// layout comment in ggml_blocks.h, decoded by the library.
TEST(Dequant, LegacyTypesRandomBlocks) {
  std::mt19937 rng(42);
  constexpr int kBlocks = 7;
  for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                     GgmlType::Q8_0}) {
    const TypeInfo ti = type_info(t);
    Bytes b(size_t(kBlocks * ti.block_bytes));
    std::vector<float> want;
    for (int k = 0; k < kBlocks; ++k) {
      uint8_t* blk = b.data() + k * ti.block_bytes;
      const uint16_t dh = random_scale(rng), mh = random_scale(rng);
      const float d = fp16_to_f32(dh), m = fp16_to_f32(mh);
      blk[0] = uint8_t(dh);
      blk[1] = uint8_t(dh >> 8);
      for (int i = 0; i < 32; ++i) {
        float v = 0;
        if (t == GgmlType::Q8_0) {
          const int8_t q = int8_t(rng());
          blk[2 + i] = uint8_t(q);
          v = float(q) * d;
        } else {
          const bool has_m = t == GgmlType::Q4_1 || t == GgmlType::Q5_1;
          const bool five = t == GgmlType::Q5_0 || t == GgmlType::Q5_1;
          if (has_m) {
            blk[2] = uint8_t(mh);
            blk[3] = uint8_t(mh >> 8);
          }
          const int q = int(rng() % (five ? 32 : 16));
          uint8_t* qh = blk + (has_m ? 4 : 2);
          uint8_t* qs = qh + (five ? 4 : 0);
          qs[i % 16] |= uint8_t((q & 15) << (i < 16 ? 0 : 4));
          if (five) qh[i / 8] |= uint8_t((q >> 4) << (i % 8));  // bit i of the LE u32
          if (has_m) v = float(q) * d + m;
          else v = float(q - (five ? 16 : 8)) * d;
        }
        want.push_back(v);
      }
    }
    expect_same_bits(want, run(t, b, kBlocks * 32), std::string(ti.name));
  }
}

// Packs 8 six-bit scales and mins into the 12 bytes of Q4_K / Q5_K (the
// inverse of the unpacking rule in ggml_blocks.h).
void pack_scales_k4(const int sc[8], const int m[8], uint8_t* s) {
  for (int j = 0; j < 4; ++j) {
    s[j] = uint8_t((sc[j] & 63) | (sc[j + 4] >> 4) << 6);
    s[j + 4] = uint8_t((m[j] & 63) | (m[j + 4] >> 4) << 6);
    s[j + 8] = uint8_t((sc[j + 4] & 15) | (m[j + 4] & 15) << 4);
  }
}

TEST(Dequant, KQuantsRandomBlocks) {
  std::mt19937 rng(7);
  constexpr int kBlocks = 3;
  for (GgmlType t : {GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K}) {
    const TypeInfo ti = type_info(t);
    ASSERT_EQ(ti.block_elems, 256);
    Bytes b(size_t(kBlocks * ti.block_bytes), 0);
    std::vector<float> want;
    for (int k = 0; k < kBlocks; ++k) {
      uint8_t* blk = b.data() + k * ti.block_bytes;
      const uint16_t dh = random_scale(rng), mh = random_scale(rng);
      const float d = fp16_to_f32(dh), dmin = fp16_to_f32(mh);
      if (t == GgmlType::Q6_K) {
        uint8_t* ql = blk;
        uint8_t* qh = blk + 128;
        int8_t sc[16];
        for (int s = 0; s < 16; ++s) sc[s] = int8_t(rng());
        std::memcpy(blk + 192, sc, 16);
        blk[208] = uint8_t(dh);
        blk[209] = uint8_t(dh >> 8);
        for (int i = 0; i < 256; ++i) {
          const int q = int(rng() % 64);
          const int half = i / 128, g = (i % 128) / 32, l = i % 32;
          uint8_t& low = ql[64 * half + l + (g % 2) * 32];
          low |= uint8_t((q & 15) << (g >= 2 ? 4 : 0));
          qh[32 * half + l] |= uint8_t((q >> 4) << (2 * g));
          const int scale = sc[8 * half + l / 16 + 2 * g];  // sub-block of 16 = i / 16
          EXPECT_EQ(8 * half + l / 16 + 2 * g, i / 16);
          want.push_back(d * float(scale) * float(q - 32));
        }
      } else {
        const bool five = t == GgmlType::Q5_K;
        blk[0] = uint8_t(dh);
        blk[1] = uint8_t(dh >> 8);
        blk[2] = uint8_t(mh);
        blk[3] = uint8_t(mh >> 8);
        int sc[8], m[8];
        for (int j = 0; j < 8; ++j) {
          sc[j] = int(rng() % 64);
          m[j] = int(rng() % 64);
        }
        pack_scales_k4(sc, m, blk + 4);
        uint8_t* qh = blk + 16;
        uint8_t* qs = blk + (five ? 48 : 16);
        for (int i = 0; i < 256; ++i) {
          const int q = int(rng() % (five ? 32 : 16));
          const int j = i / 32, l = i % 32;
          qs[32 * (j / 2) + l] |= uint8_t((q & 15) << (j % 2 ? 4 : 0));
          if (five) qh[l] |= uint8_t((q >> 4) << j);
          want.push_back(d * float(sc[j]) * float(q) - dmin * float(m[j]));
        }
      }
    }
    expect_same_bits(want, run(t, b, kBlocks * 256), std::string(ti.name));
  }
}

TEST(Dequant, SizesAndMisalignedSource) {
  std::mt19937 rng(3);
  for (GgmlType t : {GgmlType::F16, GgmlType::Q4_1, GgmlType::Q8_0, GgmlType::Q6_K}) {
    const TypeInfo ti = type_info(t);
    for (int64_t blocks : {0, 1, 2, 5}) {
      Bytes raw(size_t(blocks * ti.block_bytes) + 1);
      for (auto& x : raw) x = uint8_t(rng());
      // Keep the scales finite: fp16 exponent field below 31 everywhere.
      for (size_t i = 1; i < raw.size(); i += 2) raw[i] &= 0x3F;
      const int64_t n = blocks * ti.block_elems;
      Bytes aligned(raw.begin() + 1, raw.end());
      std::vector<float> a(static_cast<size_t>(n)), b(static_cast<size_t>(n));
      dequantize(t, aligned.data(), a.data(), n);
      dequantize(t, raw.data() + 1, b.data(), n);  // odd address
      expect_same_bits(a, b, std::string(ti.name) + " misaligned");
    }
  }
}

TEST(Dequant, RejectsBadCallsWithError) {
  Bytes b(512);
  std::vector<float> y(512);
  EXPECT_THROW(dequantize(GgmlType::Q4_0, b.data(), y.data(), 31), Error);
  EXPECT_THROW(dequantize(GgmlType::Q4_K, b.data(), y.data(), 32), Error);
  EXPECT_THROW(dequantize(GgmlType::F32, b.data(), y.data(), -4), Error);
  for (GgmlType t : {GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::I32,
                     GgmlType::Q8_1}) {
    try {
      dequantize(t, b.data(), y.data(), 256);
      ADD_FAILURE() << "expected fptq::Error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(std::string(type_info(t).name)), std::string::npos)
          << e.what();
    }
  }
}

// ---- Cross-checks with the Python gguf package ------------------------------

bool python_gguf_available() {
  static const bool ok =
      std::system("python3 -c 'import numpy, gguf' >/dev/null 2>&1") == 0;
  return ok;
}

// Next to this test's source (independent of the working directory).
std::string script() {
  return (std::filesystem::path(__FILE__).parent_path() / "py_gguf_dequant.py").string();
}

std::vector<float> read_f32(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<float> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), out.size() * 4);
  return out;
}

TEST(DequantPython, RandomBlocksOfEveryTypeMatchGgufPackage) {
  if (!python_gguf_available()) GTEST_SKIP() << "python3 with numpy + gguf not available";
  fptq::testing::TempDir dir;
  std::mt19937 rng(11);
  const std::vector<GgmlType> types = {GgmlType::F16,  GgmlType::BF16, GgmlType::Q4_0,
                                       GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                                       GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q5_K,
                                       GgmlType::Q6_K};
  std::vector<Bytes> inputs;
  std::string cmd = "python3 " + script() + " raw";
  for (GgmlType t : types) {
    const TypeInfo ti = type_info(t);
    const int64_t blocks = 4 * 256 / ti.block_elems;
    Bytes b(size_t(blocks * ti.block_bytes));
    for (auto& x : b) x = uint8_t(rng());
    // Finite scales: clear the top exponent bit of every fp16-sized word that
    // could be a scale (harmless for the quant bytes, which stay random).
    for (size_t i = 1; i < b.size(); i += 2) b[i] &= 0xBF;
    const auto in = dir / (std::string(ti.name) + ".bin");
    std::ofstream(in, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), b.size());
    cmd += " " + std::string(ti.name) + " " + in.string() + " " +
           (dir / (std::string(ti.name) + ".f32")).string();
    inputs.push_back(std::move(b));
  }
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  for (size_t k = 0; k < types.size(); ++k) {
    const TypeInfo ti = type_info(types[k]);
    const int64_t n = int64_t(inputs[k].size()) / ti.block_bytes * ti.block_elems;
    expect_same_bits(read_f32(dir / (std::string(ti.name) + ".f32")), run(types[k], inputs[k], n),
                     std::string(ti.name) + " vs gguf package");
  }
}

TEST(DequantPython, SmolLM2TensorsMatchGgufPackage) {
  const auto path = fptq::testing::smollm2_path();
  if (path.empty()) GTEST_SKIP() << "SmolLM2 not fetched (scripts/fetch_model.sh)";
  if (!python_gguf_available()) GTEST_SKIP() << "python3 with numpy + gguf not available";
  auto m = read_gguf(path.string());
  // name -> rows compared (all rows except for the large embedding).
  const std::vector<std::pair<std::string, int64_t>> picks = {
      {"token_embd.weight", 300},         // Q8_0
      {"blk.0.ffn_down.weight", 576},     // Q4_1
      {"blk.29.attn_q.weight", 576},      // Q4_1
      {"blk.0.attn_norm.weight", 1},      // F32
  };
  fptq::testing::TempDir dir;
  std::string cmd = "python3 " + script() + " tensor " + path.string() + " " + dir.path().string();
  for (const auto& [name, rows] : picks) cmd += " " + name + ":" + std::to_string(rows);
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  for (const auto& [name, rows] : picks) {
    const TensorInfo& t = m->tensor(name);
    ASSERT_LE(rows, t.rows()) << name;
    std::vector<float> ours;
    if (rows == t.rows()) {
      ours = dequantize_tensor(t);
    } else {
      const TypeInfo ti = type_info(t.type);
      ours.resize(static_cast<size_t>(rows * t.row_elems()));
      dequantize(t.type, t.data, ours.data(), rows * t.row_elems());
      EXPECT_EQ(ti.block_elems, 32);
    }
    expect_same_bits(read_f32(dir / (name + ".f32")), ours, name);
  }
}

}  // namespace
}  // namespace fptq::io
