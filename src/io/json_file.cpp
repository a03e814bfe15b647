#include "io/json_file.h"

#include <fstream>
#include <limits>
#include <sstream>

#include "core/error.h"
#include "core/input_file.h"

namespace fptq::io {
namespace fs = std::filesystem;
using nlohmann::json;

json read_json_file(const fs::path& path, uint64_t max_bytes) {
  const std::string text = read_text_input(path.string(), "JSON file", max_bytes);
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    fail("{}: not valid JSON: {}", path.string(), e.what());
  }
}

// A short one-line rendering of a JSON value for error messages.
static std::string brief(const json& v) {
  std::string s = v.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

static const json* field(const json& obj, std::string_view key, std::string_view where) {
  if (!obj.is_object()) fail("{}: expected a JSON object", where);
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<int64_t> json_opt_int(const json& obj, std::string_view key, std::string_view where) {
  const json* v = field(obj, key, where);
  if (!v) return std::nullopt;
  if (v->is_number_unsigned()) {
    const uint64_t u = v->get<uint64_t>();
    if (u > uint64_t(std::numeric_limits<int64_t>::max()))
      fail("{}: key '{}': value {} out of range", where, key, u);
    return int64_t(u);
  }
  if (v->is_number_integer()) return v->get<int64_t>();
  fail("{}: key '{}': expected an integer, got {}", where, key, brief(*v));
}

int64_t json_int(const json& obj, std::string_view key, std::string_view where) {
  auto v = json_opt_int(obj, key, where);
  if (!v) fail("{}: missing key '{}'", where, key);
  return *v;
}

std::optional<double> json_opt_number(const json& obj, std::string_view key,
                                      std::string_view where) {
  const json* v = field(obj, key, where);
  if (!v) return std::nullopt;
  if (!v->is_number()) fail("{}: key '{}': expected a number, got {}", where, key, brief(*v));
  return v->get<double>();
}

double json_number(const json& obj, std::string_view key, std::string_view where) {
  auto v = json_opt_number(obj, key, where);
  if (!v) fail("{}: missing key '{}'", where, key);
  return *v;
}

std::optional<bool> json_opt_bool(const json& obj, std::string_view key, std::string_view where) {
  const json* v = field(obj, key, where);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) fail("{}: key '{}': expected true/false, got {}", where, key, brief(*v));
  return v->get<bool>();
}

std::optional<std::string> json_opt_string(const json& obj, std::string_view key,
                                           std::string_view where) {
  const json* v = field(obj, key, where);
  if (!v) return std::nullopt;
  if (!v->is_string()) fail("{}: key '{}': expected a string, got {}", where, key, brief(*v));
  return v->get<std::string>();
}

}  // namespace fptq::io
