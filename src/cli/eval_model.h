// Loading a model for evaluation (perplexity, mmlu, compare): a quantized
// GGUF (fptq.* keys) gets the exact emulation of its activation quantizers
// (quant::EmulationObserver on the F32 path), a plain model runs as it is.
#pragma once

#include <memory>
#include <string>

#include "core/thread_pool.h"
#include "model/model.h"
#include "quant/emulation_observer.h"

namespace fptq::cli {

struct EvalModel {
  std::unique_ptr<model::Model> model;
  std::unique_ptr<quant::EmulationObserver> emulation;  // null: none
  std::string engine;  // one line for reports: how the model is run
  model::Observer* observer() const { return emulation.get(); }
};

// Loads `path`. A file with fptq.* keys runs the F32 path (weights
// dequantized exactly from Q4_0/Q8_0) with every matmul input rounded through
// its int8 quantizer; `emulate` asks for that explicitly (it is also what
// runs by default until the engine's integer path is the default load).
EvalModel load_eval_model(const std::string& path, ThreadPool& pool, bool emulate);

// The same for an already opened file.
EvalModel load_eval_model(std::shared_ptr<const io::ModelFile> file, ThreadPool& pool,
                          bool emulate);

}  // namespace fptq::cli
