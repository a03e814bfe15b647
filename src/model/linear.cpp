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

namespace {

kernels::XGroupScales xgroups(const MatmulIn& in) {
  return kernels::XGroupScales{in.group_scale, in.act_group};
}

}  // namespace

void linear_multi(const MatmulIn& in, const Linear* const* Ls, float* const* ys, int n, int64_t m,
                  ThreadPool& pool) {
  constexpr int kMax = 4;
  bool same = n >= 2 && n <= kMax && in.q != nullptr && in.scale != nullptr;
  for (int i = 0; same && i < n; ++i) {
    same = Ls[i]->kind == Ls[0]->kind && Ls[i]->bias.empty() && Ls[i]->k() == Ls[0]->k() &&
           (Ls[i]->kind == LinearKind::w8a8 ||
            (Ls[i]->kind == LinearKind::w4a8 && Ls[i]->w4.group() == Ls[0]->w4.group()));
  }
  if (!same) {
    for (int i = 0; i < n; ++i) linear(in, *Ls[i], ys[i], m, pool);
    return;
  }
  if (Ls[0]->kind == LinearKind::w4a8) {
    const OpTimer timer(OpClass::w4a8);
    FPTQ_CHECK(!in.group_sums || in.group == Ls[0]->w4.group());
    const kernels::PackedW4* ws[kMax];
    for (int i = 0; i < n; ++i) ws[i] = &Ls[i]->w4;
    kernels::matmul_w4a8_multi(in.q, in.scale, 1, in.group_sums, ws, ys, n, m, pool, xgroups(in));
  } else {
    const OpTimer timer(OpClass::w8a8_fp);
    const kernels::PackedW8* ws[kMax];
    for (int i = 0; i < n; ++i) ws[i] = &Ls[i]->w8;
    kernels::matmul_w8a8_multi(in.q, in.scale, 1, ws, ys, n, m, pool, xgroups(in));
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
      kernels::matmul_w4a8(in.q, in.scale, 1, in.group_sums, L.w4, y, m, pool, xgroups(in));
      break;
    case LinearKind::w8a8:
      FPTQ_CHECK(in.q && in.scale);
      kernels::matmul_w8a8(in.q, in.scale, 1, L.w8, y, m, pool, xgroups(in));
      break;
    case LinearKind::f32_grouped:
      if (in.codes && in.group_scale)
        kernels::matmul_f32_grouped(in.codes, L.w, L.group_scales.data(), L.group, nullptr, y, m,
                                    pool, xgroups(in));
      else if (in.codes && in.scale)
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
