#include "io/ggml_types.h"

#include "core/error.h"

namespace fptq::io {
namespace {

struct Row {
  uint32_t id;
  TypeInfo info;
};

// Block geometry as defined by ggml (ggml-common.h); see io/ggml_blocks.h for
// the byte layouts of the types fptq dequantizes.
constexpr Row kTypes[] = {
    {0, {"F32", 1, 4, true}},
    {1, {"F16", 1, 2, true}},
    {2, {"Q4_0", 32, 18, true}},
    {3, {"Q4_1", 32, 20, true}},
    {6, {"Q5_0", 32, 22, true}},
    {7, {"Q5_1", 32, 24, true}},
    {8, {"Q8_0", 32, 34, true}},
    {9, {"Q8_1", 32, 36, false}},
    {10, {"Q2_K", 256, 84, false}},
    {11, {"Q3_K", 256, 110, false}},
    {12, {"Q4_K", 256, 144, true}},
    {13, {"Q5_K", 256, 176, true}},
    {14, {"Q6_K", 256, 210, true}},
    {15, {"Q8_K", 256, 292, false}},
    {20, {"IQ4_NL", 32, 18, true}},
    {24, {"I8", 1, 1, false}},
    {25, {"I16", 1, 2, false}},
    {26, {"I32", 1, 4, false}},
    {27, {"I64", 1, 8, false}},
    {28, {"F64", 1, 8, false}},
    {30, {"BF16", 1, 2, true}},
};

}  // namespace

std::optional<TypeInfo> type_info(uint32_t raw_type) {
  for (const Row& r : kTypes) {
    if (r.id == raw_type) return r.info;
  }
  return std::nullopt;
}

TypeInfo type_info(GgmlType type) {
  std::optional<TypeInfo> t = type_info(static_cast<uint32_t>(type));
  FPTQ_CHECK_MSG(t.has_value(), "GgmlType {} missing from the type table", uint32_t(type));
  return *t;
}

}  // namespace fptq::io
