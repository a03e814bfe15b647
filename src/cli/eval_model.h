// Loading a model for evaluation (perplexity, mmlu, compare): by default the
// engine's integer path (W4A8/W8A8 kernels for quantized tensors), or with
// `emulate` the F32 path plus the exact emulation of the activation
// quantizers (quant::EmulationObserver over Model::act_spec()).
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

// Loads `path` in integer mode, or in emulate mode with the observer.
EvalModel load_eval_model(const std::string& path, ThreadPool& pool, bool emulate);

// The same for an already opened file.
EvalModel load_eval_model(std::shared_ptr<const io::ModelFile> file, ThreadPool& pool,
                          bool emulate);

}  // namespace fptq::cli
