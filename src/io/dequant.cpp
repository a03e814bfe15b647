#include "io/dequant.h"

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/half.h"
#include "io/ggml_blocks.h"

namespace fptq::io {
namespace {

// Blocks are copied into a local struct first so that `src` may have any
// alignment. Each routine writes kQK or kQK_K floats to y. The float
// expressions keep ggml's evaluation order so results are bit-identical.

void block_q4_0(const BlockQ4_0& b, float* y) {
  const float d = fp16_to_f32(b.d);
  for (int j = 0; j < kQK / 2; ++j) {
    const int x0 = (b.qs[j] & 0x0F) - 8;
    const int x1 = (b.qs[j] >> 4) - 8;
    y[j] = float(x0) * d;
    y[j + kQK / 2] = float(x1) * d;
  }
}

void block_iq4_nl(const BlockQ4_0& b, float* y) {
  const float d = fp16_to_f32(b.d);
  for (int j = 0; j < kQK / 2; ++j) {
    y[j] = d * float(kIq4NlValues[b.qs[j] & 0x0F]);
    y[j + kQK / 2] = d * float(kIq4NlValues[b.qs[j] >> 4]);
  }
}

void block_q4_1(const BlockQ4_1& b, float* y) {
  const float d = fp16_to_f32(b.d);
  const float m = fp16_to_f32(b.m);
  for (int j = 0; j < kQK / 2; ++j) {
    y[j] = float(b.qs[j] & 0x0F) * d + m;
    y[j + kQK / 2] = float(b.qs[j] >> 4) * d + m;
  }
}

uint32_t load_u32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

void block_q5_0(const BlockQ5_0& b, float* y) {
  const float d = fp16_to_f32(b.d);
  const uint32_t qh = load_u32(b.qh);
  for (int j = 0; j < kQK / 2; ++j) {
    const int h0 = int((qh >> j) & 1u) << 4;
    const int h1 = int((qh >> (j + kQK / 2)) & 1u) << 4;
    y[j] = float(((b.qs[j] & 0x0F) | h0) - 16) * d;
    y[j + kQK / 2] = float(((b.qs[j] >> 4) | h1) - 16) * d;
  }
}

void block_q5_1(const BlockQ5_1& b, float* y) {
  const float d = fp16_to_f32(b.d);
  const float m = fp16_to_f32(b.m);
  const uint32_t qh = load_u32(b.qh);
  for (int j = 0; j < kQK / 2; ++j) {
    const int h0 = int((qh >> j) & 1u) << 4;
    const int h1 = int((qh >> (j + kQK / 2)) & 1u) << 4;
    y[j] = float((b.qs[j] & 0x0F) | h0) * d + m;
    y[j + kQK / 2] = float((b.qs[j] >> 4) | h1) * d + m;
  }
}

void block_q8_0(const BlockQ8_0& b, float* y) {
  const float d = fp16_to_f32(b.d);
  for (int j = 0; j < kQK; ++j) y[j] = float(b.qs[j]) * d;
}

// Scale and min of sub-block j (0..7) from the packed 12 bytes of Q4_K / Q5_K.
void scale_min_k4(int j, const uint8_t* s, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = uint8_t((s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4));
    *m = uint8_t((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
  }
}

void block_q4_k(const BlockQ4_K& b, float* y) {
  const float d = fp16_to_f32(b.d);
  const float dmin = fp16_to_f32(b.dmin);
  const uint8_t* q = b.qs;
  for (int c = 0; c < 4; ++c) {  // chunk c: sub-blocks 2c (low nibbles), 2c+1 (high)
    uint8_t sc, m;
    scale_min_k4(2 * c, b.scales, &sc, &m);
    const float d1 = d * float(sc), m1 = dmin * float(m);
    scale_min_k4(2 * c + 1, b.scales, &sc, &m);
    const float d2 = d * float(sc), m2 = dmin * float(m);
    for (int l = 0; l < 32; ++l) *y++ = d1 * float(q[l] & 0x0F) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * float(q[l] >> 4) - m2;
    q += 32;
  }
}

void block_q5_k(const BlockQ5_K& b, float* y) {
  const float d = fp16_to_f32(b.d);
  const float dmin = fp16_to_f32(b.dmin);
  const uint8_t* ql = b.qs;
  uint8_t u1 = 1, u2 = 2;
  for (int c = 0; c < 4; ++c) {
    uint8_t sc, m;
    scale_min_k4(2 * c, b.scales, &sc, &m);
    const float d1 = d * float(sc), m1 = dmin * float(m);
    scale_min_k4(2 * c + 1, b.scales, &sc, &m);
    const float d2 = d * float(sc), m2 = dmin * float(m);
    for (int l = 0; l < 32; ++l) *y++ = d1 * float((ql[l] & 0x0F) + (b.qh[l] & u1 ? 16 : 0)) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * float((ql[l] >> 4) + (b.qh[l] & u2 ? 16 : 0)) - m2;
    ql += 32;
    u1 = uint8_t(u1 << 2);
    u2 = uint8_t(u2 << 2);
  }
}

void block_q6_k(const BlockQ6_K& b, float* y) {
  const float d = fp16_to_f32(b.d);
  const uint8_t* ql = b.ql;
  const uint8_t* qh = b.qh;
  const int8_t* sc = b.scales;
  for (int half = 0; half < 2; ++half) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = int((ql[l] & 0x0F) | ((qh[l] >> 0) & 3) << 4) - 32;
      const int q2 = int((ql[l + 32] & 0x0F) | ((qh[l] >> 2) & 3) << 4) - 32;
      const int q3 = int((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
      const int q4 = int((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
      y[l] = d * float(sc[is + 0]) * float(q1);
      y[l + 32] = d * float(sc[is + 2]) * float(q2);
      y[l + 64] = d * float(sc[is + 4]) * float(q3);
      y[l + 96] = d * float(sc[is + 6]) * float(q4);
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

template <typename Block, int kElems>
void run_blocks(const uint8_t* src, float* dst, int64_t n, void (*fn)(const Block&, float*)) {
  for (int64_t i = 0; i < n / kElems; ++i) {
    Block b;
    std::memcpy(&b, src + i * int64_t(sizeof(Block)), sizeof(Block));
    fn(b, dst + i * kElems);
  }
}

}  // namespace

void dequantize(GgmlType type, const void* src_v, float* dst, int64_t n) {
  const TypeInfo ti = type_info(type);
  if (!ti.can_dequantize) fail("dequantize: type {} is not supported", ti.name);
  if (n < 0 || n % ti.block_elems != 0) {
    fail("dequantize: {} elements is not a multiple of the {} block size {}", n, ti.name,
         ti.block_elems);
  }
  const auto* src = static_cast<const uint8_t*>(src_v);
  switch (type) {
    case GgmlType::F32:
      if (n > 0) std::memcpy(dst, src, size_t(n) * 4);
      return;
    case GgmlType::F16:
    case GgmlType::BF16: {
      const bool bf = type == GgmlType::BF16;
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = bf ? bf16_to_f32(h) : fp16_to_f32(h);
      }
      return;
    }
    case GgmlType::Q4_0: return run_blocks<BlockQ4_0, kQK>(src, dst, n, block_q4_0);
    case GgmlType::Q4_1: return run_blocks<BlockQ4_1, kQK>(src, dst, n, block_q4_1);
    case GgmlType::IQ4_NL: return run_blocks<BlockQ4_0, kQK>(src, dst, n, block_iq4_nl);
    case GgmlType::Q5_0: return run_blocks<BlockQ5_0, kQK>(src, dst, n, block_q5_0);
    case GgmlType::Q5_1: return run_blocks<BlockQ5_1, kQK>(src, dst, n, block_q5_1);
    case GgmlType::Q8_0: return run_blocks<BlockQ8_0, kQK>(src, dst, n, block_q8_0);
    case GgmlType::Q4_K: return run_blocks<BlockQ4_K, kQK_K>(src, dst, n, block_q4_k);
    case GgmlType::Q5_K: return run_blocks<BlockQ5_K, kQK_K>(src, dst, n, block_q5_k);
    case GgmlType::Q6_K: return run_blocks<BlockQ6_K, kQK_K>(src, dst, n, block_q6_k);
    default: break;
  }
  FPTQ_CHECK_MSG(false, "type {} marked dequantizable but not handled", ti.name);
}

std::vector<float> dequantize_tensor(const TensorInfo& t) {
  const int64_t n = t.n_elements();
  const TypeInfo ti = type_info(t.type);
  if (n % ti.block_elems != 0 || uint64_t(n / ti.block_elems) * uint64_t(ti.block_bytes) != t.nbytes) {
    fail("tensor '{}': {} bytes do not hold {} {} elements", t.name, t.nbytes, n, ti.name);
  }
  if (!ti.can_dequantize) fail("tensor '{}': type {} cannot be dequantized", t.name, ti.name);
  std::vector<float> out(static_cast<size_t>(n));
  dequantize(t.type, t.data, out.data(), n);
  // A NaN or Inf weight poisons every activation downstream: refuse it here,
  // naming the element, rather than produce NaN results later.
  for (size_t i = 0; i < out.size(); ++i) {
    if (!std::isfinite(out[i])) {
      fail("tensor '{}': element {} is {} (a {} weight must be finite)", t.name, i,
           std::isnan(out[i]) ? "NaN" : out[i] > 0 ? "+Inf" : "-Inf", ti.name);
    }
  }
  return out;
}

}  // namespace fptq::io
