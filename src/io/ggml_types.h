// ggml tensor types: ids as stored in GGUF, block geometry.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace fptq::io {

enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ4_NL = 20,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  BF16 = 30,
};

// The int4 group-wise weight types the integer engine runs (W4A8): Q4_0
// (uniform levels) and IQ4_NL (ggml's non-uniform levels), same block layout.
inline bool is_int4_type(GgmlType t) { return t == GgmlType::Q4_0 || t == GgmlType::IQ4_NL; }

struct TypeInfo {
  std::string_view name;  // "F32", "Q4_0", ...
  int64_t block_elems;    // elements per block (1 for plain types)
  int64_t block_bytes;    // bytes per block
  bool can_dequantize;    // fptq can convert this type to F32
};

// Geometry of a raw GGUF type id; nullopt for ids fptq does not know.
std::optional<TypeInfo> type_info(uint32_t raw_type);
// Same for a known enum value (never nullopt for the enumerators above).
TypeInfo type_info(GgmlType type);

}  // namespace fptq::io
