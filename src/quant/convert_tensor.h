// One tensor of a quantization plan converted to its planned type: the step
// the whole-model quantizer (quantize_model.h) and the streaming one
// (stream_quantize.h) share, so that both write the same bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "io/model_file.h"
#include "quant/plan.h"
#include "quant/quantize_model.h"

namespace fptq::quant {

// Converts `t` (the folded tensor when a fold applies) per `tp` under
// `opts`. `hessian`: the folded H of tp.point for GPTQ schemes' int4 linear
// weights (required then), else unused. Returns the result row and fills
// `out` with the bytes to write; `gptq_note` gets a line when GPTQ raised the
// damping or found dead columns.
TensorResult convert_tensor(const TensorPlan& tp, const io::TensorInfo& t,
                            const QuantizeOptions& opts, const std::vector<double>* hessian,
                            std::vector<uint8_t>& out, std::string& gptq_note);

// Throws fptq::Error when out_path is empty, or as io::check_output_path
// (what = "output") when it is a directory, in a folder that does not exist,
// or the input model (any spelling, or a file of the input model folder).
void check_output_path(const io::ModelFile& src, const std::string& out_path);

// fptq.act.clip (f32): the percentile of |x| after the fold that set the
// static scales (`fptq quantize --act-clip`); absent when they are B'/127.
inline constexpr std::string_view kActClipKey = "fptq.act.clip";
// fptq.recipe (str): recipe_summary() of the options that wrote the file.
inline constexpr std::string_view kRecipeKey = "fptq.recipe";

// The output's metadata: the input's, general.file_type and
// general.quantization_version set, the plan's fptq.* keys added.
io::Metadata output_metadata(const io::ModelFile& src, const QuantPlan& plan);

// H' = S⁻¹ H S⁻¹ for the folded input X' = X S⁻¹ (s: [k], H: [k][k]).
std::vector<double> fold_hessian(std::vector<double> h, const std::vector<float>& s);

// The int4 points whose Hessians GPTQ needs: the input points of the plan's
// Q4_0 linear weights (in plan order, each once), restricted to block
// `layer` when layer >= 0.
std::vector<std::string> gptq_points(const QuantPlan& plan, int64_t layer = -1);

}  // namespace fptq::quant
