// A model as read from disk: metadata plus tensors, with GGUF naming and
// layout whatever the source (GGUF file or Hugging Face directory).
//
// Tensor data are not copied: they point into memory-mapped files, or into
// buffers owned by the ModelFile (e.g. HF q/k weights after the RoPE row
// permutation). A ModelFile is immutable after loading and safe to read from
// several threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/ggml_types.h"
#include "io/metadata.h"

namespace fptq::io {

// The most transformer blocks a model may declare (GGUF block_count, HF
// num_hidden_layers): per-layer tables are sized from it before any tensor is
// looked up. The largest open models have ~130.
inline constexpr int64_t kMaxLayers = 4096;

struct TensorInfo {
  std::string name;            // GGUF name, e.g. "blk.3.attn_q.weight"
  GgmlType type = GgmlType::F32;
  std::vector<int64_t> ne;     // dims, innermost first (HF [out, in] -> ne = {in, out})
  uint64_t offset = 0;         // offset in the GGUF data section (0 for other sources)
  const uint8_t* data = nullptr;
  uint64_t nbytes = 0;

  int64_t n_elements() const;  // product of ne (validated not to overflow at load)
  int64_t rows() const;        // product of ne[1..] (1 for a vector)
  int64_t row_elems() const { return ne.empty() ? 1 : ne[0]; }
};

struct ModelFile {
  std::string path;          // file or directory it came from (for messages)
  std::string format;        // "gguf" or "safetensors"
  uint32_t gguf_version = 0; // GGUF only
  uint64_t alignment = 32;   // GGUF only
  Metadata metadata;
  std::vector<TensorInfo> tensors;
  // Keeps mappings and owned buffers alive as long as the tensors are used.
  std::vector<std::shared_ptr<const void>> storage;

  const TensorInfo* find_tensor(std::string_view name) const;
  // Throws fptq::Error naming the file when the tensor is missing.
  const TensorInfo& tensor(std::string_view name) const;
};

// Opens a GGUF file, or a Hugging Face model directory (config.json +
// *.safetensors + tokenizer.json). Throws fptq::Error on any problem.
std::shared_ptr<const ModelFile> open_model(const std::string& path);

}  // namespace fptq::io
