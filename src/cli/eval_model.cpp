#include "cli/eval_model.h"

#include <fmt/format.h>

#include "core/error.h"
#include "io/model_file.h"

namespace fptq::cli {

EvalEngine eval_engine(bool emulate, bool f32) {
  if (emulate && f32) fail("--emulate and --f32 exclude each other");
  return emulate ? EvalEngine::emulate : f32 ? EvalEngine::f32 : EvalEngine::integer;
}

EvalModel load_eval_model(std::shared_ptr<const io::ModelFile> file, ThreadPool& pool,
                          EvalEngine engine) {
  EvalModel m;
  model::LoadOptions opt;
  opt.mode = engine == EvalEngine::integer ? model::RunMode::integer : model::RunMode::emulate;
  m.model = std::make_unique<model::Model>(file, pool, opt);
  if (engine != EvalEngine::f32) {
    const model::QuantSpec& a = m.model->act_spec();
    for (const auto& layer : a.layers)
      for (const model::PointQuant& q : layer) m.quantized_points += q.mode != model::ActQuant::fp;
    m.quantized_points += a.output.mode != model::ActQuant::fp;
  }
  if (engine == EvalEngine::f32) {
    m.engine = "F32 on the file's weights (dequantized), no activation quantization";
  } else if (engine == EvalEngine::emulate) {
    // The F32 path on dequantized weights; the observer rounds every matmul
    // input through the quantizer the integer engine would apply.
    m.emulation = std::make_unique<quant::EmulationObserver>(m.model->act_spec());
    m.engine = m.model->describe() + "; exact int8 activation emulation (quant::EmulationObserver)";
  } else {
    m.engine = m.model->describe();
  }
  return m;
}

EvalModel load_eval_model(const std::string& path, ThreadPool& pool, EvalEngine engine) {
  return load_eval_model(io::open_model(path), pool, engine);
}

}  // namespace fptq::cli
