// safetensors reader over a read-only memory mapping, and sharded
// checkpoints (model.safetensors.index.json).
//
// A file is `u64 N` (little-endian) + N bytes of JSON header + data. The
// header maps each tensor name to {"dtype", "shape", "data_offsets": [begin,
// end)} relative to the data start (row-major, little-endian), plus an
// optional "__metadata__" object of strings. Everything is validated: header
// length within the file and <= 100 MB, valid JSON object, known dtype, shape
// products without overflow, shape x dtype size == end - begin, offsets
// within the data, non-overlapping and covering it exactly. Every problem
// throws fptq::Error with one line naming the file and the tensor.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/mapped_file.h"

namespace fptq::io {

inline constexpr uint64_t kSafetensorsMaxHeader = uint64_t(100) << 20;  // 100 MB

// Element size in bytes of a safetensors dtype name ("F32", "BF16", "I64",
// ...); 0 when the name is not a safetensors dtype.
uint64_t safetensors_dtype_size(std::string_view dtype);

struct SafetensorsTensor {
  std::string name;
  std::string dtype;              // as written in the header, e.g. "BF16"
  std::vector<int64_t> shape;     // outermost first (row-major), as in the header
  const uint8_t* data = nullptr;  // into the mapping
  uint64_t nbytes = 0;
  uint64_t offset = 0;  // begin offset relative to the data start
};

struct SafetensorsFile {
  std::string path;
  std::shared_ptr<const MappedFile> mapping;    // keeps `data` pointers valid
  std::vector<SafetensorsTensor> tensors;       // in offset order
  std::map<std::string, std::string> metadata;  // "__metadata__"

  const SafetensorsTensor* find(std::string_view name) const;
};

// Maps and validates one .safetensors file.
SafetensorsFile read_safetensors(const std::string& path);

// Validates the bytes of a safetensors file held in memory (`where` names it
// in messages); tensor data pointers point into `bytes`.
SafetensorsFile parse_safetensors(const uint8_t* bytes, uint64_t size, std::string_view where);

// All tensors of a checkpoint directory: the files named by
// model.safetensors.index.json ("weight_map": tensor -> file) when present,
// otherwise model.safetensors, otherwise the single *.safetensors file. With
// an index, every listed file must exist, every tensor must appear exactly
// once across the shards, and every tensor of the index must be in the file
// the index names (and vice versa).
struct SafetensorsCheckpoint {
  SafetensorsCheckpoint() = default;
  SafetensorsCheckpoint(SafetensorsCheckpoint&&) = default;  // pointers stay valid
  SafetensorsCheckpoint& operator=(SafetensorsCheckpoint&&) = default;
  SafetensorsCheckpoint(const SafetensorsCheckpoint&) = delete;  // would dangle

  std::string dir;
  std::vector<SafetensorsFile> files;
  // Every tensor of every file, sorted by name (unique names).
  std::vector<const SafetensorsTensor*> tensors;
  // Index into `files` of each entry of `tensors`.
  std::vector<size_t> file_of;

  const SafetensorsTensor* find(std::string_view name) const;
};
SafetensorsCheckpoint read_safetensors_checkpoint(const std::filesystem::path& dir);

}  // namespace fptq::io
