#include "model/engine_plan.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"
#include "kernels/dispatch.h"

namespace fptq::model {
namespace {

// A linear layer of the model and the tensor holding its weights.
struct LinearSource {
  std::string name;
  WeightRole role;
  int64_t layer;
  const io::TensorInfo* tensor;
};

std::vector<LinearSource> linear_sources(const io::ModelFile& file, const LlamaConfig& cfg) {
  std::vector<LinearSource> out;
  for_each_weight(cfg, [&](const WeightSpec& s) {
    if (s.is_linear()) out.push_back({s.name, s.role, s.layer, &file.tensor(s.name)});
  });
  if (cfg.tied_output) {
    out.push_back({"output.weight", WeightRole::output, -1, &file.tensor("token_embd.weight")});
  }
  return out;
}

// The integer kernel a tensor type maps to (f32 when none).
LinearKind int_kind(io::GgmlType t) {
  if (io::is_int4_type(t)) return LinearKind::w4a8;  // Q4_0, IQ4_NL
  if (t == io::GgmlType::Q8_0) return LinearKind::w8a8;
  return LinearKind::f32;
}

PointQuant& spec_point(QuantSpec& s, int64_t layer, MatmulInput kind) {
  return s.point(layer, kind);
}

}  // namespace

std::string_view run_mode_name(RunMode mode) {
  return mode == RunMode::integer ? "integer" : "emulate";
}

MatmulInput input_of(WeightRole role) {
  switch (role) {
    case WeightRole::attn_q:
    case WeightRole::attn_k:
    case WeightRole::attn_v: return MatmulInput::attn_qkv_in;
    case WeightRole::attn_output: return MatmulInput::attn_out_in;
    case WeightRole::ffn_gate:
    case WeightRole::ffn_up: return MatmulInput::ffn_gate_up_in;
    case WeightRole::ffn_down: return MatmulInput::ffn_down_in;
    case WeightRole::output: return MatmulInput::output_in;
    default: break;
  }
  FPTQ_CHECK_MSG(false, "{} is not a linear layer", role_name(role));
  return MatmulInput::output_in;
}

const PointEngine& EnginePlan::point(int64_t layer, MatmulInput kind) const {
  if (layer < 0) return output;
  return layers[size_t(layer)][size_t(block_point_index(kind))];
}

LinearKind EnginePlan::kind(const std::string& weight_name) const {
  const auto it = kinds.find(weight_name);
  FPTQ_CHECK_MSG(it != kinds.end(), "no engine plan for {}", weight_name);
  return it->second;
}

int64_t EnginePlan::count(LinearKind k) const {
  return std::count_if(kinds.begin(), kinds.end(), [&](const auto& e) { return e.second == k; });
}

std::string EnginePlan::describe() const {
  int64_t n_static = 0, n_dynamic = 0, n_fp = 0, n_grouped = 0, group = 0;
  auto tally = [&](const PointQuant& p) {
    (p.mode == ActQuant::static_ ? n_static : p.mode == ActQuant::dynamic ? n_dynamic : n_fp)++;
    if (p.group > 0) ++n_grouped, group = p.group;
  };
  for (const auto& l : act.layers) std::for_each(l.begin(), l.end(), tally);
  tally(act.output);
  const std::string isa = kernels::isa_name(kernels::active_isa());
  const std::string acts =
      fmt::format("activations ({}): {} static, {} dynamic{}, {} fp points",
                  act.present ? "fptq.* keys" : "from tensor types", n_static, n_dynamic,
                  n_grouped > 0 ? fmt::format(" ({} with one Δ per {} values)", n_grouped, group)
                                : std::string(),
                  n_fp);
  if (mode == RunMode::emulate) {
    return fmt::format(
        "emulate engine (ISA {}): {} linear layers F32 (weights dequantized), {} of them on "
        "weight codes with group scales (exact for fake-quantized input); {}",
        isa, count(LinearKind::f32) + count(LinearKind::f32_grouped),
        count(LinearKind::f32_grouped), acts);
  }
  return fmt::format("integer engine (ISA {}): linear layers {} W4A8, {} W8A8, {} F32; {}", isa,
                     count(LinearKind::w4a8), count(LinearKind::w8a8), count(LinearKind::f32),
                     acts);
}

EnginePlan plan_engine(const io::ModelFile& file, const LlamaConfig& cfg, RunMode mode) {
  EnginePlan plan;
  plan.mode = mode;
  const std::vector<LinearSource> sources = linear_sources(file, cfg);

  plan.act = read_quant_spec(file, cfg.n_layer);
  if (!plan.act.present) {  // plain file: dynamic wherever an integer kernel consumes
    plan.act.layers.assign(size_t(cfg.n_layer), {});
    for (const LinearSource& s : sources) {
      if (int_kind(s.tensor->type) != LinearKind::f32) {
        spec_point(plan.act, s.layer, input_of(s.role)).mode = ActQuant::dynamic;
      }
    }
  }

  // A quantized head (Q8_0 / Q4_0 output or tied token_embd) runs on the
  // integer kernels with dynamic per-token activations also where the file
  // keeps its input point fp: run in F32 it would stream the dequantized
  // vocabulary matrix (4 bytes per weight) on every decoded token. The spec
  // says so, so the emulation quantizes the head input the same way.
  for (const LinearSource& s : sources) {
    if (s.role == WeightRole::output && int_kind(s.tensor->type) != LinearKind::f32 &&
        plan.act.output.mode == ActQuant::fp) {
      plan.act.output.mode = ActQuant::dynamic;
    }
  }

  plan.layers.assign(size_t(cfg.n_layer), {});
  auto engine_point = [&](int64_t layer, MatmulInput kind) -> PointEngine& {
    return layer < 0 ? plan.output : plan.layers[size_t(layer)][size_t(block_point_index(kind))];
  };
  for (const LinearSource& s : sources) {
    const MatmulInput in = input_of(s.role);
    const PointQuant& q = plan.act.point(s.layer, in);
    PointEngine& p = engine_point(s.layer, in);
    const bool quantized = mode == RunMode::integer && q.mode != ActQuant::fp;
    p.quantized = quantized;
    p.act = q.mode != ActQuant::static_ ? (q.group > 0 ? kernels::ActQuant::dynamic_grouped(q.group)
                                                       : kernels::ActQuant::dynamic())
            : q.isolate                 ? kernels::ActQuant::fixed_isolated(q.scale)
                                        : kernels::ActQuant::fixed(q.scale);
    if (q.group > 0 && s.tensor->ne[0] % q.group != 0)
      fail("{}: activation group {} of its input does not divide its K = {}", s.name, q.group,
           s.tensor->ne[0]);
    LinearKind k = quantized ? int_kind(s.tensor->type) : LinearKind::f32;
    if (quantized && k == LinearKind::f32) p.float_consumers = true;
    // Emulate mode: the layers the integer engine would run on int8 kernels
    // keep their codes and group scales (exact emulation of their arithmetic).
    const bool emulated_int = mode == RunMode::emulate && q.mode != ActQuant::fp &&
                              int_kind(s.tensor->type) != LinearKind::f32;
    if (emulated_int) k = LinearKind::f32_grouped;
    plan.kinds[s.name] = k;
    if (k == LinearKind::w4a8 || (emulated_int && io::is_int4_type(s.tensor->type))) {
      const int64_t g =
          kernels::q4_0_uniform_group(s.tensor->data, s.tensor->ne[1], s.tensor->ne[0]);
      p.group = p.group == 0 ? g : std::min(p.group, g);
      if (q.group > 0 && q.group % p.group != 0)
        fail("{}: activation group {} is not a multiple of its weight group {}", s.name, q.group,
             p.group);
    }
  }
  return plan;
}

}  // namespace fptq::model
