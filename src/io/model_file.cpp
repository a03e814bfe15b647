#include "io/model_file.h"

#include <filesystem>
#include <system_error>

#include "core/error.h"
#include "io/gguf_reader.h"
#include "io/hf_model.h"

namespace fptq::io {

int64_t TensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;
  return n;
}

int64_t TensorInfo::rows() const {
  int64_t n = 1;
  for (size_t i = 1; i < ne.size(); ++i) n *= ne[i];
  return n;
}

const TensorInfo* ModelFile::find_tensor(std::string_view name) const {
  for (const TensorInfo& t : tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

const TensorInfo& ModelFile::tensor(std::string_view name) const {
  const TensorInfo* t = find_tensor(name);
  if (!t) fail("{}: tensor '{}' not found", path, name);
  return *t;
}

std::shared_ptr<const ModelFile> open_model(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) fail("{}: no such file or directory", path);
  if (fs::is_directory(st)) {
    return read_hf_model(path);
  }
  return read_gguf(path);
}

}  // namespace fptq::io
