// A model in which only some observation points are quantized: the tensors
// that consume those points (and the norm carrying their LAE fold) come from
// the quantized GGUF, every other tensor from the FP model, and the
// activation spec quantizes only those points. Evaluated on the F32 path
// with quant::EmulationObserver, it is exactly "the FP model with these
// layers quantized", built in memory (no file is written). `fptq
// sensitivity` and the --auto-keep search evaluate many of them.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "io/model_file.h"
#include "model/config.h"
#include "model/quant_spec.h"

namespace fptq::report {

// The FP model and its quantized twin (the same tensor names and shapes; the
// twin carries fptq.* keys).
struct QuantizedPair {
  std::shared_ptr<const io::ModelFile> fp, q;
  model::LlamaConfig cfg;
  model::QuantSpec spec;  // the twin's activation quantizers
};

// Opens both and checks that they match (architecture, block count, tensor
// names and shapes) and that `q` carries fptq.* keys and `fp` does not.
// Throws fptq::Error naming the mismatch.
QuantizedPair open_quantized_pair(std::shared_ptr<const io::ModelFile> fp,
                                  std::shared_ptr<const io::ModelFile> q);

// Names of the block points, forward order ("blk.0.attn_qkv_in", ...).
std::vector<std::string> all_points(const model::LlamaConfig& cfg);

// The observation point whose activations a tensor multiplies or whose norm
// folds into ("" for token_embd, output, output_norm, biases).
std::string point_of_tensor(const model::LlamaConfig& cfg, const std::string& tensor);

// The file with the points in `quantized` taken from the twin (their weights
// and norms), everything else from the FP model. Throws fptq::Error for an
// unknown point name.
std::shared_ptr<const io::ModelFile> mixed_model_file(const QuantizedPair& pair,
                                                      const std::set<std::string>& quantized);

// The twin's activation spec with every point outside `quantized` set to
// `others` (fp; dynamic when the other tensors are int8 weights), and the
// output head as the twin has it only when `quantized` holds "output_in".
model::QuantSpec mixed_spec(const QuantizedPair& pair, const std::set<std::string>& quantized,
                            model::ActQuant others = model::ActQuant::fp);

// Bits per weight of the block linear weights when the points in `kept` are
// kept at `kept_bits` (16 for F16) and the rest take the twin's bytes.
double block_linear_bpw(const QuantizedPair& pair, const std::set<std::string>& kept,
                        double kept_bits = 16.0);

}  // namespace fptq::report
