// Notes on stderr about a loaded model that do not stop a command: tensors
// the model never reads, evaluation windows past the trained context.
#pragma once

#include <cstdint>

#include "io/model_file.h"
#include "model/config.h"

namespace fptq::cli {

// "note: FILE holds N tensor(s) the model never reads: a, b, ..." when
// model::unused_tensors() is not empty (the first few named).
void note_unused_tensors(const io::ModelFile& file, const model::LlamaConfig& cfg);

// A note when evaluation windows of `ctx` tokens are longer than the context
// the model was trained on (the file's context_length): the positions past it
// are scored but outside what the model learned.
void note_if_beyond_context(const model::LlamaConfig& cfg, int64_t ctx);

}  // namespace fptq::cli
