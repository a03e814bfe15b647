#include "model/observer.h"

#include <fmt/format.h>

namespace fptq::model {

std::string_view matmul_input_name(MatmulInput kind) {
  switch (kind) {
    case MatmulInput::attn_qkv_in: return "attn_qkv_in";
    case MatmulInput::attn_out_in: return "attn_out_in";
    case MatmulInput::ffn_gate_up_in: return "ffn_gate_up_in";
    case MatmulInput::ffn_down_in: return "ffn_down_in";
    case MatmulInput::output_in: return "output_in";
  }
  return "?";
}

std::string observation_point_name(int64_t layer, MatmulInput kind) {
  if (layer < 0) return std::string(matmul_input_name(kind));
  return fmt::format("blk.{}.{}", layer, matmul_input_name(kind));
}

}  // namespace fptq::model
