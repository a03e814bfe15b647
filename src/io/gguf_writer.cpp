#include "io/gguf_writer.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <unordered_set>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/checked_math.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/signal_cleanup.h"
#include "io/gguf_format.h"

namespace fptq::io {
namespace {

bool is_pow2(uint64_t a) { return a != 0 && (a & (a - 1)) == 0; }

class Buf {
 public:
  std::vector<uint8_t> bytes;
  template <typename T>
  void put(T v) {
    const size_t at = bytes.size();
    bytes.resize(at + sizeof(T));
    std::memcpy(bytes.data() + at, &v, sizeof(T));  // host is little-endian like GGUF
  }
  void put_string(std::string_view s) {
    put<uint64_t>(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
  }
};

// Range of the integer types, for checking Values before writing them.
bool int_fits(ValueType t, int64_t v) {
  switch (t) {
    case ValueType::U8: return v >= 0 && v <= 0xFF;
    case ValueType::I8: return v >= INT8_MIN && v <= INT8_MAX;
    case ValueType::U16: return v >= 0 && v <= 0xFFFF;
    case ValueType::I16: return v >= INT16_MIN && v <= INT16_MAX;
    case ValueType::U32: return v >= 0 && v <= int64_t(UINT32_MAX);
    case ValueType::I32: return v >= INT32_MIN && v <= INT32_MAX;
    case ValueType::BOOL: return v == 0 || v == 1;
    case ValueType::U64: case ValueType::I64: return true;  // u64 stored bit-cast
    default: return false;
  }
}

// Checks that a Value's vectors match its type; throws naming the key.
void validate_value(const std::string& key, const Value& v) {
  const ValueType t = v.scalar_type();
  if (t == ValueType::ARRAY) fail("key '{}': nested arrays are not supported", key);
  if (uint32_t(t) > uint32_t(ValueType::F64)) fail("key '{}': unknown value type {}", key, uint32_t(t));
  const bool is_str = t == ValueType::STRING;
  const bool is_flt = t == ValueType::F32 || t == ValueType::F64;
  const size_t n = is_str ? v.strings.size() : is_flt ? v.floats.size() : v.ints.size();
  const size_t others = v.strings.size() + v.floats.size() + v.ints.size() - n;
  if (others != 0) fail("key '{}': value holds data of a type other than {}", key, value_type_name(t));
  if (!v.is_array() && n != 1) fail("key '{}': scalar with {} values", key, n);
  if (!is_str && !is_flt) {
    for (size_t i = 0; i < n; ++i) {
      if (!int_fits(t, v.ints[i]))
        fail("key '{}': value {} out of range for {}", key, v.ints[i], value_type_name(t));
    }
  }
}

void put_scalar(Buf& b, ValueType t, const Value& v, size_t i) {
  switch (t) {
    case ValueType::U8: b.put<uint8_t>(uint8_t(v.ints[i])); break;
    case ValueType::I8: b.put<int8_t>(int8_t(v.ints[i])); break;
    case ValueType::U16: b.put<uint16_t>(uint16_t(v.ints[i])); break;
    case ValueType::I16: b.put<int16_t>(int16_t(v.ints[i])); break;
    case ValueType::U32: b.put<uint32_t>(uint32_t(v.ints[i])); break;
    case ValueType::I32: b.put<int32_t>(int32_t(v.ints[i])); break;
    case ValueType::U64: b.put<uint64_t>(uint64_t(v.ints[i])); break;
    case ValueType::I64: b.put<int64_t>(v.ints[i]); break;
    case ValueType::BOOL: b.put<uint8_t>(v.ints[i] ? 1 : 0); break;
    case ValueType::F32: b.put<float>(float(v.floats[i])); break;
    case ValueType::F64: b.put<double>(v.floats[i]); break;
    case ValueType::STRING: b.put_string(v.strings[i]); break;
    case ValueType::ARRAY: FPTQ_CHECK_MSG(false, "nested array"); break;
  }
}

// write(2) all of [p, p+n), retrying on EINTR and short writes.
bool write_all(int fd, const uint8_t* p, uint64_t n) {
  while (n > 0) {
    const size_t chunk = size_t(std::min<uint64_t>(n, uint64_t(1) << 30));
    const ssize_t w = ::write(fd, p, chunk);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= uint64_t(w);
  }
  return true;
}

// The temp file of write(): removes itself unless committed.
class TempFile {
 public:
  explicit TempFile(const std::string& target) : target_(target) {
    name_ = target + ".tmp.XXXXXX";
    fd_ = ::mkstemp(name_.data());
    if (fd_ < 0) fail("{}: cannot create a temp file: {}", target, std::strerror(errno));
    on_signal_ = SignalCleanup(name_, false);
  }
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(name_.c_str());
  }
  void write(const uint8_t* p, uint64_t n) {
    if (!write_all(fd_, p, n)) fail("{}: write failed: {}", target_, std::strerror(errno));
  }
  void commit() {
    if (::fchmod(fd_, 0644) != 0) fail("{}: chmod failed: {}", target_, std::strerror(errno));
    if (::fsync(fd_) != 0) fail("{}: fsync failed: {}", target_, std::strerror(errno));
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail("{}: close failed: {}", target_, std::strerror(errno));
    require_replaceable(target_);
    if (::rename(name_.c_str(), target_.c_str()) != 0)
      fail("{}: cannot rename the temp file into place: {}", target_, std::strerror(errno));
    committed_ = true;
    // Make the rename durable; best effort (the file is complete either way).
    std::filesystem::path dir = std::filesystem::path(target_).parent_path();
    if (dir.empty()) dir = std::filesystem::path(".");
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
  }

 private:
  std::string target_, name_;
  int fd_ = -1;
  SignalCleanup on_signal_;
  bool committed_ = false;
};

}  // namespace

GgufWriter::GgufWriter(uint64_t alignment) { set_alignment(alignment); }

void GgufWriter::set_alignment(uint64_t alignment) {
  if (!is_pow2(alignment) || alignment > UINT32_MAX)
    fail("GGUF alignment {} is not a power of two below 2^32", alignment);
  alignment_ = alignment;
  if (metadata_.contains(gguf::kAlignmentKey) || alignment != gguf::kDefaultAlignment)
    metadata_.set(gguf::kAlignmentKey, Value::make_int(ValueType::U32, int64_t(alignment)));
}

void GgufWriter::add(std::string key, Value value) {
  if (key.empty()) fail("GGUF key is empty");
  validate_value(key, value);
  if (key == gguf::kAlignmentKey) {
    if (value.is_array() || value.type != ValueType::U32 || !is_pow2(uint64_t(value.ints[0])))
      fail("key '{}': must be a u32 power of two", key);
    if (metadata_.contains(key) && alignment_ != uint64_t(value.ints[0]))
      fail("duplicate key '{}'", key);
    alignment_ = uint64_t(value.ints[0]);
    metadata_.set(std::move(key), std::move(value));
    return;
  }
  metadata_.add(std::move(key), std::move(value));
}

void GgufWriter::add_tensor(std::string name, GgmlType type, std::vector<int64_t> ne,
                            std::vector<uint8_t> bytes) {
  Tensor t{std::move(name), type, std::move(ne), std::move(bytes), nullptr, 0};
  t.nbytes = t.owned.size();
  add_tensor_impl(std::move(t));
}

void GgufWriter::add_tensor_view(std::string name, GgmlType type, std::vector<int64_t> ne,
                                 const void* data, uint64_t nbytes) {
  Tensor t{std::move(name), type, std::move(ne), {}, static_cast<const uint8_t*>(data), nbytes};
  if (nbytes > 0 && data == nullptr) fail("tensor '{}': null data", t.name);
  add_tensor_impl(std::move(t));
}

void GgufWriter::add_tensor_info(std::string name, GgmlType type, std::vector<int64_t> ne,
                                 uint64_t nbytes) {
  add_tensor_impl(Tensor{std::move(name), type, std::move(ne), {}, nullptr, nbytes});
}

void GgufWriter::add_tensor_impl(Tensor t) {
  if (t.name.empty()) fail("tensor name is empty");
  if (t.name.size() > gguf::kMaxWrittenNameBytes)
    fail("tensor '{}': name of {} bytes exceeds {}", t.name, t.name.size(),
         gguf::kMaxWrittenNameBytes);
  for (const Tensor& o : tensors_)
    if (o.name == t.name) fail("duplicate tensor name '{}'", t.name);
  if (t.ne.size() > gguf::kMaxDims)
    fail("tensor '{}': {} dims, at most {}", t.name, t.ne.size(), gguf::kMaxDims);
  const TypeInfo ti = type_info(t.type);
  int64_t n = 1;
  for (size_t d = 0; d < t.ne.size(); ++d) {
    if (t.ne[d] <= 0) fail("tensor '{}': dim {} = {} is not positive", t.name, d, t.ne[d]);
    if (!checked_mul(n, t.ne[d], &n)) fail("tensor '{}': element count overflows", t.name);
  }
  const int64_t row = t.ne.empty() ? 1 : t.ne[0];
  if (row % ti.block_elems != 0)
    fail("tensor '{}': row of {} elements is not a multiple of the {} block size {}", t.name, row,
         ti.name, ti.block_elems);
  uint64_t want = 0;
  if (!checked_mul(uint64_t(n / ti.block_elems), uint64_t(ti.block_bytes), &want))
    fail("tensor '{}': byte size overflows", t.name);
  if (t.nbytes != want)
    fail("tensor '{}': {} bytes given, {} {} elements need {}", t.name, t.nbytes, n, ti.name,
         want);
  tensors_.push_back(std::move(t));
}

std::vector<uint8_t> GgufWriter::serialize_header(std::vector<uint64_t>* offsets) const {
  Buf b;
  b.bytes.insert(b.bytes.end(), gguf::kMagic, gguf::kMagic + 4);
  b.put<uint32_t>(gguf::kVersion);
  b.put<uint64_t>(tensors_.size());
  b.put<uint64_t>(metadata_.items().size());
  for (const auto& [key, v] : metadata_.items()) {
    b.put_string(key);
    b.put<uint32_t>(uint32_t(v.type));
    if (v.is_array()) {
      b.put<uint32_t>(uint32_t(v.elem_type));
      b.put<uint64_t>(v.size());
      for (size_t i = 0; i < v.size(); ++i) put_scalar(b, v.elem_type, v, i);
    } else {
      put_scalar(b, v.type, v, 0);
    }
  }
  uint64_t off = 0;
  offsets->clear();
  for (const Tensor& t : tensors_) {
    b.put_string(t.name);
    b.put<uint32_t>(uint32_t(t.ne.size()));
    for (int64_t d : t.ne) b.put<uint64_t>(uint64_t(d));
    b.put<uint32_t>(uint32_t(t.type));
    if (!checked_align_up(off, alignment_, &off)) fail("GGUF data section size overflows");
    b.put<uint64_t>(off);
    offsets->push_back(off);
    if (!checked_add(off, t.nbytes, &off)) fail("GGUF data section size overflows");
  }
  // Pad so the data section starts aligned.
  uint64_t end = 0;
  if (!checked_align_up(b.bytes.size(), alignment_, &end)) fail("GGUF header size overflows");
  b.bytes.resize(size_t(end), 0);
  return std::move(b.bytes);
}

void GgufWriter::write(const std::string& path) const {
  std::vector<uint64_t> offsets;
  const std::vector<uint8_t> header = serialize_header(&offsets);
  for (const Tensor& t : tensors_)
    if (t.nbytes > 0 && t.bytes() == nullptr) fail("tensor '{}': no data to write", t.name);
  TempFile tmp(path);
  tmp.write(header.data(), header.size());
  const std::vector<uint8_t> zeros(size_t(alignment_), 0);
  uint64_t pos = 0;  // within the data section
  for (size_t i = 0; i < tensors_.size(); ++i) {
    tmp.write(zeros.data(), offsets[i] - pos);
    tmp.write(tensors_[i].bytes(), tensors_[i].nbytes);
    pos = offsets[i] + tensors_[i].nbytes;
  }
  uint64_t end = 0;
  FPTQ_CHECK(checked_align_up(pos, alignment_, &end));
  tmp.write(zeros.data(), end - pos);  // pad the last tensor like llama.cpp does
  tmp.commit();
}

}  // namespace fptq::io
