// The quantization plan of a model: what happens to every observation point
// (activation quantizer, equalization folded into the norm, static scale)
// and to every tensor (output type, int4 group, fallbacks), decided from the
// calibration statistics and the options before any weight is touched.
//
// Activation points (fptq-method.md §2–4), per block: attn_qkv_in,
// attn_out_in, ffn_gate_up_in, ffn_down_in. For a point with channel maxima
// m_j and bound B = max_j m_j:
//   - the scheme's policy picks static / LAE+static / dynamic / fp
//     (scheme.h); --act-mode overrides (PolicyConfig::overrides) are matched
//     against the point name, e.g. "blk\.3\.ffn_down_in" or "ffn_down";
//   - a point whose consumer tensors are all kept in FP (--keep-fp) and that
//     no override names is left in FP too;
//   - a fold s (LAE: s_j = m_j / log2(2 + m_j); SmoothQuant: α) is applied
//     only to attn_qkv_in / ffn_gate_up_in, which have a norm to fold into;
//   - B' = max_j m_j / s_j (float, exact from the calibrated maxima; B' = B
//     without a fold) and, for static points, Δ = B' / 127.
// Tensors: norms F32 (carrying the folds); linear weights int4 group-wise as
// Q4_0, or IQ4_NL on the nl grid (+grid: planned Q4_0, the writer records
// the grid each tensor got), or int8 per channel as Q8_0 for w8a8, with
// explicit fallbacks when
// K does not allow the requested group (see TensorPlan::note); token_embd,
// output as QuantizeOptions say.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "io/ggml_types.h"
#include "io/model_file.h"
#include "model/config.h"
#include "model/observer.h"
#include "model/quant_spec.h"
#include "model/weights.h"
#include "quant/calib_stats.h"
#include "quant/gptq.h"
#include "quant/policy.h"
#include "quant/scheme.h"
#include "quant/weight_int4.h"

namespace fptq {
class ThreadPool;
}

namespace fptq::quant {

struct QuantizeOptions {
  Scheme scheme = Scheme::Fptq;
  PolicyConfig policy;  // v0, v1 and --act-mode overrides (matched on point names)
  Int4Config int4;      // group 32|64|128|256|0 (per-channel), scale rule
  GptqConfig gptq;      // damp, block, act_order (its int4 field is ignored: int4 above rules)
  float smooth_alpha = 0.5f;           // w8a8-smoothquant migration strength, [0, 1]
  std::vector<std::string> keep_fp;    // ECMAScript regexes over tensor names (regex_search)
  // --keep-as q8_0: regexes over linear weight names written as Q8_0
  // (per-row int8, W8A8 on the engine); a point whose consumers all match
  // (and that no --act-mode override names) is quantized per token
  // (dynamic) without a fold. --keep-fp wins over it.
  std::vector<std::string> keep_q8;
  // --act-clip: static Δ of the named points (e.g. "blk.3.attn_qkv_in")
  // instead of B'/127; only static points may be named. act_clip is the
  // percentile the scales came from, recorded as fptq.act.clip (0: none).
  std::map<std::string, float> static_scales;
  double act_clip = 0;
  // token_embd type: F32, F16, Q8_0 or Q4_0; default Q8_0 when the input's
  // embedding is quantized, else F16.
  std::optional<io::GgmlType> embd_type;
  // output.weight type (untied models only): F32, F16, Q8_0 or Q4_0; default
  // Q8_0 (llama.cpp uses Q6_K for its Q4_0 files; fptq writes no k-quants and
  // takes the nearest higher precision).
  std::optional<io::GgmlType> output_type;
  int64_t top_channels = 4;  // largest channels listed per point in the report
  // Outlier-token isolation (fptq-plus): static points take their ranges,
  // LAE factors and the policy's bound from the ordinary tokens
  // (ChannelStats::ordinary_max_abs) and quantize, at run time, the rows their
  // Δ would saturate per token (PointQuant::isolate).
  bool isolate_outliers = false;
  // LAE before per-token dynamic points that have a norm to fold into
  // (attn_qkv_in, ffn_gate_up_in): the massive channels are compressed as for
  // LAE+static, so they no longer set each token's Δ_t alone.
  bool lae_dynamic = false;
  // AWQ-style per-channel weight scales (quant/awq.h) folded into the norm
  // of attn_qkv_in / ffn_gate_up_in points that have no other fold.
  bool awq = false;
  // Per-group dynamic activations (fptq-plus): dynamic points quantize each
  // token with one Δ per act_group consecutive values (the int4 group) instead
  // of one per token, so a massive channel coarsens only its own group
  // (PointQuant::group). 0: per token. A point takes the largest of this and
  // its int4 consumers' groups; points whose width that does not divide stay
  // per token.
  int64_t act_group = 0;
};

// The default options of a scheme: fptq-plus = group 32, weighted scale
// search, AWQ scales, outlier-token isolation for static points, and the policy re-tuned
// for it (v0 = v1 = 0: every point per-token dynamic, the most accurate
// choice measured on SmolLM2 and Qwen2.5-Coder; set --v0/--v1 for static
// points); every other scheme = the defaults above (group 128, q4_0 rule, no
// isolation, v0 = 15, v1 = 150).
QuantizeOptions scheme_options(Scheme s);

// A recipe string: a scheme name followed by passes switched on or off, each
// "+PASS" or "-PASS": isolate (outlier-token isolation), awq (searched
// per-channel weight scales folded into the norms), laedyn (LAE before
// dynamic points), actgroup (per-group dynamic activations, one Δ per 32
// values of a token, or per int4 group where that is larger), dynamic (the all-dynamic policy; -dynamic: the paper's
// v0 = 15, v1 = 150), weighted / search /
// q4_0 (int4 scale rule), g32 / g64 / g128 / g256 (int4 group). E.g.
// "fptq+isolate" (the paper plus one pass), "fptq-plus-isolate" (the recipe
// without it). Throws fptq::Error naming the bad part.
QuantizeOptions recipe_options(const std::string& recipe);

// One line naming the scheme and the state of every pass, written as
// fptq.recipe and shown by `fptq info`, e.g. "fptq-plus: int4 g32, scale rule
// weighted, outlier-token isolation on, GPTQ off".
std::string recipe_summary(const QuantizeOptions& o);

// Throws fptq::Error when an option is out of range (group, thresholds, α,
// regexes, tensor types).
void validate_options(const QuantizeOptions& opts);

struct PointPlan {
  std::string name;  // "blk.3.attn_qkv_in"
  int64_t layer = 0;
  model::MatmulInput kind = model::MatmulInput::attn_qkv_in;
  float bound = 0;                                  // B
  std::vector<std::pair<int64_t, float>> top;       // the largest channels (index, m_j)
  ActMode strategy = ActMode::Static;               // LaeStatic = LAE folded + static
  std::string reason;                               // one line: why
  Equalization fold_kind = Equalization::None;      // what `fold` is
  std::vector<float> fold;                          // s_j: [channels], empty = none
  float bound_after = 0;                            // B' (= B without a fold)
  float scale = 0;                                  // static Δ, 0 unless static
  model::ActQuant run_mode() const;                 // what the engine does at run time
};

struct TensorPlan {
  std::string name;  // GGUF name, as in the input
  std::optional<model::WeightRole> role;  // nullopt: a tensor the model does not read (copied)
  int64_t layer = -1;
  int64_t n = 1, k = 1;  // rows, row length (ne[0])
  io::GgmlType type = io::GgmlType::F32;  // output type
  int64_t group = 0;     // int4 group along K for Q4_0 / IQ4_NL (k for per-channel), 0 otherwise
  bool kept_fp = false;  // --keep-fp matched
  bool kept_q8 = false;  // --keep-as q8_0 pattern matched (and not --keep-fp)
  bool fallback = false; // the requested format could not be used (see note)
  std::string point;     // the observation point feeding it ("" for none)
  std::string note;      // why the type differs from the scheme's default ("" when it does not)
  // Weighted scale rule: importance per input channel, E[x'_j²] of the
  // point's (folded) input over the calibration tokens; [k] or empty.
  std::vector<float> importance;
};

struct QuantPlan {
  QuantizeOptions options;
  model::LlamaConfig config;
  std::vector<PointPlan> points;    // [n_layer * 4], forward order
  std::vector<TensorPlan> tensors;  // input file order
  model::QuantSpec spec;            // fptq.* keys (tool version and provenance filled)

  const PointPlan* find_point(const std::string& name) const;
  // Counts of points by strategy name ("static", "lae_static", "dynamic", "fp").
  std::map<std::string, int64_t> strategy_counts() const;
};

// The plan for `src` under `opts` with calibration statistics `stats`.
// Throws fptq::Error on bad options, stats that do not match the model
// (missing points, other dimensions), or an input that already carries
// fptq.* keys.
// ctx.pool runs the AWQ search's rows in parallel (the plan is the same
// whatever the thread count); ctx.progress(done, total) is called after each
// block's points are planned (the AWQ search makes that take seconds per
// block on 0.5B models).
struct PlanContext {
  ThreadPool* pool = nullptr;
  std::function<void(int64_t done, int64_t total)> progress;
};
QuantPlan plan_quantization(const io::ModelFile& src, const CalibStatsSet& stats,
                            const QuantizeOptions& opts, const PlanContext& ctx = {});

// fptq's version string written into fptq.tool_version.
const char* tool_version();

}  // namespace fptq::quant
