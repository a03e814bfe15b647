#include "cli/eval_model.h"

#include <fmt/format.h>

#include "io/model_file.h"

namespace fptq::cli {

EvalModel load_eval_model(std::shared_ptr<const io::ModelFile> file, ThreadPool& pool,
                          bool emulate) {
  EvalModel m;
  model::LoadOptions opt;
  opt.mode = emulate ? model::RunMode::emulate : model::RunMode::integer;
  m.model = std::make_unique<model::Model>(file, pool, opt);
  if (emulate) {
    // The F32 path on dequantized weights; the observer rounds every matmul
    // input through the quantizer the integer engine would apply.
    m.emulation = std::make_unique<quant::EmulationObserver>(m.model->act_spec());
    m.engine = m.model->describe() + "; exact int8 activation emulation (quant::EmulationObserver)";
  } else {
    m.engine = m.model->describe();
  }
  return m;
}

EvalModel load_eval_model(const std::string& path, ThreadPool& pool, bool emulate) {
  return load_eval_model(io::open_model(path), pool, emulate);
}

}  // namespace fptq::cli
