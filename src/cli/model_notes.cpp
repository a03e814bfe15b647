#include "cli/model_notes.h"

#include <fmt/format.h>

#include <string>
#include <vector>

#include "model/weights.h"

namespace fptq::cli {

void note_unused_tensors(const io::ModelFile& file, const model::LlamaConfig& cfg) {
  const std::vector<std::string> unused = model::unused_tensors(cfg, file);
  if (unused.empty()) return;
  constexpr size_t kNamed = 4;
  std::string names;
  for (size_t i = 0; i < unused.size() && i < kNamed; ++i) names += (i ? ", " : "") + unused[i];
  if (unused.size() > kNamed) names += fmt::format(", and {} more", unused.size() - kNamed);
  fmt::print(stderr,
             "note: {} holds {} tensor(s) the {} model never reads (its output does not depend on "
             "them): {}\n",
             file.path, unused.size(), cfg.architecture, names);
}

void note_if_beyond_context(const model::LlamaConfig& cfg, int64_t ctx) {
  if (cfg.context_length > 0 && ctx > cfg.context_length)
    fmt::print(stderr,
               "note: windows of {} tokens are longer than the model's trained context ({}): the "
               "positions past it are scored, but the model was not trained on them\n",
               ctx, cfg.context_length);
}

}  // namespace fptq::cli
