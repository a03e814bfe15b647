#include "model/linear.h"

#include "core/error.h"
#include "model/profile.h"

namespace fptq::model {

std::string_view linear_kind_name(LinearKind kind) {
  switch (kind) {
    case LinearKind::f32: return "F32";
    case LinearKind::w4a8: return "W4A8";
    case LinearKind::w8a8: return "W8A8";
    case LinearKind::f32_grouped: return "F32 (group-exact)";
  }
  return "?";
}

int64_t Linear::n() const {
  switch (kind) {
    case LinearKind::w4a8: return w4.n();
    case LinearKind::w8a8: return w8.n();
    default: return w.n();
  }
}

int64_t Linear::k() const {
  switch (kind) {
    case LinearKind::w4a8: return w4.k();
    case LinearKind::w8a8: return w8.k();
    default: return w.k();
  }
}

void linear(const MatmulIn& in, const Linear& L, float* y, int64_t m, ThreadPool& pool,
            bool head) {
  const OpTimer timer(head                           ? OpClass::head
                      : L.kind == LinearKind::w4a8 ? OpClass::w4a8
                                                   : OpClass::w8a8_fp);
  switch (L.kind) {
    case LinearKind::f32: kernels::matmul_f32(in.x, L.w, y, m, pool); break;
    case LinearKind::w4a8:
      FPTQ_CHECK(in.q && in.scale);
      FPTQ_CHECK(!in.group_sums || in.group == L.w4.group());
      kernels::matmul_w4a8(in.q, in.scale, 1, in.group_sums, L.w4, y, m, pool);
      break;
    case LinearKind::w8a8:
      FPTQ_CHECK(in.q && in.scale);
      kernels::matmul_w8a8(in.q, in.scale, 1, L.w8, y, m, pool);
      break;
    case LinearKind::f32_grouped:
      if (in.codes && in.scale)
        kernels::matmul_f32_grouped(in.codes, L.w, L.group_scales.data(), L.group, in.scale, y, m,
                                    pool);
      else
        kernels::matmul_f32_grouped(in.x, L.w, L.group_scales.data(), L.group, nullptr, y, m,
                                    pool);
      break;
  }
  if (L.bias.empty()) return;
  const int64_t n = L.n();
  for (int64_t r = 0; r < m; ++r) {
    for (int64_t j = 0; j < n; ++j) y[r * n + j] += L.bias[size_t(j)];
  }
}

}  // namespace fptq::model
