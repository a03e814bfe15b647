// Loading a model for evaluation (perplexity, mmlu, compare): by default the
// engine's integer path (W4A8/W8A8 kernels for quantized tensors), or with
// `emulate` the F32 path plus the exact emulation of the activation
// quantizers (quant::EmulationObserver over Model::act_spec()).
#pragma once

#include <memory>
#include <string>

#include "core/thread_pool.h"
#include "eval/perplexity.h"
#include "model/model.h"
#include "quant/emulation_observer.h"

namespace fptq::cli {

enum class EvalEngine;

struct EvalModel {
  std::unique_ptr<model::Model> model;
  std::unique_ptr<quant::EmulationObserver> emulation;  // null: none
  std::string engine;  // one line for reports: how the model is run
  model::Observer* observer() const { return emulation.get(); }
  // Activation points this model quantizes at run time (0 on the F32 path):
  // e.g. a plain Q4_1 file's Q8_0 output head runs W8A8 on the integer engine.
  int64_t quantized_points = 0;
  // `o` with this model's observer: every evaluation of an EvalModel goes
  // through it, so an --emulate model is never run without its activation
  // quantizers (compare once scored --emulate models on the bare F32 path).
  eval::PerplexityOptions options(eval::PerplexityOptions o) const {
    o.observer = observer();
    return o;
  }
};

enum class EvalEngine {
  integer,  // the engine's default: W4A8/W8A8 kernels (a plain Q4_0/Q8_0 file: dynamic int8)
  emulate,  // F32 path + exact emulation of the activation quantizers
  f32,      // F32 path, nothing quantized at run time: the FP reference of a file
};

// Loads `path` for `engine`.
EvalModel load_eval_model(const std::string& path, ThreadPool& pool, EvalEngine engine);

// The same for an already opened file.
EvalModel load_eval_model(std::shared_ptr<const io::ModelFile> file, ThreadPool& pool,
                          EvalEngine engine);

// --emulate / --f32 flags to an engine; throws fptq::Error when both are given.
EvalEngine eval_engine(bool emulate, bool f32);

}  // namespace fptq::cli
