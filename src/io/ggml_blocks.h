// On-disk block layouts of the ggml quantized types fptq reads (an ABI: the
// byte layouts are ggml's, little-endian, no padding). `fp16` fields hold IEEE
// half-precision bits (convert with fptq::fp16_to_f32).
#pragma once

#include <cstdint>

namespace fptq::io {

inline constexpr int kQK = 32;    // elements per block of the legacy types
inline constexpr int kQK_K = 256; // elements per K-quant super-block
inline constexpr int kKScaleBytes = 12;  // packed 6-bit scales/mins of Q4_K / Q5_K

// Q4_0: 18 bytes. [0..1] d | [2..17] qs: byte j = element j (low nibble),
// element j+16 (high nibble). value = (q - 8) * d.
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ4_0) == 18);

// IQ4_NL: the bytes of Q4_0 (d, then nibbles as Q4_0), value = d ·
// kIq4NlValues[nibble]: ggml's 16 non-uniform levels (the format's table).
inline constexpr int8_t kIq4NlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                            1,    13,   25,  38,  53,  69,  89,  113};

// Q4_1: 20 bytes. [0..1] d | [2..3] m | [4..19] qs (nibbles as Q4_0).
// value = q * d + m.
struct BlockQ4_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ4_1) == 20);

// Q5_0: 22 bytes. [0..1] d | [2..5] qh: u32 LE, bit i = 5th bit of element i |
// [6..21] qs: low 4 bits, nibbles as Q4_0. value = (q - 16) * d.
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ5_0) == 22);

// Q5_1: 24 bytes. [0..1] d | [2..3] m | [4..7] qh | [8..23] qs.
// value = q * d + m.
struct BlockQ5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ5_1) == 24);

// Q8_0: 34 bytes. [0..1] d | [2..33] qs: int8 element i. value = q * d.
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kQK];
};
static_assert(sizeof(BlockQ8_0) == 34);

// Q4_K: 144 bytes, 256 elements in 8 sub-blocks of 32.
// [0..1] d | [2..3] dmin | [4..15] scales: 8 six-bit scales sc and 8 six-bit
// mins m, packed: for j < 4, sc[j] = s[j] & 63, m[j] = s[j+4] & 63; for j >= 4,
// sc[j] = (s[j+4] & 15) | (s[j-4] >> 6) << 4, m[j] = (s[j+4] >> 4) | (s[j] >> 6) << 4 |
// [16..143] qs: 4 chunks of 32 bytes; chunk c holds sub-block 2c in the low
// nibbles and sub-block 2c+1 in the high nibbles.
// value = d * sc[j] * q - dmin * m[j].
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ4_K) == 144);

// Q5_K: 176 bytes. [0..1] d | [2..3] dmin | [4..15] scales (as Q4_K) |
// [16..47] qh: bit 2c of qh[l] = 5th bit of element l of sub-block 2c, bit
// 2c+1 = of sub-block 2c+1 | [48..175] qs (nibbles as Q4_K).
// value = d * sc[j] * q - dmin * m[j], q in [0, 31].
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ5_K) == 176);

// Q6_K: 210 bytes, 256 elements in 16 sub-blocks of 16.
// [0..127] ql: low 4 bits | [128..191] qh: high 2 bits | [192..207] scales:
// int8 per sub-block | [208..209] d. Each half n (128 elements) uses ql[64n..],
// qh[32n..], scales[8n..]; for l < 32 element l, l+32, l+64, l+96 take low bits
// ql[l] & 15, ql[l+32] & 15, ql[l] >> 4, ql[l+32] >> 4 and high bits qh[l] >> 0,
// 2, 4, 6 (& 3). value = d * scale * (q - 32).
struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];
  uint8_t qh[kQK_K / 4];
  int8_t scales[kQK_K / 16];
  uint16_t d;
};
static_assert(sizeof(BlockQ6_K) == 210);

}  // namespace fptq::io
