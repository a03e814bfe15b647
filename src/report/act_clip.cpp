#include "report/act_clip.h"

#include "core/error.h"
#include "model/engine_plan.h"
#include "quant/act_quant.h"

namespace fptq::report {

model::QuantSpec clipped_spec(const model::QuantSpec& spec, const std::vector<PointProbe>& probe,
                              double p) {
  if (!(p > 0.0 && p <= 1.0)) fail("--act-clip: percentile {} is outside (0, 100]", 100 * p);
  if (probe.size() != spec.layers.size() * model::kBlockPoints)
    fail("--act-clip: the probe holds {} points, the model {}", probe.size(),
         spec.layers.size() * model::kBlockPoints);
  model::QuantSpec out = spec;
  for (size_t i = 0; i < probe.size(); ++i) {
    auto& q = out.layers[i / model::kBlockPoints][i % model::kBlockPoints];
    if (q.mode != model::ActQuant::static_) continue;
    const double b = p >= 1.0 ? double(probe[i].after.bound()) : probe[i].after.percentile_abs(p);
    q.scale = quant::static_act_scale(float(b));
  }
  return out;
}

EvalFigures evaluate_with_spec(const QuantizedPair& pair, const model::QuantSpec& spec,
                               const tok::Tokenizer& tok, std::span<const int32_t> tokens,
                               const eval::PerplexityOptions& popts, const eval::KlBase& base,
                               ThreadPool& pool) {
  return evaluate_emulated(pair.q, spec, tok, tokens, popts, base, pool);
}

}  // namespace fptq::report
