// Key/value cache of a decoder: for each layer, the (already RoPE-rotated)
// keys and the values of every position processed so far.
#pragma once

#include <cstdint>
#include <vector>

#include "model/config.h"

namespace fptq::model {

class KvCache {
 public:
  // Room for `capacity` positions (>= 1). Throws fptq::Error if capacity < 1.
  KvCache(const LlamaConfig& cfg, int64_t capacity);

  int64_t capacity() const { return capacity_; }
  int64_t n_past() const { return n_past_; }  // positions filled
  int64_t kv_dim() const { return kv_dim_; }
  void clear() { n_past_ = 0; }
  // Marks `n` more positions as filled (called by the forward pass after it
  // wrote them). FPTQ_CHECKs that they fit.
  void advance(int64_t n);

  // k/v of `layer` at position `pos`: [kv_dim] = [n_kv_head][head_dim].
  float* k(int64_t layer, int64_t pos) { return &k_[offset(layer, pos)]; }
  float* v(int64_t layer, int64_t pos) { return &v_[offset(layer, pos)]; }
  const float* k(int64_t layer, int64_t pos) const { return &k_[offset(layer, pos)]; }
  const float* v(int64_t layer, int64_t pos) const { return &v_[offset(layer, pos)]; }

 private:
  size_t offset(int64_t layer, int64_t pos) const {
    return size_t((layer * capacity_ + pos) * kv_dim_);
  }
  int64_t n_layer_, capacity_, kv_dim_;
  int64_t n_past_ = 0;
  std::vector<float> k_, v_;  // [n_layer][capacity][kv_dim]
};

}  // namespace fptq::model
