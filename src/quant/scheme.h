// Quantization schemes: FPTQ and the baselines it is compared against, as
// presets of three independent choices (activation policy, equalization,
// weight format/method). Every scheme keeps norms, embeddings and the output
// head in higher precision (their types are QuantizeOptions fields).
//
//   scheme            activations                       equalization      weights
//   fptq-plus         policy v0/v1, static scales set    LAE (band, norm)  int4 g32, importance-
//                     by ordinary tokens, outlier tokens                    weighted scale search
//                     per token at run time (isolation)                     (Q4_0 blocks)
//   fptq-plus-gptq    as fptq-plus                       LAE               int4 g32 GPTQ, weighted
//                                                                          group scales
//   fptq              policy v0/v1 (static/LAE/dynamic)  LAE (band, norm)  int4 RTN (Q4_0)
//   fptq-gptq         as fptq                            LAE               int4 GPTQ
//   w4a8-naive        per-tensor static everywhere       none              int4 RTN
//   w4a8-dynamic      per-token dynamic everywhere       none              int4 RTN
//   w8a8-smoothquant  per-token dynamic everywhere       SmoothQuant α     int8 per-channel (Q8_0)
//                                                        (q/k/v, gate/up)
//   w4a16-rtn         fp                                 none              int4 RTN
//   w4a16-gptq        fp                                 none              int4 GPTQ
//
// fptq-plus is the tool's default recipe (fptq plus passes, each switchable:
// QuantizeOptions::isolate_outliers, Int4Config group / rule); fptq is the
// paper's method exactly. The per-scheme option defaults: scheme_options()
// in plan.h.
//
// w8a8-smoothquant smooths the two inputs with a norm to fold into (as the
// SmoothQuant paper does for LLaMA) and quantizes activations per token
// (SmoothQuant's O1 setting, the most accurate of its three); the static Δ
// it would use is still computed and reported.
#pragma once

#include <span>
#include <string_view>

namespace fptq::quant {

enum class Scheme { FptqPlus, FptqPlusGptq, Fptq, FptqGptq, W4A8Naive, W4A8Dynamic, W8A8SmoothQuant, W4A16Rtn, W4A16Gptq };

enum class ActPolicy { Fptq, AllStatic, AllDynamic, AllFp };
enum class Equalization { None, Lae, SmoothQuant, Awq };  // Awq: quant/awq.h (a pass)
enum class WeightFormat { Int4, Int8 };

struct SchemeTraits {
  ActPolicy act;
  Equalization eq;
  WeightFormat weights;
  bool gptq;
};

std::string_view scheme_name(Scheme s);  // "fptq-plus", "fptq", "fptq-gptq", "w4a8-naive", ...
// Inverse of scheme_name; throws fptq::Error listing the valid names otherwise.
Scheme parse_scheme(std::string_view name);
std::span<const Scheme> all_schemes();
SchemeTraits scheme_traits(Scheme s);

// The GPTQ twin of an RTN scheme (fptq -> fptq-gptq, w4a16-rtn -> w4a16-gptq;
// GPTQ schemes map to themselves). Throws fptq::Error for schemes without one.
Scheme with_gptq(Scheme s);

}  // namespace fptq::quant
