#include "cli/eval_model.h"

#include <fmt/format.h>

#include "io/model_file.h"
#include "kernels/dispatch.h"
#include "model/quant_spec.h"

namespace fptq::cli {

EvalModel load_eval_model(std::shared_ptr<const io::ModelFile> file, ThreadPool& pool,
                          bool emulate) {
  EvalModel m;
  m.model = std::make_unique<model::Model>(file, pool);
  const model::QuantSpec spec = model::read_quant_spec(*file, m.model->config().n_layer);
  const std::string isa = kernels::isa_name(kernels::active_isa());
  if (spec.present) {
    m.emulation = std::make_unique<quant::EmulationObserver>(spec);
    m.engine = fmt::format("F32 engine on the dequantized weights with exact int8 activation "
                           "emulation (scheme {}{}; ISA {})",
                           spec.scheme, emulate ? ", --emulate" : "", isa);
  } else {
    m.engine = fmt::format("F32 engine{} (ISA {})",
                           emulate ? "; --emulate: the file has no fptq.* keys, nothing to emulate"
                                   : "",
                           isa);
  }
  return m;
}

EvalModel load_eval_model(const std::string& path, ThreadPool& pool, bool emulate) {
  return load_eval_model(io::open_model(path), pool, emulate);
}

}  // namespace fptq::cli
