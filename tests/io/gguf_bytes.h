// Test helper: builds GGUF byte images field by field, valid or deliberately
// malformed (wrong counts, bad offsets, unknown types...), and records where
// each section starts so tests can truncate inside a chosen section.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace fptq::io::testing {

using Bytes = std::vector<uint8_t>;

template <typename T>
void append(Bytes& b, T v) {
  const size_t at = b.size();
  b.resize(at + sizeof(T));
  std::memcpy(b.data() + at, &v, sizeof(T));
}
inline void append_string(Bytes& b, const std::string& s) {
  append<uint64_t>(b, s.size());
  b.insert(b.end(), s.begin(), s.end());
}

// Encoded values (type id + payload), for RawKv.
struct RawValue {
  uint32_t type;
  Bytes payload;
};
inline RawValue val_u32(uint32_t v) {
  RawValue r{4, {}};
  append(r.payload, v);
  return r;
}
inline RawValue val_u64(uint64_t v) {
  RawValue r{10, {}};
  append(r.payload, v);
  return r;
}
inline RawValue val_string(const std::string& s) {
  RawValue r{8, {}};
  append_string(r.payload, s);
  return r;
}
inline RawValue val_array_u32(const std::vector<uint32_t>& v) {
  RawValue r{9, {}};
  append<uint32_t>(r.payload, 4);
  append<uint64_t>(r.payload, v.size());
  for (uint32_t x : v) append(r.payload, x);
  return r;
}
inline RawValue val_array_strings(const std::vector<std::string>& v) {
  RawValue r{9, {}};
  append<uint32_t>(r.payload, 8);
  append<uint64_t>(r.payload, v.size());
  for (const auto& s : v) append_string(r.payload, s);
  return r;
}

struct RawKv {
  std::string key;
  RawValue value;
};
struct RawTensorInfo {
  std::string name;
  std::vector<uint64_t> ne;
  uint32_t type = 0;
  uint64_t offset = 0;
};

// Where the sections of a built image start.
struct Layout {
  size_t kv_start = 0;          // first key (== end of the 24-byte header)
  size_t first_value = 0;       // type id of the first KV value
  size_t tensor_infos = 0;      // first tensor info
  size_t data = 0;              // data section
};

struct RawGguf {
  std::string magic = "GGUF";
  uint32_t version = 3;
  std::optional<uint64_t> n_tensors;  // default: tensors.size()
  std::optional<uint64_t> n_kv;       // default: kvs.size()
  std::vector<RawKv> kvs;
  std::vector<RawTensorInfo> tensors;
  uint64_t alignment = 32;  // padding before the data section
  Bytes data;               // the data section, as is

  Bytes build(Layout* layout = nullptr) const {
    Bytes b(magic.begin(), magic.end());
    append(b, version);
    append<uint64_t>(b, n_tensors.value_or(tensors.size()));
    append<uint64_t>(b, n_kv.value_or(kvs.size()));
    Layout l;
    l.kv_start = b.size();
    for (size_t i = 0; i < kvs.size(); ++i) {
      append_string(b, kvs[i].key);
      if (i == 0) l.first_value = b.size();
      append(b, kvs[i].value.type);
      b.insert(b.end(), kvs[i].value.payload.begin(), kvs[i].value.payload.end());
    }
    l.tensor_infos = b.size();
    for (const RawTensorInfo& t : tensors) {
      append_string(b, t.name);
      append<uint32_t>(b, uint32_t(t.ne.size()));
      for (uint64_t d : t.ne) append(b, d);
      append(b, t.type);
      append(b, t.offset);
    }
    while (b.size() % alignment != 0) b.push_back(0);
    l.data = b.size();
    b.insert(b.end(), data.begin(), data.end());
    if (layout) *layout = l;
    return b;
  }
};

// A small valid file: 3 KVs, an F32 [4] tensor and a Q8_0 [32, 2] tensor;
// the data section ends exactly at the last tensor's last byte, so every
// proper prefix of the image is invalid.
inline RawGguf small_valid_gguf() {
  RawGguf g;
  g.kvs.push_back({"general.architecture", val_string("llama")});
  g.kvs.push_back({"llama.block_count", val_u32(1)});
  g.kvs.push_back({"tokenizer.ggml.tokens", val_array_strings({"<s>", "a", "bc"})});
  g.tensors.push_back({"output_norm.weight", {4}, 0, 0});
  g.tensors.push_back({"token_embd.weight", {32, 2}, 8, 32});
  g.data.assign(32 + 2 * 34, 0);
  for (size_t i = 0; i < g.data.size(); ++i) g.data[i] = uint8_t(i * 7 + 1);
  return g;
}

}  // namespace fptq::io::testing
