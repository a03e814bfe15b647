#include "io/gguf_reader.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <unordered_set>

#include "core/checked_math.h"
#include "core/error.h"
#include "io/gguf_format.h"
#include "io/mapped_file.h"

namespace fptq::io {
namespace {

// Sequential little-endian reader over the mapped bytes. Every read checks
// the bytes that remain; `where` is a callable returning the item's name,
// evaluated only when an error is reported.
class Cursor {
 public:
  Cursor(const std::string& path, const uint8_t* data, uint64_t size)
      : path_(path), data_(data), size_(size) {}

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

  template <typename Where>
  void need(uint64_t n, const Where& where) const {
    if (n > remaining()) {
      fail("{}: {}: truncated: need {} bytes at offset {}, file size {}", path_, where(), n, pos_,
           size_);
    }
  }

  template <typename T, typename Where>
  T read(const Where& where) {
    need(sizeof(T), where);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));  // the format and the host are little-endian
    pos_ += sizeof(T);
    return v;
  }

  // GGUF string: u64 length + bytes (not NUL-terminated).
  template <typename Where>
  std::string_view read_string(const Where& where) {
    const uint64_t len = read<uint64_t>(where);
    if (len > remaining()) {
      fail("{}: {}: string length {} at offset {} beyond file size {}", path_, where(), len,
           pos_, size_);
    }
    std::string_view s(reinterpret_cast<const char*>(data_ + pos_), size_t(len));
    pos_ += len;
    return s;
  }

 private:
  const std::string& path_;
  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

// Bytes that one element of a scalar type takes on disk (strings: the
// smallest possible, the u64 length alone); 0 for ARRAY / unknown ids.
uint64_t min_elem_bytes(uint32_t t) {
  switch (ValueType(t)) {
    case ValueType::U8: case ValueType::I8: case ValueType::BOOL: return 1;
    case ValueType::U16: case ValueType::I16: return 2;
    case ValueType::U32: case ValueType::I32: case ValueType::F32: return 4;
    case ValueType::U64: case ValueType::I64: case ValueType::F64: case ValueType::STRING: return 8;
    default: return 0;
  }
}

// The memory the parsed metadata takes, bounded by gguf::kMaxMetadataMemory
// before each allocation it sizes (an array's elements, a long string).
class MetadataMemory {
 public:
  explicit MetadataMemory(const std::string& path) : path_(path) {}
  void add(uint64_t bytes, std::string_view key) {
    if (bytes > gguf::kMaxMetadataMemory - used_)
      fail("{}: key '{}': the metadata would take more than the {} MiB of memory fptq gives it "
           "({} MiB before this key, {} MiB more for it)",
           path_, key, gguf::kMaxMetadataMemory >> 20, used_ >> 20, bytes >> 20);
    used_ += bytes;
  }

 private:
  const std::string& path_;
  uint64_t used_ = 0;
};

// Heap bytes of a std::string of `len` chars beyond its own object (none
// within the small-string buffer).
uint64_t string_heap_bytes(uint64_t len) { return len < 16 ? 0 : len + 1; }

// Reads one scalar of type t and appends it to the matching vector of v.
template <typename Where>
void read_scalar(Cursor& c, ValueType t, Value& v, const Where& where) {
  switch (t) {
    case ValueType::U8: v.ints.push_back(c.read<uint8_t>(where)); break;
    case ValueType::I8: v.ints.push_back(c.read<int8_t>(where)); break;
    case ValueType::U16: v.ints.push_back(c.read<uint16_t>(where)); break;
    case ValueType::I16: v.ints.push_back(c.read<int16_t>(where)); break;
    case ValueType::U32: v.ints.push_back(c.read<uint32_t>(where)); break;
    case ValueType::I32: v.ints.push_back(c.read<int32_t>(where)); break;
    case ValueType::U64: v.ints.push_back(int64_t(c.read<uint64_t>(where))); break;  // bit-cast
    case ValueType::I64: v.ints.push_back(c.read<int64_t>(where)); break;
    case ValueType::BOOL: v.ints.push_back(c.read<uint8_t>(where) != 0 ? 1 : 0); break;
    case ValueType::F32: v.floats.push_back(c.read<float>(where)); break;
    case ValueType::F64: v.floats.push_back(c.read<double>(where)); break;
    case ValueType::STRING: v.strings.emplace_back(c.read_string(where)); break;
    case ValueType::ARRAY: FPTQ_CHECK_MSG(false, "read_scalar called for ARRAY"); break;
  }
}

Value read_value(Cursor& c, const std::string& key, MetadataMemory& mem) {
  auto where = [&] { return fmt::format("key '{}'", key); };
  const uint32_t raw_type = c.read<uint32_t>(where);
  if (min_elem_bytes(raw_type) == 0 && raw_type != uint32_t(ValueType::ARRAY))
    fail("{}: key '{}': unknown value type {}", c.path(), key, raw_type);
  Value v;
  v.type = ValueType(raw_type);
  if (v.type != ValueType::ARRAY) {
    read_scalar(c, v.type, v, where);
    if (v.type == ValueType::STRING) mem.add(string_heap_bytes(v.strings.back().size()), key);
    return v;
  }
  const uint32_t elem = c.read<uint32_t>(where);
  const uint64_t elem_bytes = min_elem_bytes(elem);
  if (elem == uint32_t(ValueType::ARRAY))
    fail("{}: key '{}': nested arrays are not supported", c.path(), key);
  if (elem_bytes == 0) fail("{}: key '{}': unknown array element type {}", c.path(), key, elem);
  v.elem_type = ValueType(elem);
  const uint64_t count = c.read<uint64_t>(where);
  // Reject absurd counts before allocating: each element takes >= elem_bytes.
  if (count > c.remaining() / elem_bytes) {
    fail("{}: key '{}': array of {} {} elements at offset {} cannot fit in file size {}", c.path(),
         key, count, value_type_name(v.elem_type), c.pos(), c.size());
  }
  if (v.elem_type == ValueType::STRING) {
    mem.add(count * sizeof(std::string), key);
    v.strings.reserve(size_t(count));
  } else if (v.elem_type == ValueType::F32 || v.elem_type == ValueType::F64) {
    mem.add(count * sizeof(double), key);
    v.floats.reserve(size_t(count));
  } else {
    mem.add(count * sizeof(int64_t), key);
    v.ints.reserve(size_t(count));
  }
  uint64_t i = 0;
  auto elem_where = [&] { return fmt::format("key '{}' element {}", key, i); };
  for (; i < count; ++i) {
    read_scalar(c, v.elem_type, v, elem_where);
    if (v.elem_type == ValueType::STRING) mem.add(string_heap_bytes(v.strings.back().size()), key);
  }
  return v;
}

// Reads general.alignment (u32, power of two; 32 when absent).
uint64_t alignment_of(const Metadata& md, const std::string& path) {
  const Value* v = md.find(gguf::kAlignmentKey);
  if (!v) return gguf::kDefaultAlignment;
  if (v->is_array() || v->type != ValueType::U32)
    fail("{}: key '{}': expected u32, found {}", path, gguf::kAlignmentKey,
         value_type_name(v->type));
  const uint64_t a = uint64_t(v->ints[0]);
  if (a == 0 || (a & (a - 1)) != 0)
    fail("{}: key '{}': alignment {} is not a power of two", path, gguf::kAlignmentKey, a);
  return a;
}

struct RawTensor {
  std::string_view name;
  uint32_t n_dims = 0;
  uint64_t ne[gguf::kMaxDims] = {};
  uint32_t type = 0;
  uint64_t offset = 0;
};

RawTensor read_tensor_info(Cursor& c, uint64_t index) {
  RawTensor t;
  auto where_idx = [&] { return fmt::format("tensor info #{}", index); };
  t.name = c.read_string(where_idx);
  if (t.name.empty()) fail("{}: tensor info #{}: empty name", c.path(), index);
  if (t.name.size() > gguf::kMaxNameBytes) {
    fail("{}: tensor info #{}: name of {} bytes exceeds {} bytes", c.path(), index, t.name.size(),
         gguf::kMaxNameBytes);
  }
  auto where = [&] { return fmt::format("tensor '{}' info", t.name); };
  t.n_dims = c.read<uint32_t>(where);
  if (t.n_dims > gguf::kMaxDims)
    fail("{}: tensor '{}': {} dims, at most {} supported", c.path(), t.name, t.n_dims,
         gguf::kMaxDims);
  for (uint32_t d = 0; d < t.n_dims; ++d) t.ne[d] = c.read<uint64_t>(where);
  t.type = c.read<uint32_t>(where);
  t.offset = c.read<uint64_t>(where);
  return t;
}

// Validates one tensor's geometry and placement; fills `out`.
void resolve_tensor(const RawTensor& r, const std::string& path, const uint8_t* base,
                    uint64_t file_size, uint64_t data_start, uint64_t alignment, TensorInfo& out) {
  const std::optional<TypeInfo> ti = type_info(r.type);
  if (!ti) fail("{}: tensor '{}': unknown tensor type {}", path, r.name, r.type);
  int64_t n = 1;
  out.ne.resize(r.n_dims);
  for (uint32_t d = 0; d < r.n_dims; ++d) {
    if (r.ne[d] == 0 || r.ne[d] > uint64_t(INT64_MAX))
      fail("{}: tensor '{}': dim {} = {} is not positive", path, r.name, d, r.ne[d]);
    out.ne[d] = int64_t(r.ne[d]);
    if (!checked_mul(n, out.ne[d], &n))
      fail("{}: tensor '{}': element count overflows at dim {}", path, r.name, d);
  }
  const int64_t row = r.n_dims == 0 ? 1 : out.ne[0];
  if (row % ti->block_elems != 0) {
    fail("{}: tensor '{}': row of {} elements is not a multiple of the {} block size {}", path,
         r.name, row, ti->name, ti->block_elems);
  }
  uint64_t nbytes = 0;
  if (!checked_mul(uint64_t(n / ti->block_elems), uint64_t(ti->block_bytes), &nbytes))
    fail("{}: tensor '{}': byte size overflows", path, r.name);
  if (r.offset % alignment != 0) {
    fail("{}: tensor '{}': offset {} is not a multiple of the alignment {}", path, r.name,
         r.offset, alignment);
  }
  uint64_t begin = 0, end = 0;
  if (!checked_add(data_start, r.offset, &begin))
    fail("{}: tensor '{}': data offset {}+{} overflows", path, r.name, data_start, r.offset);
  if (!checked_add(begin, nbytes, &end) || end > file_size) {
    fail("{}: tensor '{}': data {}+{} beyond file size {}", path, r.name, begin, nbytes,
         file_size);
  }
  out.name = std::string(r.name);
  out.type = GgmlType(r.type);
  out.offset = r.offset;
  out.nbytes = nbytes;
  out.data = base + begin;
}

}  // namespace

std::shared_ptr<const ModelFile> read_gguf(const std::string& path) {
  std::shared_ptr<const MappedFile> map = MappedFile::open(path);
  std::shared_ptr<ModelFile> model = parse_gguf(map->data(), map->size(), path);
  model->storage.push_back(map);
  return model;
}

std::shared_ptr<ModelFile> parse_gguf(const uint8_t* bytes, uint64_t size, const std::string& path) {
  Cursor c(path, bytes, size);
  auto model = std::make_shared<ModelFile>();
  model->path = path;
  model->format = "gguf";

  // Header.
  auto header = [] { return std::string("header"); };
  c.need(4, header);
  if (std::memcmp(bytes, gguf::kMagic, 4) != 0) {
    const uint8_t* m = bytes;
    fail("{}: bad magic {:02x} {:02x} {:02x} {:02x} (expected \"GGUF\")", path, m[0],
         size > 1 ? m[1] : 0, size > 2 ? m[2] : 0, size > 3 ? m[3] : 0);
  }
  c.read<uint32_t>(header);
  const uint32_t version = c.read<uint32_t>(header);
  if (version != 2 && version != 3) {
    if (version == 0x02000000u || version == 0x03000000u)
      fail("{}: big-endian GGUF is not supported", path);
    fail("{}: unsupported GGUF version {} (expected 2 or 3)", path, version);
  }
  model->gguf_version = version;
  const uint64_t n_tensors = c.read<uint64_t>(header);
  const uint64_t n_kv = c.read<uint64_t>(header);
  // Reject absurd counts before allocating anything sized by them.
  if (n_kv > c.remaining() / gguf::kMinKvBytes) {
    fail("{}: header: {} kv pairs cannot fit in the {} bytes after the header", path, n_kv,
         c.remaining());
  }
  if (n_tensors > c.remaining() / gguf::kMinTensorInfoBytes) {
    fail("{}: header: {} tensor infos cannot fit in the {} bytes after the header", path,
         n_tensors, c.remaining());
  }

  // Key/value pairs.
  MetadataMemory mem(path);
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key(c.read_string([&] { return fmt::format("kv #{} key", i); }));
    if (key.empty()) fail("{}: kv #{}: empty key", path, i);
    if (model->metadata.contains(key)) fail("{}: duplicate key '{}'", path, key);
    // The pair itself: its Value and key objects, the key's bytes twice
    // (the list and its index) and the index's node.
    mem.add(sizeof(Value) + 2 * sizeof(std::string) + 2 * string_heap_bytes(key.size()) + 64, key);
    Value v = read_value(c, key, mem);
    model->metadata.add(std::move(key), std::move(v));
  }
  const uint64_t alignment = alignment_of(model->metadata, path);
  model->alignment = alignment;

  // Tensor infos.
  std::vector<RawTensor> raw(static_cast<size_t>(n_tensors));
  std::unordered_set<std::string_view> names;
  names.reserve(size_t(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    raw[i] = read_tensor_info(c, i);
    if (!names.insert(raw[i].name).second) fail("{}: duplicate tensor name '{}'", path, raw[i].name);
  }

  // Data section: starts at the next multiple of the alignment.
  uint64_t data_start = 0;
  if (!checked_align_up(c.pos(), alignment, &data_start))
    fail("{}: data section offset overflows", path);
  model->tensors.resize(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    resolve_tensor(raw[i], path, bytes, size, data_start, alignment,
                   model->tensors[i]);
  }

  // No two tensors may share bytes.
  std::vector<size_t> order(model->tensors.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return model->tensors[a].offset < model->tensors[b].offset;
  });
  for (size_t k = 1; k < order.size(); ++k) {
    const TensorInfo& prev = model->tensors[order[k - 1]];
    const TensorInfo& cur = model->tensors[order[k]];
    if (prev.offset + prev.nbytes > cur.offset) {
      fail("{}: tensor '{}': data at offset {} overlaps tensor '{}' at {}+{}", path, cur.name,
           cur.offset, prev.name, prev.offset, prev.nbytes);
    }
  }

  return model;
}

}  // namespace fptq::io
