// FP32 matrix products of the FP32 engine (prefill GEMM, decode GEMV).
//
// Convention (as everywhere in fptq): a linear layer has W of shape
// [n out][k in], row-major (GGUF ne = {k, n}); y = x · Wᵀ.
#pragma once

#include <cstdint>
#include <memory>

#include "core/thread_pool.h"

namespace fptq::kernels {

// W rearranged once (at model load) into the layout the active ISA's GEMM
// and GEMV read fastest. Immutable after packing; shareable across threads.
class PackedF32 {
 public:
  PackedF32();
  ~PackedF32();
  PackedF32(PackedF32&&) noexcept;
  PackedF32& operator=(PackedF32&&) noexcept;
  int64_t n() const;  // output features
  int64_t k() const;  // input features
  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  friend PackedF32 pack_f32(const float* w, int64_t n, int64_t k);
  std::unique_ptr<Impl> impl_;
};

// w: [n][k] row-major f32. Copies; w may be freed afterwards.
PackedF32 pack_f32(const float* w, int64_t n, int64_t k);

// x: [m][k] f32 (row stride k), y: [m][n] f32 (row stride n) = x · Wᵀ.
// m == 1 (decode) takes the GEMV path. Deterministic for a given ISA and
// thread count... and independent of the thread count.
void matmul_f32(const float* x, const PackedF32& w, float* y, int64_t m, ThreadPool& pool);

}  // namespace fptq::kernels
