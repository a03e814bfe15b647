// GGUF reader over a memory-mapped file. Every length, count, offset and
// dimension is validated with overflow-safe arithmetic; any problem throws
// fptq::Error with a one-line message naming the file and the offending item.
#pragma once

#include <memory>
#include <string>

#include "io/model_file.h"

namespace fptq::io {

std::shared_ptr<const ModelFile> read_gguf(const std::string& path);

}  // namespace fptq::io
