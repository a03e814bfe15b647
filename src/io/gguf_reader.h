// GGUF reader over a memory-mapped file. Every length, count, offset and
// dimension is validated with overflow-safe arithmetic; any problem throws
// fptq::Error with a one-line message naming the file and the offending item.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "io/model_file.h"

namespace fptq::io {

std::shared_ptr<const ModelFile> read_gguf(const std::string& path);

// The same checks over `size` bytes held in memory (`path` names them in
// messages); tensor data point into `bytes`, which must outlive the result.
std::shared_ptr<ModelFile> parse_gguf(const uint8_t* bytes, uint64_t size, const std::string& path);

}  // namespace fptq::io
