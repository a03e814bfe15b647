// A model with per-channel scales folded in (LAE or SmoothQuant): the same
// tensor list and metadata as the input, where for every folded point the
// norm that produces its input and the weights that consume it are replaced
// by F32 tensors carrying the fold (fold.h):
//   blk.N.attn_qkv_in     attn_norm[j] /= s_j;  attn_q/k/v[:, j] *= s_j
//   blk.N.ffn_gate_up_in  ffn_norm[j]  /= s_j;  ffn_gate/up[:, j] *= s_j
// The FP model computes the same function before and after (up to float
// rounding); the quantizer reads its weights from here, and the LAE test
// runs it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/model_file.h"
#include "model/config.h"

namespace fptq::quant {

// folds: point name ("blk.3.attn_qkv_in" or "blk.3.ffn_gate_up_in") -> s
// ([dim], every s_j > 0 and finite). Unfolded tensors point into `src`'s
// data (kept alive by the result). Throws fptq::Error for another point
// name, a wrong size or a bad scale.
std::shared_ptr<const io::ModelFile> fold_model(std::shared_ptr<const io::ModelFile> src,
                                                const model::LlamaConfig& cfg,
                                                const std::map<std::string, std::vector<float>>& folds);

}  // namespace fptq::quant
