#include "quant/plan.h"

#include "quant/awq.h"
#include "quant/stream_state.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <regex>

#include "core/error.h"
#include "io/dequant.h"
#include "model/engine_plan.h"
#include "quant/act_quant.h"
#include "quant/calibrate.h"
#include "quant/fold.h"
#include "quant/lae.h"
#include "quant/smoothquant.h"

#ifndef FPTQ_VERSION
#define FPTQ_VERSION "0.0.0"
#endif

namespace fptq::quant {
namespace {

using model::MatmulInput;
using model::WeightRole;

bool has_norm(MatmulInput k) {
  return k == MatmulInput::attn_qkv_in || k == MatmulInput::ffn_gate_up_in;
}

bool is_quantized_type(io::GgmlType t) {
  return t != io::GgmlType::F32 && t != io::GgmlType::F16 && t != io::GgmlType::BF16 &&
         t != io::GgmlType::F64;
}

bool allowed_side_type(io::GgmlType t) {
  return t == io::GgmlType::F32 || t == io::GgmlType::F16 || t == io::GgmlType::Q8_0 ||
         t == io::GgmlType::Q4_0;
}

std::vector<std::regex> compile_keep_fp(const std::vector<std::string>& patterns,
                                        const char* opt = "--keep-fp") {
  std::vector<std::regex> out;
  for (const std::string& p : patterns) {
    if (p.empty()) fail("{}: empty regex", opt);
    try {
      out.emplace_back(p, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      fail("{} '{}': invalid regex: {}", opt, p, e.what());
    }
  }
  return out;
}

// A side tensor (embedding / output head) of row length k in type `want`:
// block types need 32 | k, otherwise F16 with a note.
void side_tensor_type(TensorPlan& t, io::GgmlType want, const std::string& why) {
  t.type = want;
  t.note = why;
  if ((want == io::GgmlType::Q8_0 || want == io::GgmlType::Q4_0) && t.k % 32 != 0) {
    t.type = io::GgmlType::F16;
    t.fallback = true;
    t.note = fmt::format("{} needs a row length divisible by 32, K={}: F16", io::type_info(want).name,
                         t.k);
  }
  if (want == io::GgmlType::Q4_0 && t.type == want) t.group = 32;
}

// Type of one linear weight under the scheme, with explicit fallbacks.
void linear_type(TensorPlan& t, const QuantizeOptions& o, const SchemeTraits& tr) {
  if (t.kept_fp) {
    t.type = io::GgmlType::F16;  // F32 when a value exceeds fp16 (decided when writing)
    t.note = "--keep-fp";
    return;
  }
  if (t.kept_q8 && t.k % 32 == 0) {
    t.type = io::GgmlType::Q8_0;  // per-row int8, as the w8a8 scheme writes it
    t.note = "--keep-as q8_0";
    return;
  }
  if (t.kept_q8) {
    t.type = io::GgmlType::F16;
    t.fallback = true;
    t.note = fmt::format("--keep-as q8_0: K={} is not a multiple of 32 (Q8_0 block): kept F16", t.k);
    return;
  }
  if (tr.weights == WeightFormat::Int8) {
    if (t.k % 32 == 0) {
      t.type = io::GgmlType::Q8_0;
    } else {
      t.type = io::GgmlType::F16;
      t.fallback = true;
      t.note = fmt::format("K={} is not a multiple of 32 (Q8_0 block): kept F16", t.k);
    }
    return;
  }
  const int64_t g = o.int4.group;
  const io::GgmlType int4 = o.int4.grid == Int4Grid::Nl ? io::GgmlType::IQ4_NL : io::GgmlType::Q4_0;
  if (g == 0) {
    if (t.k % 32 == 0) {
      t.type = int4;
      t.group = t.k;
    } else {
      t.type = io::GgmlType::F16;
      t.fallback = true;
      t.note = fmt::format("per-channel int4 as Q4_0 needs K divisible by 32, K={}: kept F16", t.k);
    }
    return;
  }
  if (t.k % g == 0) {
    t.type = int4;
    t.group = g;
    return;
  }
  for (int64_t cand : {256, 128, 64, 32}) {
    if (cand <= g && t.k % cand == 0) {
      t.type = int4;
      t.group = cand;
      t.fallback = true;
      t.note = fmt::format("K={} is not divisible by group {}: group {}", t.k, g, cand);
      return;
    }
  }
  // No multiple of 32 divides K, so neither Q4_0 nor Q8_0 blocks fit a row.
  t.type = io::GgmlType::F16;
  t.fallback = true;
  t.note = fmt::format("K={} is not a multiple of 32 (Q4_0/Q8_0 blocks): kept F16", t.k);
}

}  // namespace

QuantizeOptions scheme_options(Scheme s) {
  QuantizeOptions o;
  o.scheme = s;
  if (s == Scheme::FptqPlus || s == Scheme::FptqPlusGptq) {
    o.int4.group = 32;
    o.int4.rule = ScaleRule::Weighted;
    // IQ4_NL levels (fptq-plus-gptq: the uniform grid unless +nl).
    if (s == Scheme::FptqPlus) o.int4.grid = Int4Grid::Nl;
    o.isolate_outliers = true;
    o.awq = true;
    o.act_group = 32;
    o.policy.v0 = 0.0f;
    o.policy.v1 = 0.0f;
  }
  return o;
}

QuantizeOptions recipe_options(const std::string& recipe) {
  // The longest scheme name that prefixes the recipe (fptq-plus before fptq).
  std::string_view best;
  Scheme scheme = Scheme::Fptq;
  for (Scheme s : all_schemes()) {
    const std::string_view n = scheme_name(s);
    if (recipe.compare(0, n.size(), n) == 0 && n.size() > best.size() &&
        (recipe.size() == n.size() || recipe[n.size()] == '+' || recipe[n.size()] == '-')) {
      best = n;
      scheme = s;
    }
  }
  if (best.empty()) {
    parse_scheme(recipe);  // throws listing the schemes
    fail("recipe '{}': no scheme", recipe);
  }
  QuantizeOptions o = scheme_options(scheme);
  size_t i = best.size();
  while (i < recipe.size()) {
    const bool on = recipe[i] == '+';
    size_t j = recipe.find_first_of("+-", i + 1);
    if (j == std::string::npos) j = recipe.size();
    const std::string pass = recipe.substr(i + 1, j - i - 1);
    if (pass == "isolate") {
      o.isolate_outliers = on;
    } else if (pass == "awq") {
      o.awq = on;
    } else if (pass == "laedyn") {
      o.lae_dynamic = on;
    } else if (pass == "actgroup") {
      o.act_group = on ? 32 : 0;
    } else if (pass == "dynamic") {
      const PolicyConfig paper;
      o.policy.v0 = on ? 0.0f : paper.v0;
      o.policy.v1 = on ? 0.0f : paper.v1;
    } else if (pass == "nl" || pass == "grid") {
      o.int4.grid = !on ? Int4Grid::Uniform : pass == "nl" ? Int4Grid::Nl : Int4Grid::Auto;
    } else if (pass == "weighted" || pass == "search" || pass == "q4_0") {
      o.int4.rule = on ? parse_scale_rule(pass) : ScaleRule::Q4_0;
    } else if (pass == "g32" || pass == "g64" || pass == "g128" || pass == "g256") {
      if (!on) fail("recipe '{}': a group size can only be set (+{})", recipe, pass);
      o.int4.group = std::stoll(pass.substr(1));
    } else {
      fail("recipe '{}': unknown pass '{}' (isolate, awq, laedyn, actgroup, dynamic, weighted, "
           "search, q4_0, nl, grid, g32, g64, g128, g256)",
           recipe, pass);
    }
    i = j;
  }
  return o;
}

std::string recipe_summary(const QuantizeOptions& o) {
  const SchemeTraits tr = scheme_traits(o.scheme);
  std::string s = std::string(scheme_name(o.scheme)) + ": ";
  if (tr.weights == WeightFormat::Int8)
    s += "int8 per-channel weights";
  else
    s += fmt::format("int4 g{}, scale rule {}", o.int4.group == 0 ? std::string("-channel")
                                                                  : std::to_string(o.int4.group),
                     scale_rule_name(o.int4.rule));
  if (tr.weights != WeightFormat::Int8 && o.int4.grid == Int4Grid::Nl) s += ", IQ4_NL levels";
  if (tr.weights != WeightFormat::Int8 && o.int4.grid == Int4Grid::Auto)
    s += ", levels per tensor (Q4_0 or IQ4_NL, the lower weighted error)";
  s += fmt::format(", policy v0 {:g} v1 {:g}{}", o.policy.v0, o.policy.v1,
                   o.policy.v0 == 0 && o.policy.v1 == 0 ? " (all dynamic)" : "");
  if (o.lae_dynamic) s += ", LAE before dynamic points";
  if (o.awq) s += ", AWQ scales";
  if (o.act_group > 0) s += fmt::format(", dynamic activations per {} values", o.act_group);
  s += fmt::format(", outlier-token isolation {}, GPTQ {}", o.isolate_outliers ? "on" : "off",
                   tr.gptq ? (o.gptq.act_order ? "on (act-order)" : "on") : "off");
  if (o.act_clip > 0) s += fmt::format(", act-clip p{:g}", o.act_clip);
  return s;
}

const char* tool_version() { return "fptq " FPTQ_VERSION; }

model::ActQuant PointPlan::run_mode() const {
  switch (strategy) {
    case ActMode::Static:
    case ActMode::LaeStatic: return model::ActQuant::static_;
    case ActMode::Dynamic: return model::ActQuant::dynamic;
    case ActMode::Fp: return model::ActQuant::fp;
  }
  return model::ActQuant::fp;
}

const PointPlan* QuantPlan::find_point(const std::string& name) const {
  for (const auto& p : points)
    if (p.name == name) return &p;
  return nullptr;
}

std::map<std::string, int64_t> QuantPlan::strategy_counts() const {
  std::map<std::string, int64_t> c;
  for (ActMode m : {ActMode::Static, ActMode::LaeStatic, ActMode::Dynamic, ActMode::Fp})
    c[std::string(act_mode_name(m))] = 0;
  for (const auto& p : points) ++c[std::string(act_mode_name(p.strategy))];
  return c;
}

void validate_options(const QuantizeOptions& o) {
  const int64_t g = o.int4.group;
  if (g != 0 && g != 32 && g != 64 && g != 128 && g != 256)
    fail("--group-size {}: expected 32, 64, 128, 256 or 0 (per-channel)", g);
  LayerPolicy check(o.policy);  // validates v0/v1 and the --act-mode regexes
  if (!(o.smooth_alpha >= 0 && o.smooth_alpha <= 1))
    fail("--alpha {}: SmoothQuant α must be in [0, 1]", o.smooth_alpha);
  if (!(o.gptq.damp >= 0 && std::isfinite(o.gptq.damp)))
    fail("--gptq-damp {}: must be a finite value >= 0", o.gptq.damp);
  if (o.gptq.block <= 0) fail("--gptq-block {}: must be positive", o.gptq.block);
  compile_keep_fp(o.keep_fp);
  compile_keep_fp(o.keep_q8, "--keep-as q8_0 pattern");
  if (o.act_clip != 0 && !(o.act_clip > 0 && o.act_clip <= 100))
    fail("--act-clip {}: the percentile must be in (0, 100]", o.act_clip);
  for (const auto& [name, d] : o.static_scales)
    if (!(std::isfinite(d) && d > 0)) fail("--act-clip: static scale {} of '{}' is not positive", d, name);
  if (o.embd_type && !allowed_side_type(*o.embd_type))
    fail("--embd-type {}: expected f32, f16, q8_0 or q4_0", io::type_info(*o.embd_type).name);
  if (o.output_type && !allowed_side_type(*o.output_type))
    fail("--output-type {}: expected f32, f16, q8_0 or q4_0", io::type_info(*o.output_type).name);
  if (o.top_channels < 0) fail("top channels {} < 0", o.top_channels);
}

QuantPlan plan_quantization(const io::ModelFile& src, const CalibStatsSet& stats,
                            const QuantizeOptions& opts, const PlanContext& ctx) {
  validate_options(opts);
  if (src.metadata.contains("fptq.format_version"))
    fail("{}: already quantized by fptq (it has fptq.* keys); quantize the original model",
         src.path);
  QuantPlan plan;
  plan.options = opts;
  plan.config = model::read_config(src);
  const model::LlamaConfig& cfg = plan.config;
  check_stats_match(stats, cfg, "calibration stats");
  const SchemeTraits tr = scheme_traits(opts.scheme);
  const auto keep = compile_keep_fp(opts.keep_fp);
  const auto keep8 = compile_keep_fp(opts.keep_q8);
  auto matches = [](const std::vector<std::regex>& res, const std::string& name) {
    for (const auto& re : res)
      if (std::regex_search(name, re)) return true;
    return false;
  };
  auto kept = [&](const std::string& name) { return matches(keep, name); };

  // Tensors first: the activation policy needs to know which are kept in FP.
  std::map<std::string, model::WeightSpec> specs;
  model::for_each_weight(cfg, [&](const model::WeightSpec& s) { specs.emplace(s.name, s); });
  for (const io::TensorInfo& ti : src.tensors) {
    TensorPlan t;
    t.name = ti.name;
    t.k = ti.row_elems();
    t.n = ti.rows();
    auto it = specs.find(ti.name);
    if (it == specs.end()) {
      t.type = ti.type;
      t.note = "not read by the model: copied unchanged";
      plan.tensors.push_back(std::move(t));
      continue;
    }
    const model::WeightSpec& s = it->second;
    t.role = s.role;
    t.layer = s.layer;
    if (s.is_linear() && s.role != WeightRole::output) {
      t.point = model::observation_point_name(s.layer, model::input_of(s.role));
      t.kept_fp = kept(t.name);
      t.kept_q8 = !t.kept_fp && matches(keep8, t.name);
      linear_type(t, opts, tr);
    } else if (s.role == WeightRole::token_embd) {
      if (opts.embd_type)
        side_tensor_type(t, *opts.embd_type, "--embd-type");
      else if (is_quantized_type(ti.type))
        side_tensor_type(t, io::GgmlType::Q8_0, "embedding: Q8_0 (the input's was quantized)");
      else
        side_tensor_type(t, io::GgmlType::F16, "embedding: F16 (the input's was float)");
    } else if (s.role == WeightRole::output) {
      t.kept_fp = kept(t.name);
      if (t.kept_fp)
        side_tensor_type(t, io::GgmlType::F16, "--keep-fp");
      else if (opts.output_type)
        side_tensor_type(t, *opts.output_type, "--output-type");
      else
        side_tensor_type(t, io::GgmlType::Q8_0,
                         "output head: Q8_0 (llama.cpp would use Q6_K; fptq writes no k-quants)");
    } else {
      t.type = io::GgmlType::F32;  // norms and biases
    }
    plan.tensors.push_back(std::move(t));
  }

  // Activation points.
  LayerPolicy fptq_policy(opts.policy);
  PolicyConfig only_overrides = opts.policy;
  only_overrides.v0 = only_overrides.v1 = FLT_MAX;
  LayerPolicy override_policy(only_overrides);
  plan.spec.layers.assign(size_t(cfg.n_layer), {});
  for (int64_t l = 0; l < cfg.n_layer; ++l) {
    for (MatmulInput kind : model::kBlockInputs) {
      PointPlan p;
      p.name = model::observation_point_name(l, kind);
      p.layer = l;
      p.kind = kind;
      const ChannelStats& st = stats.points.at(p.name);
      if (opts.isolate_outliers && !st.has_ordinary())
        fail("calibration stats: point '{}' has no outlier-token statistics (a stats file "
             "written before isolation existed): calibrate again, or turn isolation off",
             p.name);
      const bool iso = opts.isolate_outliers;
      // With isolation the ordinary tokens set the bound, the fold and Δ.
      p.bound = iso ? st.ordinary_bound() : st.bound();
      for (int64_t j : st.top_channels(opts.top_channels))
        p.top.emplace_back(j, st.max_abs()[size_t(j)]);

      // Consumers all kept in FP / all kept as Q8_0?
      bool any = false, all_kept = true, all_q8 = true, all_q8_f16 = true;
      for (const auto& t : plan.tensors) {
        if (t.point != p.name) continue;
        any = true;
        all_kept = all_kept && t.kept_fp;
        all_q8 = all_q8 && t.kept_q8 && t.type == io::GgmlType::Q8_0;
        all_q8_f16 = all_q8_f16 && t.kept_q8 && t.type == io::GgmlType::F16;  // Q8_0 did not fit
      }
      PolicyDecision d;
      if (tr.act == ActPolicy::Fptq) {
        d = fptq_policy.decide(p.name, p.bound, has_norm(kind));
      } else {
        d = override_policy.decide(p.name, p.bound, false);
        if (!d.overridden) {
          switch (tr.act) {
            case ActPolicy::AllStatic: d.reason = "scheme: static everywhere"; break;
            case ActPolicy::AllDynamic:
              d.mode = ActMode::Dynamic;
              d.reason = "scheme: dynamic everywhere";
              break;
            case ActPolicy::AllFp:
              d.mode = ActMode::Fp;
              d.reason = "scheme: activations in FP";
              break;
            case ActPolicy::Fptq: break;
          }
        }
      }
      if (any && all_kept && !d.overridden) {
        d.mode = ActMode::Fp;
        d.reason = "every consumer kept in FP (--keep-fp)";
      } else if (any && all_q8 && !d.overridden && d.mode != ActMode::Fp) {
        d.mode = ActMode::Dynamic;
        d.reason = "every consumer kept as Q8_0 (--keep-as q8_0): per-token int8";
      } else if (any && all_q8_f16 && !d.overridden) {
        d.mode = ActMode::Fp;
        d.reason = "every consumer kept (--keep-as q8_0) in F16 (K not a multiple of 32)";
      }
      p.strategy = d.mode;
      p.reason = d.reason;

      const std::vector<float>& m = iso ? st.ordinary_max_abs() : st.max_abs();
      if (iso && st.outlier_tokens() > 0)
        p.reason += fmt::format("; {} outlier token(s) isolated (B with them {:.4g})",
                                st.outlier_tokens(), st.bound());
      if (p.strategy == ActMode::LaeStatic ||
          (opts.lae_dynamic && p.strategy == ActMode::Dynamic && has_norm(kind) &&
           tr.eq == Equalization::Lae)) {
        p.fold_kind = Equalization::Lae;
        p.fold = lae_scales(m);
      } else if (tr.eq == Equalization::SmoothQuant && has_norm(kind) && p.strategy != ActMode::Fp) {
        std::vector<float> wmax(size_t(st.channels()), 0.0f);
        for (const auto& t : plan.tensors) {
          if (t.point != p.name) continue;
          const std::vector<float> w = io::dequantize_tensor(src.tensor(t.name));
          const std::vector<float> c = weight_column_max(w, size_t(t.k));
          for (size_t j = 0; j < wmax.size(); ++j) wmax[j] = std::max(wmax[j], c[j]);
        }
        p.fold_kind = Equalization::SmoothQuant;
        p.fold = smoothquant_scales(m, wmax, opts.smooth_alpha);
        p.reason += fmt::format("; SmoothQuant α={:g} folded into the norm", opts.smooth_alpha);
      } else if (opts.awq && has_norm(kind) && p.strategy != ActMode::Fp &&
                 tr.weights == WeightFormat::Int4 && tr.eq == Equalization::Lae) {
        std::vector<std::vector<float>> ws;
        std::vector<int64_t> rows;
        std::vector<std::string> names;
        std::vector<AwqConsumer> cons;
        int64_t group = 0;
        for (const auto& t : plan.tensors) {
          if (t.point != p.name || !io::is_int4_type(t.type)) continue;
          const io::TensorInfo& ti = src.tensor(t.name);
          ws.push_back(io::dequantize_tensor(ti));
          // A mapped GGUF: drop the pages just read, so planning a streamed
          // model does not make the whole file resident.
          if (src.format == "gguf") release_mapped_pages(ti.data, ti.nbytes);
          rows.push_back(t.n);
          names.push_back(t.name);
          group = t.group;
        }
        // Spans into ws once it has stopped growing.
        for (size_t c = 0; c < ws.size(); ++c) cons.push_back({ws[c], rows[c], names[c]});
        if (!cons.empty()) {
          const std::vector<double> m2 = st.mean_sq();
          const std::vector<float> msq(m2.begin(), m2.end());
          const AwqResult ar = awq_search(
              cons, st.channels(), msq,
              Int4Config{group == st.channels() && opts.int4.group == 0 ? 0 : group, opts.int4.rule,
                         {}, opts.int4.grid},
              8, ctx.pool);
          if (ar.alpha > 0) {
            p.fold_kind = Equalization::Awq;
            p.fold = ar.scales;
            p.reason += fmt::format("; AWQ α={:g} folded into the norm (output error {:.3g} -> {:.3g})",
                                    ar.alpha, ar.error_unscaled, ar.error);
          } else {
            p.reason += "; AWQ: no scale lowers the output error";
          }
        }
      }
      p.bound_after = p.bound;
      if (!p.fold.empty()) {
        const std::vector<float> after = divide_channels(m, p.fold);
        p.bound_after = after.empty() ? 0.0f : *std::max_element(after.begin(), after.end());
      }
      if (p.strategy == ActMode::Static || p.strategy == ActMode::LaeStatic)
        p.scale = static_act_scale(p.bound_after);
      if (const auto it = opts.static_scales.find(p.name); it != opts.static_scales.end()) {
        if (p.scale == 0)
          fail("--act-clip: point '{}' is not static ({}), it has no static scale to set", p.name,
               act_mode_name(p.strategy));
        p.scale = it->second;
        p.reason += fmt::format("; Δ from p{:g} of |x'| (--act-clip)", opts.act_clip);
      }

      model::PointQuant& q = plan.spec.point(l, kind);
      q.mode = p.run_mode();
      q.scale = p.scale;
      q.lae = p.fold_kind == Equalization::Lae;
      q.isolate = iso && q.mode == model::ActQuant::static_;
      if (q.mode == model::ActQuant::dynamic && opts.act_group > 0) {
        // The activation group must hold whole weight groups of every int4
        // consumer (Q8_0 blocks are 32 wide) and divide the width.
        const int64_t width = st.channels();
        int64_t ag = opts.act_group;
        for (const auto& t : plan.tensors)
          if (t.point == p.name) ag = std::max(ag, t.group > 0 ? t.group : int64_t(32));
        if (width % ag == 0 && ag < width && ag % opts.act_group == 0) {
          q.group = ag;
          p.reason += fmt::format("; one Δ per {} values of a token", ag);
        } else {
          p.reason += fmt::format("; per-token Δ (activation group {} does not divide {})", ag,
                                  width);
        }
      }
      q.bound = p.bound;
      q.bound_lae = p.bound_after;
      plan.points.push_back(std::move(p));
    }
    if (ctx.progress) ctx.progress(l + 1, cfg.n_layer);
  }
  for (const auto& [name, d] : opts.static_scales)
    if (!plan.find_point(name)) fail("--act-clip: unknown observation point '{}'", name);
  // Weighted int4 scales: importance E[x'_j²] of each Q4_0 linear weight's
  // input (x' = x / s with the point's fold).
  if (opts.int4.rule == ScaleRule::Weighted) {
    for (TensorPlan& t : plan.tensors) {
      if (!io::is_int4_type(t.type) || t.point.empty()) continue;
      const ChannelStats& st = stats.points.at(t.point);
      const PointPlan* pp = plan.find_point(t.point);
      FPTQ_CHECK(pp != nullptr && st.channels() == t.k);
      const std::vector<double> m2 = st.mean_sq();
      t.importance.resize(size_t(t.k));
      for (size_t j = 0; j < t.importance.size(); ++j) {
        double v = m2[j];
        if (!pp->fold.empty()) v /= double(pp->fold[j]) * double(pp->fold[j]);
        t.importance[j] = float(v);
      }
    }
  }
  plan.spec.present = true;
  plan.spec.tool_version = tool_version();
  plan.spec.scheme = std::string(scheme_name(opts.scheme));
  plan.spec.weight_method = tr.gptq ? "gptq" : "rtn";
  plan.spec.group_size = tr.weights == WeightFormat::Int8 ? 0 : opts.int4.group;
  plan.spec.scale_rule =
      tr.weights == WeightFormat::Int8 ? "int8-absmax" : std::string(scale_rule_name(opts.int4.rule));
  plan.spec.v0 = opts.policy.v0;
  plan.spec.v1 = opts.policy.v1;
  plan.spec.calib_source = stats.provenance.source;
  plan.spec.calib_samples = stats.provenance.samples;
  plan.spec.calib_seqlen = stats.provenance.seqlen;
  plan.spec.calib_seed = stats.provenance.seed;
  plan.spec.calib_digest = stats.provenance.text_digest;
  plan.spec.output.mode = model::ActQuant::fp;
  // The head's input: per-group dynamic as well where the head runs on the
  // integer kernels (Q8_0 / Q4_0, its own or the tied embedding; without the
  // pass the engine quantizes it per token).
  if (opts.act_group > 0 && cfg.dim % opts.act_group == 0) {
    const TensorPlan* head = nullptr;
    for (const TensorPlan& t : plan.tensors)
      if (t.name == "output.weight" || (t.name == "token_embd.weight" && head == nullptr))
        head = &t;
    if (head != nullptr && (head->type == io::GgmlType::Q8_0 || head->type == io::GgmlType::Q4_0)) {
      plan.spec.output.mode = model::ActQuant::dynamic;
      plan.spec.output.group = opts.act_group;
    }
  }
  return plan;
}

}  // namespace fptq::quant
