// Read-only memory mapping of a whole file (RAII).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace fptq::io {

class MappedFile {
 public:
  // Maps `path` read-only. Throws fptq::Error naming the file when it is
  // missing, not a regular file, unreadable, or empty.
  static std::shared_ptr<const MappedFile> open(const std::string& path);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  std::string path_;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace fptq::io
