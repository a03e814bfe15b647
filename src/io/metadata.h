// Key/value metadata of a model (GGUF KV pairs, or the equivalent keys that
// the Hugging Face loader synthesizes from config.json / tokenizer.json).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fptq::io {

// GGUF value type ids.
enum class ValueType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};
std::string_view value_type_name(ValueType t);

// One metadata value: a scalar or a (flat) array. Scalars are stored as
// one-element vectors. Integers (and bools) live in `ints` (u64 values above
// INT64_MAX are stored bit-cast; `type`/`elem_type` says how to read them),
// floats in `floats`, strings in `strings`.
struct Value {
  ValueType type = ValueType::U32;
  ValueType elem_type = ValueType::U8;  // element type when type == ARRAY
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;

  bool is_array() const { return type == ValueType::ARRAY; }
  // The type of the scalar, or of the elements for an array.
  ValueType scalar_type() const { return is_array() ? elem_type : type; }
  size_t size() const;  // number of elements (1 for a scalar)

  static Value make_int(ValueType t, int64_t v);
  static Value make_float(ValueType t, double v);
  static Value make_bool(bool v);
  static Value make_string(std::string v);
  static Value make_int_array(ValueType elem, std::vector<int64_t> v);
  static Value make_float_array(ValueType elem, std::vector<double> v);
  static Value make_string_array(std::vector<std::string> v);
};

// Ordered key -> value list (file order preserved, keys unique).
class Metadata {
 public:
  // Adds a key; throws fptq::Error("duplicate key ...") if it exists.
  void add(std::string key, Value value);
  // Adds or replaces.
  void set(std::string key, Value value);
  const Value* find(std::string_view key) const;
  bool contains(std::string_view key) const { return find(key) != nullptr; }
  const std::vector<std::pair<std::string, Value>>& items() const { return items_; }

  // Typed getters. `where` names the file in error messages. They throw
  // fptq::Error when the key is missing (the versions without a default) or
  // has the wrong type / an out-of-range value.
  int64_t get_int(std::string_view key, std::string_view where) const;
  int64_t get_int(std::string_view key, int64_t dflt, std::string_view where) const;
  double get_float(std::string_view key, std::string_view where) const;  // accepts ints too
  double get_float(std::string_view key, double dflt, std::string_view where) const;
  bool get_bool(std::string_view key, bool dflt, std::string_view where) const;
  std::string get_string(std::string_view key, std::string_view where) const;
  std::string get_string(std::string_view key, std::string dflt, std::string_view where) const;

 private:
  std::vector<std::pair<std::string, Value>> items_;
  std::map<std::string, size_t, std::less<>> index_;  // key -> position in items_
};

}  // namespace fptq::io
