// How a quantized model's activations are quantized at run time: the
// `fptq.*` GGUF keys that `fptq quantize` writes and that the engine (integer
// path and exact emulation alike) reads. Weights carry their own precision in
// their tensor types (Q4_0 = int4 group-wise, Q8_0 = int8, F16/F32 = kept).
//
// Keys (n = block_count; <kind> = attn_qkv_in | attn_out_in | ffn_gate_up_in |
// ffn_down_in, see model/observer.h):
//   fptq.format_version        u32   1
//   fptq.tool_version          str   fptq version that wrote the file
//   fptq.scheme                str   "fptq", "w4a8-naive", "w8a8-smoothquant", ...
//   fptq.weight.method         str   "rtn" | "gptq"
//   fptq.weight.group_size     u32   requested int4 group (0 = per-channel)
//   fptq.weight.scale_rule     str   "q4_0" | "absmax7" | "search"
//   fptq.policy.v0, .v1        f32   layer-policy thresholds
//   fptq.calib.source          str   calibration text file name or "random"
//   fptq.calib.samples, .seqlen u32; fptq.calib.seed u64; fptq.calib.digest str (sha256 of the text)
//   fptq.act.<kind>.mode       str[n]  "fp" | "static" | "dynamic"
//   fptq.act.<kind>.scale      f32[n]  static Δ (0 unless mode == static)
//   fptq.act.<kind>.lae        bool[n] LAE folded into the norm before this input
//   fptq.act.<kind>.isolate    bool[n] static with outlier-token isolation: at run time
//                                      Δ_t = max(Δ, max|x_t|/127) (absent: all false)
//   fptq.act.<kind>.group      u32[n]  dynamic with one Δ per this many consecutive values
//                                      of a token instead of one per token (0: per token;
//                                      absent: all 0)
//   fptq.act.<kind>.bound      f32[n]  calibrated bound B before LAE (0 if unknown)
//   fptq.act.<kind>.bound_lae  f32[n]  bound after LAE (= bound without LAE)
//   fptq.act.output_in.mode    str     output head input ("fp" by default)
//   fptq.act.output_in.scale   f32
//   fptq.act.output_in.group   u32     as fptq.act.<kind>.group (absent: 0)
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "io/metadata.h"
#include "io/model_file.h"
#include "model/observer.h"

namespace fptq::model {

// Run-time activation quantizer of one matmul input.
enum class ActQuant {
  fp,       // left in floating point
  static_,  // per-tensor int8 with the calibrated scale Δ
  dynamic,  // per-token int8, Δ_t = max|x_t| / 127 at run time
};
std::string_view act_quant_name(ActQuant a);   // "fp", "static", "dynamic"
ActQuant parse_act_quant(std::string_view s);  // throws fptq::Error for other names

struct PointQuant {
  ActQuant mode = ActQuant::fp;
  float scale = 0;      // Δ for static
  bool lae = false;     // LAE folded into the preceding norm
  float bound = 0;      // calibrated B (before LAE)
  float bound_lae = 0;  // B after LAE
  bool isolate = false; // static only: rows Δ would saturate get Δ_t = max|x_t|/127
  int64_t group = 0;    // dynamic only: one Δ per `group` values of a token (0: per token)
};

constexpr int kBlockPoints = 4;  // attn_qkv_in, attn_out_in, ffn_gate_up_in, ffn_down_in
// The block's points in block order: index k of a layer's point array.
inline constexpr std::array<MatmulInput, kBlockPoints> kBlockInputs = {
    MatmulInput::attn_qkv_in, MatmulInput::attn_out_in, MatmulInput::ffn_gate_up_in,
    MatmulInput::ffn_down_in};
int block_point_index(MatmulInput kind);  // 0..3; FPTQ_CHECK-fails for output_in

struct QuantSpec {
  bool present = false;  // the file carries fptq.* keys
  int64_t format_version = 1;
  std::string tool_version;
  std::string scheme;
  std::string weight_method = "rtn";
  int64_t group_size = 128;
  std::string scale_rule = "q4_0";
  double v0 = 15, v1 = 150;
  std::string calib_source;
  int64_t calib_samples = 0, calib_seqlen = 0;
  uint64_t calib_seed = 0;
  std::string calib_digest;
  std::vector<std::array<PointQuant, kBlockPoints>> layers;  // [n_layer]
  PointQuant output;

  // The quantizer of one observation point (layer -1 / output_in for the head).
  const PointQuant& point(int64_t layer, MatmulInput kind) const;
  PointQuant& point(int64_t layer, MatmulInput kind);
};

// Reads the fptq.* keys of `file` (present = false when there are none).
// Throws fptq::Error naming the file and key when they are malformed (wrong
// type, array length != n_layer, unknown mode, non-positive static scale).
QuantSpec read_quant_spec(const io::ModelFile& file, int64_t n_layer);

// Adds the keys above to `md` (spec.layers.size() must be the block count).
void write_quant_spec(const QuantSpec& spec, io::Metadata& md);

}  // namespace fptq::model
