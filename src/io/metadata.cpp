#include "io/metadata.h"

#include <limits>

#include "core/error.h"

namespace fptq::io {

std::string_view value_type_name(ValueType t) {
  switch (t) {
    case ValueType::U8: return "u8";
    case ValueType::I8: return "i8";
    case ValueType::U16: return "u16";
    case ValueType::I16: return "i16";
    case ValueType::U32: return "u32";
    case ValueType::I32: return "i32";
    case ValueType::F32: return "f32";
    case ValueType::BOOL: return "bool";
    case ValueType::STRING: return "string";
    case ValueType::ARRAY: return "array";
    case ValueType::U64: return "u64";
    case ValueType::I64: return "i64";
    case ValueType::F64: return "f64";
  }
  return "unknown";
}

namespace {

bool is_int_type(ValueType t) {
  switch (t) {
    case ValueType::U8: case ValueType::I8: case ValueType::U16: case ValueType::I16:
    case ValueType::U32: case ValueType::I32: case ValueType::U64: case ValueType::I64:
    case ValueType::BOOL:
      return true;
    default:
      return false;
  }
}
bool is_float_type(ValueType t) { return t == ValueType::F32 || t == ValueType::F64; }

std::string describe(const Value& v) {
  if (v.is_array()) return fmt::format("array of {}", value_type_name(v.elem_type));
  return std::string(value_type_name(v.type));
}

}  // namespace

size_t Value::size() const {
  const ValueType t = scalar_type();
  if (t == ValueType::STRING) return strings.size();
  if (is_float_type(t)) return floats.size();
  return ints.size();
}

Value Value::make_int(ValueType t, int64_t v) {
  FPTQ_CHECK(is_int_type(t));
  Value r;
  r.type = t;
  r.ints = {v};
  return r;
}
Value Value::make_float(ValueType t, double v) {
  FPTQ_CHECK(is_float_type(t));
  Value r;
  r.type = t;
  r.floats = {v};
  return r;
}
Value Value::make_bool(bool v) { return make_int(ValueType::BOOL, v ? 1 : 0); }
Value Value::make_string(std::string v) {
  Value r;
  r.type = ValueType::STRING;
  r.strings.push_back(std::move(v));
  return r;
}
Value Value::make_int_array(ValueType elem, std::vector<int64_t> v) {
  FPTQ_CHECK(is_int_type(elem));
  Value r;
  r.type = ValueType::ARRAY;
  r.elem_type = elem;
  r.ints = std::move(v);
  return r;
}
Value Value::make_float_array(ValueType elem, std::vector<double> v) {
  FPTQ_CHECK(is_float_type(elem));
  Value r;
  r.type = ValueType::ARRAY;
  r.elem_type = elem;
  r.floats = std::move(v);
  return r;
}
Value Value::make_string_array(std::vector<std::string> v) {
  Value r;
  r.type = ValueType::ARRAY;
  r.elem_type = ValueType::STRING;
  r.strings = std::move(v);
  return r;
}

void Metadata::add(std::string key, Value value) {
  if (index_.count(key)) fail("duplicate key '{}'", key);
  index_.emplace(key, items_.size());
  items_.emplace_back(std::move(key), std::move(value));
}

void Metadata::set(std::string key, Value value) {
  auto it = index_.find(key);
  if (it != index_.end()) {
    items_[it->second].second = std::move(value);
    return;
  }
  index_.emplace(key, items_.size());
  items_.emplace_back(std::move(key), std::move(value));
}

const Value* Metadata::find(std::string_view key) const {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : &items_[it->second].second;
}

int64_t Metadata::get_int(std::string_view key, std::string_view where) const {
  const Value* v = find(key);
  if (!v) fail("{}: missing key '{}'", where, key);
  if (v->is_array() || !is_int_type(v->type) || v->ints.size() != 1)
    fail("{}: key '{}': expected an integer, found {}", where, key, describe(*v));
  if (v->type == ValueType::U64 && v->ints[0] < 0)
    fail("{}: key '{}': value {} out of range", where, key, uint64_t(v->ints[0]));
  return v->ints[0];
}

int64_t Metadata::get_int(std::string_view key, int64_t dflt, std::string_view where) const {
  return contains(key) ? get_int(key, where) : dflt;
}

double Metadata::get_float(std::string_view key, std::string_view where) const {
  const Value* v = find(key);
  if (!v) fail("{}: missing key '{}'", where, key);
  if (!v->is_array() && is_float_type(v->type) && v->floats.size() == 1) return v->floats[0];
  if (!v->is_array() && is_int_type(v->type) && v->type != ValueType::BOOL) {
    return double(get_int(key, where));
  }
  fail("{}: key '{}': expected a number, found {}", where, key, describe(*v));
}

double Metadata::get_float(std::string_view key, double dflt, std::string_view where) const {
  return contains(key) ? get_float(key, where) : dflt;
}

bool Metadata::get_bool(std::string_view key, bool dflt, std::string_view where) const {
  const Value* v = find(key);
  if (!v) return dflt;
  if (v->is_array() || v->type != ValueType::BOOL || v->ints.size() != 1)
    fail("{}: key '{}': expected a bool, found {}", where, key, describe(*v));
  return v->ints[0] != 0;
}

std::string Metadata::get_string(std::string_view key, std::string_view where) const {
  const Value* v = find(key);
  if (!v) fail("{}: missing key '{}'", where, key);
  if (v->is_array() || v->type != ValueType::STRING || v->strings.size() != 1)
    fail("{}: key '{}': expected a string, found {}", where, key, describe(*v));
  return v->strings[0];
}

std::string Metadata::get_string(std::string_view key, std::string dflt,
                                 std::string_view where) const {
  return contains(key) ? get_string(key, where) : std::move(dflt);
}

}  // namespace fptq::io
