#include "model/weights.h"

#include <fmt/format.h>

#include <cstring>
#include <unordered_set>

#include "core/error.h"
#include "core/half.h"
#include "io/dequant.h"
#include "io/ggml_blocks.h"
#include "model/engine_plan.h"

namespace fptq::model {

std::string_view role_name(WeightRole role) {
  switch (role) {
    case WeightRole::token_embd: return "token_embd";
    case WeightRole::attn_norm: return "attn_norm";
    case WeightRole::attn_q: return "attn_q";
    case WeightRole::attn_k: return "attn_k";
    case WeightRole::attn_v: return "attn_v";
    case WeightRole::attn_q_bias: return "attn_q_bias";
    case WeightRole::attn_k_bias: return "attn_k_bias";
    case WeightRole::attn_v_bias: return "attn_v_bias";
    case WeightRole::attn_output: return "attn_output";
    case WeightRole::ffn_norm: return "ffn_norm";
    case WeightRole::ffn_gate: return "ffn_gate";
    case WeightRole::ffn_up: return "ffn_up";
    case WeightRole::ffn_down: return "ffn_down";
    case WeightRole::output_norm: return "output_norm";
    case WeightRole::output: return "output";
  }
  return "?";
}

bool WeightSpec::is_linear() const {
  switch (role) {
    case WeightRole::attn_q:
    case WeightRole::attn_k:
    case WeightRole::attn_v:
    case WeightRole::attn_output:
    case WeightRole::ffn_gate:
    case WeightRole::ffn_up:
    case WeightRole::ffn_down:
    case WeightRole::output: return true;
    default: return false;
  }
}

std::string block_tensor_name(int64_t layer, std::string_view base, std::string_view suffix) {
  return fmt::format("blk.{}.{}.{}", layer, base, suffix);
}

std::vector<std::string> unused_tensors(const LlamaConfig& cfg, const io::ModelFile& file) {
  std::unordered_set<std::string> read;
  for_each_weight(cfg, [&](const WeightSpec& w) { read.insert(w.name); });
  std::vector<std::string> unused;
  for (const io::TensorInfo& t : file.tensors)
    if (!read.contains(t.name)) unused.push_back(t.name);
  return unused;
}

void for_each_weight(const LlamaConfig& c, const std::function<void(const WeightSpec&)>& fn) {
  const int64_t q_dim = c.n_head * c.head_dim;
  fn({"token_embd.weight", WeightRole::token_embd, -1, {c.dim, c.n_vocab}});
  for (int64_t l = 0; l < c.n_layer; ++l) {
    auto blk = [&](std::string_view base, std::string_view suffix, WeightRole role,
                   std::vector<int64_t> ne) {
      fn({block_tensor_name(l, base, suffix), role, l, std::move(ne)});
    };
    blk("attn_norm", "weight", WeightRole::attn_norm, {c.dim});
    blk("attn_q", "weight", WeightRole::attn_q, {c.dim, q_dim});
    blk("attn_k", "weight", WeightRole::attn_k, {c.dim, c.kv_dim()});
    blk("attn_v", "weight", WeightRole::attn_v, {c.dim, c.kv_dim()});
    if (c.has_qkv_bias) {
      blk("attn_q", "bias", WeightRole::attn_q_bias, {q_dim});
      blk("attn_k", "bias", WeightRole::attn_k_bias, {c.kv_dim()});
      blk("attn_v", "bias", WeightRole::attn_v_bias, {c.kv_dim()});
    }
    blk("attn_output", "weight", WeightRole::attn_output, {q_dim, c.dim});
    blk("ffn_norm", "weight", WeightRole::ffn_norm, {c.dim});
    blk("ffn_gate", "weight", WeightRole::ffn_gate, {c.dim, c.ffn_dim});
    blk("ffn_up", "weight", WeightRole::ffn_up, {c.dim, c.ffn_dim});
    blk("ffn_down", "weight", WeightRole::ffn_down, {c.ffn_dim, c.dim});
  }
  fn({"output_norm.weight", WeightRole::output_norm, -1, {c.dim}});
  if (!c.tied_output) fn({"output.weight", WeightRole::output, -1, {c.dim, c.n_vocab}});
}

namespace {

// Where a tensor of a given role goes in Weights.
struct Slot {
  std::vector<float>* vec = nullptr;  // norms, embedding, biases
  Linear* linear = nullptr;
};

Slot slot_for(Weights& w, const WeightSpec& s) {
  if (s.layer < 0) {
    switch (s.role) {
      case WeightRole::token_embd: return {&w.token_embd, nullptr};
      case WeightRole::output_norm: return {&w.output_norm, nullptr};
      case WeightRole::output: return {nullptr, &w.output};
      default: break;
    }
  } else {
    LayerWeights& L = w.layers[size_t(s.layer)];
    switch (s.role) {
      case WeightRole::attn_norm: return {&L.attn_norm, nullptr};
      case WeightRole::attn_q: return {nullptr, &L.q};
      case WeightRole::attn_k: return {nullptr, &L.k};
      case WeightRole::attn_v: return {nullptr, &L.v};
      case WeightRole::attn_q_bias: return {&L.q.bias, nullptr};
      case WeightRole::attn_k_bias: return {&L.k.bias, nullptr};
      case WeightRole::attn_v_bias: return {&L.v.bias, nullptr};
      case WeightRole::attn_output: return {nullptr, &L.o};
      case WeightRole::ffn_norm: return {&L.ffn_norm, nullptr};
      case WeightRole::ffn_gate: return {nullptr, &L.gate};
      case WeightRole::ffn_up: return {nullptr, &L.up};
      case WeightRole::ffn_down: return {nullptr, &L.down};
      default: break;
    }
  }
  FPTQ_CHECK_MSG(false, "no slot for weight {}", s.name);
  return {};
}

// The codes of a Q4_0 or IQ4_NL (group: the int4 group over which every row's
// block scales are equal, as the W4A8 packing requires; IQ4_NL codes are
// their levels) or Q8_0 tensor (groups of 32) as f32, with one scale per row
// and group, for LinearKind::f32_grouped.
void load_grouped(const io::TensorInfo& t, int64_t group, Linear& L) {
  const int64_t k = t.ne[0], n = t.ne[1];
  const bool q4 = io::is_int4_type(t.type), nl = t.type == io::GgmlType::IQ4_NL;
  FPTQ_CHECK(q4 || t.type == io::GgmlType::Q8_0);
  if (!q4) group = 32;
  // GGUF rows are whole blocks (the reader checks it); `group` comes from the
  // engine plan, which takes it from the tensors' scales (a divisor of k).
  FPTQ_CHECK(k % 32 == 0 && group >= 32 && k % group == 0);
  const int64_t bpr = k / 32, n_groups = k / group;
  const size_t block_bytes = q4 ? sizeof(io::BlockQ4_0) : sizeof(io::BlockQ8_0);
  const auto* bytes = static_cast<const uint8_t*>(t.data);
  std::vector<float> codes(size_t(n * k));
  L.group = group;
  L.group_scales.assign(size_t(n * n_groups), 0.0f);
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t b = 0; b < bpr; ++b) {
      const uint8_t* blk = bytes + size_t(j * bpr + b) * block_bytes;
      uint16_t d;
      std::memcpy(&d, blk, 2);
      const float scale = fp16_to_f32(d);
      float* out = codes.data() + j * k + b * 32;
      for (int e = 0; e < 32; ++e) {
        const int nib = e < 16 ? (blk[2 + e] & 15) : (blk[2 + e - 16] >> 4);
        out[e] = nl ? float(io::kIq4NlValues[nib]) : q4 ? float(nib - 8) : float(int8_t(blk[2 + e]));
      }
      const int64_t G = b * 32 / group;
      if (b * 32 % group == 0) {
        L.group_scales[size_t(G * n + j)] = scale;
      } else if (scale != L.group_scales[size_t(G * n + j)]) {
        fail("{}: row {} group {} has differing Q4_0 scales (group {} is not uniform)", t.name, j,
             G, group);
      }
    }
  }
  L.w = kernels::pack_f32(codes.data(), n, k);
}

// Fills L (of kind `kind`, input group `group` for W4A8) from tensor t, W [n][k].
void load_linear(const io::TensorInfo& t, LinearKind kind, int64_t group, Linear& L) {
  const int64_t k = t.ne[0], n = t.ne[1];
  L.kind = kind;
  switch (kind) {
    case LinearKind::w4a8:
      L.w4 = kernels::pack_w4_from_q4_0(
          t.data, n, k, group, kernels::W4Scale::Float,
          t.type == io::GgmlType::IQ4_NL ? kernels::W4Grid::Nl : kernels::W4Grid::Uniform);
      return;
    case LinearKind::w8a8: L.w8 = kernels::pack_w8_from_q8_0(t.data, n, k); return;
    case LinearKind::f32_grouped: load_grouped(t, group, L); return;
    case LinearKind::f32: {
      const std::vector<float> values = io::dequantize_tensor(t);
      FPTQ_CHECK(int64_t(values.size()) == t.n_elements());
      L.w = kernels::pack_f32(values.data(), n, k);
      return;
    }
  }
}

}  // namespace

Weights load_weights(const io::ModelFile& file, const LlamaConfig& cfg, const EnginePlan& plan,
                     ThreadPool& pool) {
  Weights w;
  w.layers.resize(size_t(cfg.n_layer));
  std::vector<WeightSpec> specs;
  for_each_weight(cfg, [&](const WeightSpec& s) { specs.push_back(s); });

  // One task per tensor: each writes only its own slot.
  pool.parallel_for(int64_t(specs.size()), [&](int64_t i, int) {
    const WeightSpec& s = specs[size_t(i)];
    const io::TensorInfo& t = file.tensor(s.name);
    Slot slot = slot_for(w, s);
    if (slot.linear) {
      load_linear(t, plan.kind(s.name), plan.point(s.layer, input_of(s.role)).group, *slot.linear);
    } else {
      *slot.vec = io::dequantize_tensor(t);
      FPTQ_CHECK(int64_t(slot.vec->size()) == t.n_elements());
    }
  });
  if (cfg.tied_output) {
    load_linear(file.tensor("token_embd.weight"), plan.kind("output.weight"),
                plan.output.group, w.output);
  }
  return w;
}

}  // namespace fptq::model
