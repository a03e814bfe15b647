#include "io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "core/checked_math.h"
#include "core/error.h"
#include "io/json_file.h"

namespace fptq::io {
namespace fs = std::filesystem;
using nlohmann::json;

uint64_t safetensors_dtype_size(std::string_view dtype) {
  struct Entry {
    std::string_view name;
    uint64_t size;
  };
  static constexpr Entry kDtypes[] = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1},
      {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},
      {"U32", 4},  {"F32", 4}, {"F64", 8}, {"I64", 8},     {"U64", 8},
  };
  for (const Entry& e : kDtypes)
    if (e.name == dtype) return e.size;
  return 0;
}

const SafetensorsTensor* SafetensorsFile::find(std::string_view name) const {
  for (const SafetensorsTensor& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

namespace {

// Unsigned integer element of a JSON array, or fail.
uint64_t json_u64(const json& v, std::string_view where, std::string_view tensor,
                  std::string_view what) {
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
    fail("{}: tensor '{}': {} must hold non-negative integers, got {}", where, tensor, what,
         v.dump());
  return v.get<uint64_t>();
}

SafetensorsTensor parse_entry(const std::string& name, const json& e, uint64_t data_size,
                              std::string_view where) {
  if (!e.is_object()) fail("{}: tensor '{}': entry is not a JSON object", where, name);
  SafetensorsTensor t;
  t.name = name;

  auto dt = e.find("dtype");
  if (dt == e.end() || !dt->is_string())
    fail("{}: tensor '{}': missing or invalid 'dtype'", where, name);
  t.dtype = dt->get<std::string>();
  const uint64_t esize = safetensors_dtype_size(t.dtype);
  if (esize == 0) fail("{}: tensor '{}': unknown dtype '{}'", where, name, t.dtype);

  auto sh = e.find("shape");
  if (sh == e.end() || !sh->is_array())
    fail("{}: tensor '{}': missing or invalid 'shape'", where, name);
  if (sh->size() > 8) fail("{}: tensor '{}': {} dimensions (at most 8)", where, name, sh->size());
  uint64_t elems = 1;
  for (const json& d : *sh) {
    const uint64_t dim = json_u64(d, where, name, "'shape'");
    if (dim > uint64_t(INT64_MAX) || !checked_mul(elems, dim, &elems))
      fail("{}: tensor '{}': shape {} overflows", where, name, sh->dump());
    t.shape.push_back(int64_t(dim));
  }
  uint64_t nbytes = 0;
  if (elems > uint64_t(INT64_MAX) || !checked_mul(elems, esize, &nbytes))
    fail("{}: tensor '{}': shape {} x {} bytes overflows", where, name, sh->dump(), esize);

  auto off = e.find("data_offsets");
  if (off == e.end() || !off->is_array() || off->size() != 2)
    fail("{}: tensor '{}': missing or invalid 'data_offsets' (need [begin, end])", where, name);
  const uint64_t begin = json_u64((*off)[0], where, name, "'data_offsets'");
  const uint64_t end = json_u64((*off)[1], where, name, "'data_offsets'");
  if (begin > end || end > data_size)
    fail("{}: tensor '{}': data_offsets [{}, {}) out of range (data size {})", where, name, begin,
         end, data_size);
  if (end - begin != nbytes)
    fail("{}: tensor '{}': shape {} x {} ({} bytes/elem) = {} bytes but data_offsets hold {}",
         where, name, sh->dump(), t.dtype, esize, nbytes, end - begin);
  t.offset = begin;
  t.nbytes = nbytes;
  return t;
}

}  // namespace

SafetensorsFile parse_safetensors(const uint8_t* bytes, uint64_t size, std::string_view where) {
  SafetensorsFile f;
  f.path = std::string(where);
  if (size < 8) fail("{}: {} bytes, too small for a safetensors header length", where, size);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
  if (n > kSafetensorsMaxHeader)
    fail("{}: header length {} exceeds the {} byte limit", where, n, kSafetensorsMaxHeader);
  if (n > size - 8) fail("{}: header length {} beyond file size {}", where, n, size);
  const uint64_t data_size = size - 8 - n;
  const uint8_t* data = bytes + 8 + n;

  json header;
  try {
    std::set<std::string, std::less<>> seen;
    header = json::parse(bytes + 8, bytes + 8 + n, [&](int depth, json::parse_event_t ev, json& k) {
      if (depth == 1 && ev == json::parse_event_t::key) {
        const std::string& key = k.get_ref<const std::string&>();
        if (!seen.insert(key).second)
          fail("{}: tensor '{}' appears twice in the header", where, key);
      }
      return true;
    });
  } catch (const json::exception& e) {
    fail("{}: header is not valid JSON: {}", where, e.what());
  }
  if (!header.is_object()) fail("{}: header is not a JSON object", where);

  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) fail("{}: '__metadata__' is not a JSON object", where);
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) fail("{}: '__metadata__' key '{}' is not a string", where, k);
        f.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    SafetensorsTensor t = parse_entry(name, entry, data_size, where);
    t.data = data + t.offset;
    f.tensors.push_back(std::move(t));
  }

  std::sort(f.tensors.begin(), f.tensors.end(), [](const auto& a, const auto& b) {
    return a.offset != b.offset ? a.offset < b.offset : a.nbytes < b.nbytes;
  });
  uint64_t cursor = 0;
  const SafetensorsTensor* prev = nullptr;
  for (const SafetensorsTensor& t : f.tensors) {
    if (t.offset < cursor)
      fail("{}: tensor '{}': data_offsets [{}, {}) overlap tensor '{}' ending at {}", where, t.name,
           t.offset, t.offset + t.nbytes, prev->name, cursor);
    if (t.offset > cursor)
      fail("{}: tensor '{}': bytes [{}, {}) before it belong to no tensor", where, t.name, cursor,
           t.offset);
    cursor = t.offset + t.nbytes;
    prev = &t;
  }
  if (cursor != data_size)
    fail("{}: bytes [{}, {}) at the end of the data belong to no tensor", where, cursor, data_size);
  return f;
}

SafetensorsFile read_safetensors(const std::string& path) {
  auto mapping = MappedFile::open(path);
  SafetensorsFile f = parse_safetensors(mapping->data(), mapping->size(), path);
  f.mapping = std::move(mapping);
  return f;
}

const SafetensorsTensor* SafetensorsCheckpoint::find(std::string_view name) const {
  auto it =
      std::lower_bound(tensors.begin(), tensors.end(), name,
                       [](const SafetensorsTensor* t, std::string_view n) { return t->name < n; });
  return it != tensors.end() && (*it)->name == name ? *it : nullptr;
}

namespace {

// Reads the index: tensor name -> shard file name (a plain file name inside
// the directory; no path separators, so an index cannot point elsewhere).
std::map<std::string, std::string> read_index(const fs::path& index_path) {
  const std::string where = index_path.string();
  const json index = read_json_file(index_path, kSafetensorsMaxHeader);
  if (!index.is_object()) fail("{}: expected a JSON object", where);
  auto wm = index.find("weight_map");
  if (wm == index.end() || !wm->is_object()) fail("{}: missing or invalid 'weight_map'", where);
  std::map<std::string, std::string> map;
  for (const auto& [tensor, file] : wm->items()) {
    if (!file.is_string()) fail("{}: tensor '{}': shard name is not a string", where, tensor);
    const std::string shard = file.get<std::string>();
    if (shard.empty() || shard == "." || shard == ".." ||
        shard.find_first_of("/\\") != std::string::npos)
      fail("{}: tensor '{}': invalid shard file name '{}'", where, tensor, shard);
    map.emplace(tensor, shard);
  }
  if (map.empty()) fail("{}: 'weight_map' is empty", where);
  return map;
}

}  // namespace

SafetensorsCheckpoint read_safetensors_checkpoint(const fs::path& dir) {
  SafetensorsCheckpoint ck;
  ck.dir = dir.string();
  const fs::path index_path = dir / "model.safetensors.index.json";
  std::map<std::string, std::string> index;  // tensor -> shard
  if (fs::exists(index_path)) {
    index = read_index(index_path);
    std::set<std::string> shards;
    for (const auto& [tensor, shard] : index) shards.insert(shard);
    for (const std::string& shard : shards) {
      const fs::path p = dir / shard;
      if (!fs::is_regular_file(p))
        fail("{}: shard '{}' (tensor '{}', ...) does not exist", index_path.string(), shard,
             std::find_if(index.begin(), index.end(), [&](auto& kv) {
               return kv.second == shard;
             })->first);
      ck.files.push_back(read_safetensors(p.string()));
    }
  } else if (fs::is_regular_file(dir / "model.safetensors")) {
    ck.files.push_back(read_safetensors((dir / "model.safetensors").string()));
  } else {
    std::vector<fs::path> found;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.path().extension() == ".safetensors") found.push_back(e.path());
    if (ec) fail("{}: cannot list directory: {}", dir.string(), ec.message());
    if (found.size() != 1)
      fail("{}: {} .safetensors files and no model.safetensors.index.json", dir.string(),
           found.size());
    ck.files.push_back(read_safetensors(found[0].string()));
  }

  std::vector<std::pair<const SafetensorsTensor*, size_t>> all;
  for (size_t i = 0; i < ck.files.size(); ++i)
    for (const SafetensorsTensor& t : ck.files[i].tensors) all.emplace_back(&t, i);
  std::sort(all.begin(), all.end(),
            [](const auto& a, const auto& b) { return a.first->name < b.first->name; });
  for (size_t i = 0; i < all.size(); ++i) {
    const auto& [t, fi] = all[i];
    if (i > 0 && all[i - 1].first->name == t->name)
      fail("{}: tensor '{}' appears in both {} and {}", ck.dir, t->name,
           ck.files[all[i - 1].second].path, ck.files[fi].path);
    if (!index.empty()) {
      auto it = index.find(t->name);
      const std::string file_name = fs::path(ck.files[fi].path).filename().string();
      if (it == index.end())
        fail("{}: tensor '{}' of {} is not listed in the weight_map", index_path.string(), t->name,
             file_name);
      if (it->second != file_name)
        fail("{}: tensor '{}' is in {} but the weight_map says {}", index_path.string(), t->name,
             file_name, it->second);
    }
    ck.tensors.push_back(t);
    ck.file_of.push_back(fi);
  }
  if (!index.empty()) {
    for (const auto& [tensor, shard] : index)
      if (!ck.find(tensor))
        fail("{}: tensor '{}' listed in the weight_map is missing from {}", index_path.string(),
             tensor, shard);
  }
  return ck;
}

}  // namespace fptq::io
