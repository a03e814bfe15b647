// The 16-lane view every float reduction of the kernels runs in (the numerics
// contract, docs/numerics.md): element i of a reduced row goes to lane i mod 16
// and the lanes are combined by one fixed tree, on every ISA. AVX-512 holds 16
// lanes in one register; AVX2 holds them in a pair of 8-lane registers, so the
// two ISAs (and the scalar ref twins, kernels/ref/lanes16.h) add the same
// numbers in the same order.
#pragma once

#include <cstdint>
#include <type_traits>

namespace fptq::kernels::generic {

// Two V registers as one vector of 2·V::kLanes lanes: lo holds lanes
// [0, V::kLanes), hi the rest. Every operation is V's, applied to each half.
template <class V>
struct Pair {
  struct Reg {
    typename V::Reg lo, hi;
  };
  static constexpr int kLanes = 2 * V::kLanes;
  static constexpr int64_t H = V::kLanes;

  static Reg zero() { return {V::zero(), V::zero()}; }
  static Reg set1(float v) { return {V::set1(v), V::set1(v)}; }
  static Reg loadu(const float* p) { return {V::loadu(p), V::loadu(p + H)}; }
  static void storeu(float* p, Reg v) {
    V::storeu(p, v.lo);
    V::storeu(p + H, v.hi);
  }
  // n < kLanes; V::load_n / store_n / keep_n take any n (<= 0: nothing, >= H: all).
  static Reg load_n(const float* p, int64_t n) {
    return {n >= H ? V::loadu(p) : V::load_n(p, n), n > H ? V::load_n(p + H, n - H) : V::zero()};
  }
  static void store_n(float* p, Reg v, int64_t n) {
    if (n >= H) {
      V::storeu(p, v.lo);
      if (n > H) V::store_n(p + H, v.hi, n - H);
    } else {
      V::store_n(p, v.lo, n);
    }
  }
  static Reg keep_n(Reg v, int64_t n) { return {V::keep_n(v.lo, n), V::keep_n(v.hi, n - H)}; }
  static Reg add(Reg a, Reg b) { return {V::add(a.lo, b.lo), V::add(a.hi, b.hi)}; }
  static Reg sub(Reg a, Reg b) { return {V::sub(a.lo, b.lo), V::sub(a.hi, b.hi)}; }
  static Reg mul(Reg a, Reg b) { return {V::mul(a.lo, b.lo), V::mul(a.hi, b.hi)}; }
  static Reg div(Reg a, Reg b) { return {V::div(a.lo, b.lo), V::div(a.hi, b.hi)}; }
  static Reg max(Reg a, Reg b) { return {V::max(a.lo, b.lo), V::max(a.hi, b.hi)}; }
  static Reg min(Reg a, Reg b) { return {V::min(a.lo, b.lo), V::min(a.hi, b.hi)}; }
  static Reg fmadd(Reg a, Reg b, Reg c) {
    return {V::fmadd(a.lo, b.lo, c.lo), V::fmadd(a.hi, b.hi, c.hi)};
  }
  static Reg round(Reg v) { return {V::round(v.lo), V::round(v.hi)}; }
  static Reg pow2(Reg e) { return {V::pow2(e.lo), V::pow2(e.hi)}; }
  // The first tree level adds lane j and lane j + H (lo + hi), then V's tree.
  static float reduce_add(Reg v) { return V::reduce_add(V::add(v.lo, v.hi)); }
  static float reduce_max(Reg v) { return V::reduce_max(V::max(v.lo, v.hi)); }
};

// The 16-lane vector type of an ISA's V: V itself when it has 16 lanes, a
// Pair of it when it has 8.
template <class V>
using Lanes16 = std::conditional_t<V::kLanes == 16, V, Pair<V>>;

}  // namespace fptq::kernels::generic
