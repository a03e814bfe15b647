// One transformer block of a model file, loaded and evaluated on its own:
// the building block of streaming calibration and quantization, where only
// one block's weights (plus the hidden states flowing through it) are
// resident at a time.
//
// A BlockModel is a model::Model over a one-block view of the file: the
// block's tensors (renamed blk.0.*, data still pointing into the file's
// mapping), a two-row zero embedding and the output norm, with block_count
// = 1 and, for files with fptq.* keys, that block's quantizers. Running it
// over the hidden states entering the block gives exactly what the full
// model's forward() computes for that block (same batches, same kernels);
// the observer sees the block's real point names (blk.<layer>.*).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/thread_pool.h"
#include "io/model_file.h"
#include "model/config.h"
#include "model/model.h"
#include "model/observer.h"

namespace fptq::model {

// The one-block view of block `layer` of `file` (cfg = read_config(file)).
// Throws fptq::Error when a tensor of the block is missing.
std::shared_ptr<const io::ModelFile> make_block_view(std::shared_ptr<const io::ModelFile> file,
                                                     const LlamaConfig& cfg, int64_t layer);

class BlockModel {
 public:
  // Loads block `layer` (weights dequantized/packed as Model would). Load
  // errors name the block's tensors (blk.<layer>.*), not the view's.
  BlockModel(std::shared_ptr<const io::ModelFile> file, const LlamaConfig& cfg, int64_t layer,
             ThreadPool& pool, LoadOptions opt = {});

  int64_t layer() const { return layer_; }
  const Model& model() const { return *model_; }

  // Runs the hidden states of one sequence, x: [n][dim] at positions
  // 0 .. n-1, through the block (in place). `obs` sees blk.<layer>.* points.
  void run(std::span<float> x, ThreadPool& pool, Observer* obs = nullptr) const;

 private:
  int64_t layer_;
  std::unique_ptr<Model> model_;
};

// The embedding rows of `tokens` (dequantized row by row from the file's
// token_embd.weight, exactly as Model loads them): out [tokens.size()][dim].
// Throws fptq::Error for a token id out of range, and for a type that cannot
// be dequantized or a NaN or Inf embedding value (named as
// io::dequantize_tensor names them).
void embed_tokens(const io::ModelFile& file, const LlamaConfig& cfg,
                  std::span<const int32_t> tokens, float* out);

}  // namespace fptq::model
