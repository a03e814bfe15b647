// Named observation points before every matmul of the forward pass.
//
// The forward pass calls Observer::on_matmul_input with the activation matrix
// that is about to be multiplied, so that calibration can collect statistics
// and emulated activation quantization can rewrite it in place. Matmuls that
// read the same input share one point: q/k/v read attn_qkv_in, gate/up read
// ffn_gate_up_in.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fptq::model {

enum class MatmulInput {
  attn_qkv_in,     // RMSNorm(x) entering attn_q, attn_k, attn_v    [rows][dim]
  attn_out_in,     // attention output entering attn_output         [rows][n_head*head_dim]
  ffn_gate_up_in,  // RMSNorm(h) entering ffn_gate, ffn_up          [rows][dim]
  ffn_down_in,     // silu(gate)·up entering ffn_down               [rows][ffn_dim]
  output_in,       // final RMSNorm(x) entering the output head     [rows][dim]
};
std::string_view matmul_input_name(MatmulInput kind);  // "attn_qkv_in", ...

struct ObservationPoint {
  int64_t layer = -1;  // block index; -1 for output_in
  MatmulInput kind = MatmulInput::attn_qkv_in;
  std::string_view name;  // "blk.<layer>.<kind>" or "output_in"; valid during the call
};

// Name of a point, as ObservationPoint::name spells it.
std::string observation_point_name(int64_t layer, MatmulInput kind);

class Observer {
 public:
  virtual ~Observer() = default;
  // x: [rows][cols] row-major f32, the input of the next matmul(s) at `p`;
  // rows are the tokens of the current batch (for output_in only the rows
  // whose logits were requested). The observer may read it and may modify it
  // in place; the matmuls then read the modified values. Called on the thread
  // that runs the forward pass, never concurrently for one forward.
  virtual void on_matmul_input(const ObservationPoint& p, float* x, int64_t rows, int64_t cols) = 0;
  // An observer that has just rounded x (the last on_matmul_input at `p`)
  // through an int8 quantizer, so that x[r][c] = float(q) · Δ_r for codes q
  // in -127..127, writes Δ_r into scales[0..rows) and returns true. The
  // emulate engine then multiplies the codes with the integer kernels' exact
  // group sums and float steps (it checks x against the codes and falls back
  // to plain F32 when they do not match). Default: false.
  virtual bool input_scales(const ObservationPoint& p, float* scales, int64_t rows) {
    (void)p, (void)scales, (void)rows;
    return false;
  }
  // The same for a quantizer with one Δ per `group` values of a row:
  // x[r][c] = float(q) · Δ[r][c / group]; writes Δ into scales ([rows][cols /
  // group], resized), sets group and returns true. Default: false.
  virtual bool input_group_scales(const ObservationPoint& p, int64_t rows, int64_t cols,
                                  std::vector<float>& scales, int64_t& group) {
    (void)p, (void)rows, (void)cols, (void)scales, (void)group;
    return false;
  }
};

}  // namespace fptq::model
