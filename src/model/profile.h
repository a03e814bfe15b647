// Time per operation class of the forward pass (fptq bench --profile).
//
// A ProfileScope makes an OpProfile the calling thread's active profile; the
// engine wraps each operation in an OpTimer, which reads the clock only when
// a profile is active (off: one thread-local load and a branch per
// operation). Operations run on the calling thread (parallel loops block), so
// the times are wall times of whole operations, summing to the forward pass
// minus loop overhead.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string_view>

namespace fptq::model {

enum class OpClass {
  w4a8,              // W4A8 matmuls (not the head)
  w8a8_fp,           // W8A8 and F32 matmuls (not the head)
  quant_dynamic,     // per-token int8 quantization (fused with RMSNorm / SiLU·up), group sums
  quant_static,      // static per-tensor int8 quantization (fused likewise), group sums
  attention,         // RoPE, scores, softmax, P·V
  norm_elementwise,  // embedding lookup, RMSNorm and SiLU·up in float, residual adds
  head,              // the output matmul (logits)
  sampling,          // choosing the next token (Sampler / argmax)
};
inline constexpr int kOpClasses = 8;
std::string_view op_class_name(OpClass c);  // "W4A8 matmul", ...
std::string_view op_class_key(OpClass c);   // "w4a8", ... (JSON keys)

struct OpProfile {
  std::array<double, kOpClasses> seconds{};
  std::array<int64_t, kOpClasses> calls{};
  void add(OpClass c, double s) {
    seconds[size_t(c)] += s;
    ++calls[size_t(c)];
  }
  double total() const;
  void clear() { *this = OpProfile{}; }
};

// The calling thread's active profile (nullptr when profiling is off).
OpProfile* active_profile();

// Makes `p` the calling thread's active profile for the scope (nullptr: off).
class ProfileScope {
 public:
  explicit ProfileScope(OpProfile* p);
  ~ProfileScope();
  ProfileScope(const ProfileScope&) = delete;
  ProfileScope& operator=(const ProfileScope&) = delete;

 private:
  OpProfile* prev_;
};

// Adds the lifetime of the timer to class `c` of the active profile, if any.
class OpTimer {
 public:
  explicit OpTimer(OpClass c) : p_(active_profile()), c_(c) {
    if (p_) t0_ = std::chrono::steady_clock::now();
  }
  ~OpTimer() {
    if (p_) p_->add(c_, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count());
  }
  OpTimer(const OpTimer&) = delete;
  OpTimer& operator=(const OpTimer&) = delete;

 private:
  OpProfile* p_;
  OpClass c_;
  std::chrono::steady_clock::time_point t0_{};
};

}  // namespace fptq::model
