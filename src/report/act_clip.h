// --act-clip: static activation scales from a percentile of |x| (after the
// LAE fold) instead of the max, Δ = P_p(|x'|) / 127, so that the rare largest
// values saturate and the rest get a finer grid.
#pragma once

#include <span>
#include <vector>

#include "core/thread_pool.h"
#include "eval/kl_base.h"
#include "eval/perplexity.h"
#include "model/quant_spec.h"
#include "report/mixed_model.h"
#include "report/probe.h"
#include "report/sensitivity.h"
#include "tokenizer/tokenizer.h"

namespace fptq::report {

// `spec` with every static point's Δ replaced by P_p(|x'|) / 127 from the
// probe (p = 1: the probe's max). Other points unchanged. Throws fptq::Error
// when p is outside (0, 1] or the probe does not match the spec.
model::QuantSpec clipped_spec(const model::QuantSpec& spec, const std::vector<PointProbe>& probe,
                              double p);

// The quantized file (all its tensors) with activation quantizers `spec`,
// emulated on the F32 path, against `base`.
EvalFigures evaluate_with_spec(const QuantizedPair& pair, const model::QuantSpec& spec,
                               const tok::Tokenizer& tok, std::span<const int32_t> tokens,
                               const eval::PerplexityOptions& popts, const eval::KlBase& base,
                               ThreadPool& pool);

}  // namespace fptq::report
