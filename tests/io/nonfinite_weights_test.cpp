// dequantize_tensor refuses weights that are NaN or Inf (F32, F16 and a
// quantized block whose fp16 scale is Inf), naming the tensor and the
// element, and types fptq cannot read (Q2_K).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/dequant.h"

namespace fptq::io {
namespace {

TensorInfo tensor(const std::string& name, GgmlType type, std::vector<int64_t> ne,
                  const std::vector<uint8_t>& bytes) {
  TensorInfo t;
  t.name = name;
  t.type = type;
  t.ne = std::move(ne);
  t.data = bytes.data();
  t.nbytes = bytes.size();
  return t;
}

std::string error_of(const TensorInfo& t) {
  try {
    dequantize_tensor(t);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(NonFiniteWeights, F32NaNAndInfNamed) {
  std::vector<float> w(8, 0.5f);
  std::vector<uint8_t> b(w.size() * 4);
  std::memcpy(b.data(), w.data(), b.size());
  EXPECT_EQ(dequantize_tensor(tensor("ok", GgmlType::F32, {8}, b)).size(), 8u);

  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(&b[4 * 3], &nan, 4);
  EXPECT_EQ(error_of(tensor("blk.0.attn_q.weight", GgmlType::F32, {4, 2}, b)),
            "tensor 'blk.0.attn_q.weight': element 3 is NaN (a F32 weight must be finite)");
  const float ninf = -std::numeric_limits<float>::infinity();
  std::memcpy(&b[4 * 3], &ninf, 4);
  EXPECT_EQ(error_of(tensor("w", GgmlType::F32, {8}, b)),
            "tensor 'w': element 3 is -Inf (a F32 weight must be finite)");
}

TEST(NonFiniteWeights, F16InfAndQ8_0InfScale) {
  std::vector<uint8_t> h(2 * 4, 0);
  h[2 * 2 + 1] = 0x7c;  // element 2 = +Inf
  EXPECT_EQ(error_of(tensor("h", GgmlType::F16, {4}, h)),
            "tensor 'h': element 2 is +Inf (a F16 weight must be finite)");
  // Q8_0 block: fp16 scale then 32 int8; an Inf scale makes every nonzero q infinite.
  std::vector<uint8_t> q(34, 1);
  q[0] = 0x00, q[1] = 0x7c;
  const std::string e = error_of(tensor("q", GgmlType::Q8_0, {32}, q));
  EXPECT_NE(e.find("tensor 'q': element 0 is +Inf"), std::string::npos) << e;
}

TEST(NonFiniteWeights, Q2KIsRefusedByName) {
  std::vector<uint8_t> b(84, 0);  // one Q2_K block of 256 elements
  EXPECT_EQ(error_of(tensor("blk.0.ffn_down.weight", GgmlType::Q2_K, {256}, b)),
            "tensor 'blk.0.ffn_down.weight': type Q2_K cannot be dequantized");
}

}  // namespace
}  // namespace fptq::io
