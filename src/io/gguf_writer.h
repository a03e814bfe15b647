// GGUF writer: collects KV pairs and tensors, then writes a GGUF v3 file
// atomically (temp file in the target folder, fsync, rename).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/ggml_types.h"
#include "io/metadata.h"

namespace fptq::io {

class GgufWriter {
 public:
  // alignment: a power of two < 2^32. The KV "general.alignment" (u32) always
  // mirrors it: set_alignment updates the key when present and adds it when
  // the alignment is not the default 32; adding the key sets the alignment.
  explicit GgufWriter(uint64_t alignment = 32);

  void set_alignment(uint64_t alignment);  // throws fptq::Error unless a power of two
  uint64_t alignment() const { return alignment_; }

  // Adds a KV pair (any Value: scalar or flat array). Throws fptq::Error on a
  // duplicate or empty key, or on a Value whose vectors do not match its type.
  // Adding "general.alignment" requires a u32 power of two and sets alignment().
  void add(std::string key, Value value);
  const Metadata& metadata() const { return metadata_; }

  // Adds a tensor. ne: dims innermost first (at most 4, each > 0; empty = a
  // one-element scalar). nbytes must equal the size implied by type and ne,
  // and ne[0] must be a multiple of the type's block size. Throws fptq::Error
  // naming the tensor otherwise, or on a duplicate / empty / >63-byte name.
  // The owning overload keeps the bytes; the view overload stores only the
  // pointer: `data` must stay valid until write() returns.
  void add_tensor(std::string name, GgmlType type, std::vector<int64_t> ne,
                  std::vector<uint8_t> bytes);
  void add_tensor_view(std::string name, GgmlType type, std::vector<int64_t> ne,
                       const void* data, uint64_t nbytes);

  // Declares a tensor whose nbytes the caller writes itself after
  // header_bytes() (streaming writers); write() refuses such a tensor.
  void add_tensor_info(std::string name, GgmlType type, std::vector<int64_t> ne, uint64_t nbytes);

  size_t n_tensors() const { return tensors_.size(); }

  // The header write() writes (padded so the data section starts aligned)
  // and each tensor's offset in the data section; tensor i occupies
  // [offsets[i], offsets[i] + nbytes), zeros pad between tensors and after
  // the last one up to the alignment.
  std::vector<uint8_t> header_bytes(std::vector<uint64_t>* offsets) const {
    return serialize_header(offsets);
  }

  // Writes the file. The target is replaced only when everything has been
  // written and synced; on any failure the temp file is removed, the previous
  // file (if any) is untouched, and fptq::Error naming the path is thrown.
  void write(const std::string& path) const;

 private:
  struct Tensor {
    std::string name;
    GgmlType type;
    std::vector<int64_t> ne;
    std::vector<uint8_t> owned;
    const uint8_t* view = nullptr;  // used when `owned` is empty
    uint64_t nbytes = 0;
    const uint8_t* bytes() const { return owned.empty() ? view : owned.data(); }
  };
  void add_tensor_impl(Tensor t);
  std::vector<uint8_t> serialize_header(std::vector<uint64_t>* offsets) const;

  uint64_t alignment_ = 32;
  Metadata metadata_;
  std::vector<Tensor> tensors_;
};

}  // namespace fptq::io
