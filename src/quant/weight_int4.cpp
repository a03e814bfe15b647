#include "quant/weight_int4.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/half.h"

namespace fptq::quant {

std::string_view scale_rule_name(ScaleRule rule) {
  switch (rule) {
    case ScaleRule::Absmax7: return "absmax7";
    case ScaleRule::Q4_0: return "q4_0";
    case ScaleRule::Search: return "search";
    case ScaleRule::Weighted: return "weighted";
  }
  FPTQ_CHECK(false);
  return "";
}

ScaleRule parse_scale_rule(std::string_view name) {
  for (ScaleRule r : {ScaleRule::Absmax7, ScaleRule::Q4_0, ScaleRule::Search, ScaleRule::Weighted})
    if (scale_rule_name(r) == name) return r;
  fail("unknown int4 scale rule '{}' (expected absmax7, q4_0, search or weighted)", name);
}

std::string_view int4_grid_name(Int4Grid grid) {
  switch (grid) {
    case Int4Grid::Uniform: return "uniform";
    case Int4Grid::Nl: return "nl";
    case Int4Grid::Auto: return "auto";
  }
  FPTQ_CHECK(false);
  return "";
}

int int4_qmin(ScaleRule rule) { return rule == ScaleRule::Absmax7 ? -7 : -8; }

std::string_view int4_status_name(Int4Status s) {
  switch (s) {
    case Int4Status::Ok: return "ok";
    case Int4Status::KNotDivisible: return "k_not_divisible";
  }
  FPTQ_CHECK(false);
  return "";
}

int8_t int4_code(float w, float d, int qmin) {
  if (d == 0.0f) return 0;
  const float r = std::nearbyint(w / d);
  return int8_t(std::clamp(r, float(qmin), float(kInt4QMax)));
}

int8_t int4_grid_code(float w, float d, Int4Grid grid) {
  if (grid == Int4Grid::Uniform) return int4_code(w, d, -8);
  if (d == 0.0f) return 0;
  // Index = the number of midpoints between adjacent levels below x (exact
  // halves in float), so a tie goes to the lower level; found by binary
  // search over the 15 sorted midpoints.
  static constexpr auto mid = [] {
    std::array<float, 15> m{};
    for (int i = 0; i < 15; ++i) m[size_t(i)] = 0.5f * float(kIq4NlLevels[i] + kIq4NlLevels[i + 1]);
    return m;
  }();
  const float x = w / d;
  // Branch-free (the comparisons are data-dependent and unpredictable).
  int idx = int(mid[7] < x) << 3;
  idx += int(mid[size_t(idx + 3)] < x) << 2;
  idx += int(mid[size_t(idx + 1)] < x) << 1;
  idx += int(mid[size_t(idx)] < x);
  return int8_t(idx - 8);
}

namespace {

// d rounded to the nearest fp16 value; throws when it overflows.
float round_scale(float d) {
  const float h = fp16_to_f32(f32_to_fp16(d));
  if (!std::isfinite(h)) fail("group scale {} overflows fp16 (largest 65504)", d);
  return h;
}

// Σ (q·d − w)² for the group under scale d (codes as int4_code).
double group_error(std::span<const float> w, float d, int qmin) {
  double e = 0.0;
  for (float v : w) {
    const double diff = double(float(int4_code(v, d, qmin)) * d) - double(v);
    e += diff * diff;
  }
  return e;
}

// The signed element of largest magnitude (the first one on ties); 0 for an
// empty group. Throws on a non-finite value.
float signed_extreme(std::span<const float> w) {
  float amax = 0.0f, ext = 0.0f;
  for (float v : w) {
    if (!std::isfinite(v)) fail("weight value {} is not finite", v);
    if (std::fabs(v) > amax) {
      amax = std::fabs(v);
      ext = v;
    }
  }
  return ext;
}

float search_scale(std::span<const float> w, float ext) {
  constexpr int qmin = -8;
  float best = round_scale(ext / -8.0f);
  double best_err = group_error(w, best, qmin);
  auto consider = [&](float d_raw) {
    const float d = round_scale(d_raw);
    if (d == 0.0f) return;
    const double e = group_error(w, d, qmin);
    if (e < best_err) {
      best_err = e;
      best = d;
    }
  };
  for (int i = 0; i <= 25; ++i) {
    const float r = 0.70f + 0.02f * float(i);
    consider(r * ext / -8.0f);
    consider(r * ext / 7.0f);
  }
  // Least-squares refinement: for fixed codes the optimal scale is Σwq/Σq².
  for (int iter = 0; iter < 4 && best != 0.0f; ++iter) {
    double wq = 0.0, qq = 0.0;
    for (float v : w) {
      const double q = int4_code(v, best, qmin);
      wq += double(v) * q;
      qq += q * q;
    }
    if (qq == 0.0) break;
    const float prev = best;
    consider(float(wq / qq));
    if (best == prev) break;
  }
  return best;
}

double weighted_error(std::span<const float> w, std::span<const float> a, float d, Int4Grid grid) {
  double e = 0.0;
  for (size_t j = 0; j < w.size(); ++j) {
    const int level = int4_level(int4_grid_code(w[j], d, grid), grid);
    const double diff = double(float(level) * d) - double(w[j]);
    e += (a.empty() ? 1.0 : double(a[j])) * diff * diff;
  }
  return e;
}

// The extreme levels of the grid: w_e maps to the first (the Q4_0 rule), the
// second is the positive end.
float grid_low(Int4Grid grid) { return grid == Int4Grid::Nl ? float(kIq4NlLevels[0]) : -8.0f; }
float grid_high(Int4Grid grid) { return grid == Int4Grid::Nl ? float(kIq4NlLevels[15]) : 7.0f; }

float weighted_scale(std::span<const float> w, std::span<const float> a, float ext, Int4Grid grid) {
  float best = round_scale(ext / grid_low(grid));
  double best_err = weighted_error(w, a, best, grid);
  auto consider = [&](float d_raw) {
    if (!std::isfinite(d_raw)) return;
    const float d = round_scale(d_raw);
    if (d == 0.0f) return;
    const double e = weighted_error(w, a, d, grid);
    if (e < best_err) {
      best_err = e;
      best = d;
    }
  };
  // The weighted least-squares scale for the codes that d gives.
  auto refit = [&](float d) {
    double wq = 0.0, qq = 0.0;
    for (size_t j = 0; j < w.size(); ++j) {
      const double aj = a.empty() ? 1.0 : double(a[j]);
      const double q = int4_level(int4_grid_code(w[j], d, grid), grid);
      wq += aj * double(w[j]) * q;
      qq += aj * q * q;
    }
    return qq > 0.0 ? float(wq / qq) : 0.0f;
  };
  for (int i = 0; i <= 35; ++i) {
    const float r = 0.60f + 0.02f * float(i);
    for (float base : {ext / grid_low(grid), ext / grid_high(grid)}) {
      const float d = r * base;
      consider(d);
      const float dh = fp16_to_f32(f32_to_fp16(d));
      if (dh != 0.0f && std::isfinite(dh)) consider(refit(dh));
    }
  }
  for (int iter = 0; iter < 4; ++iter) {
    const float prev = best;
    consider(refit(best));
    if (best == prev) break;
  }
  return best;
}

void check_importance(std::span<const float> a, size_t g) {
  if (a.empty()) return;
  if (a.size() != g) fail("int4: importance of {} values for a group of {}", a.size(), g);
  for (float v : a)
    if (!(v >= 0.0f) || !std::isfinite(v)) fail("int4: importance value {} is not finite and >= 0", v);
}

}  // namespace

double int4_weighted_error(std::span<const float> w, std::span<const float> a, float d,
                           Int4Grid grid) {
  check_importance(a, w.size());
  return weighted_error(w, a, d, grid);
}

float int4_group_scale(std::span<const float> w, ScaleRule rule) {
  return int4_group_scale(w, rule, {});
}

float int4_group_scale(std::span<const float> w, ScaleRule rule, std::span<const float> a,
                       Int4Grid grid) {
  const float ext = signed_extreme(w);
  if (ext == 0.0f) return 0.0f;
  if (grid == Int4Grid::Auto) fail("int4: a group scale needs a grid (uniform or nl), not auto");
  if (grid == Int4Grid::Nl) {
    if (rule == ScaleRule::Q4_0) return round_scale(ext / grid_low(grid));
    if (rule != ScaleRule::Weighted)
      fail("int4: the nl grid takes the q4_0 or weighted scale rule, not {}", scale_rule_name(rule));
    check_importance(a, w.size());
    return weighted_scale(w, a, ext, grid);
  }
  switch (rule) {
    case ScaleRule::Absmax7: return round_scale(std::fabs(ext) / 7.0f);
    case ScaleRule::Q4_0: return round_scale(ext / -8.0f);
    case ScaleRule::Search: return search_scale(w, ext);
    case ScaleRule::Weighted:
      check_importance(a, w.size());
      return weighted_scale(w, a, ext, grid);
  }
  FPTQ_CHECK(false);
  return 0.0f;
}

namespace {

// Σ_i Σ_j a_j (ŵ_ij − w_ij)² of a result (a empty: a_j = 1).
double tensor_weighted_error(std::span<const float> w, const Int4Weights& q,
                             std::span<const float> a) {
  const std::vector<float> d = dequantize_int4(q);
  double e = 0.0;
  for (size_t i = 0; i < d.size(); ++i) {
    const double diff = double(d[i]) - double(w[i]);
    e += (a.empty() ? 1.0 : double(a[i % size_t(q.k)])) * diff * diff;
  }
  return e;
}

}  // namespace

Int4Weights quantize_int4(std::span<const float> w, int64_t n, int64_t k, const Int4Config& cfg) {
  if (cfg.grid == Int4Grid::Auto) {
    Int4Config c = cfg;
    c.grid = Int4Grid::Uniform;
    Int4Weights u = quantize_int4(w, n, k, c);
    if (u.status != Int4Status::Ok) return u;
    c.grid = Int4Grid::Nl;
    Int4Weights nl = quantize_int4(w, n, k, c);
    return tensor_weighted_error(w, nl, cfg.importance) < tensor_weighted_error(w, u, cfg.importance)
               ? std::move(nl)
               : std::move(u);
  }
  if (n < 0 || k <= 0) fail("int4: bad shape [{}][{}]", n, k);
  if (int64_t(w.size()) / k != n || int64_t(w.size()) % k != 0)
    fail("int4: weight of {} values is not [{}][{}]", w.size(), n, k);
  const int64_t g = cfg.group;
  if (g != 0 && g != 32 && g != 64 && g != 128 && g != 256)
    fail("int4: group size {} not supported (32, 64, 128, 256 or 0 = per-channel)", g);
  Int4Weights q;
  q.n = n;
  q.k = k;
  q.rule = cfg.rule;
  q.grid = cfg.grid;
  q.group = g == 0 ? k : g;
  if (k % q.group != 0) {
    q.status = Int4Status::KNotDivisible;
    q.message = fmt::format("k = {} is not divisible by group {}: keep in 8-bit or FP", k, g);
    return q;
  }
  const int64_t gpr = k / q.group;
  const int qmin = int4_qmin(cfg.rule);
  if (!cfg.importance.empty() && int64_t(cfg.importance.size()) != k)
    fail("int4: importance of {} channels for K = {}", cfg.importance.size(), k);
  q.codes.resize(size_t(n * k));
  q.scales.resize(size_t(n * gpr));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t b = 0; b < gpr; ++b) {
      const size_t off = size_t(i * k + b * q.group);
      const auto grp = w.subspan(off, size_t(q.group));
      const auto imp = cfg.importance.empty()
                           ? std::span<const float>()
                           : cfg.importance.subspan(size_t(b * q.group), size_t(q.group));
      float d = 0.0f;
      try {
        d = int4_group_scale(grp, cfg.rule, imp, cfg.grid);
      } catch (const Error& e) {
        fail("int4: row {}, columns {}..{}: {}", i, b * q.group, (b + 1) * q.group - 1, e.what());
      }
      q.scales[size_t(i * gpr + b)] = d;
      if (cfg.grid == Int4Grid::Nl)
        for (size_t j = 0; j < grp.size(); ++j) q.codes[off + j] = int4_grid_code(grp[j], d, cfg.grid);
      else
        for (size_t j = 0; j < grp.size(); ++j) q.codes[off + j] = int4_code(grp[j], d, qmin);
    }
  }
  return q;
}

std::vector<float> dequantize_int4(const Int4Weights& q) {
  FPTQ_CHECK_MSG(q.status == Int4Status::Ok, "dequantize_int4 of a {} result",
                 int4_status_name(q.status));
  std::vector<float> out(size_t(q.n * q.k));
  const int64_t gpr = q.groups_per_row();
  for (int64_t i = 0; i < q.n; ++i)
    for (int64_t j = 0; j < q.k; ++j)
      out[size_t(i * q.k + j)] = float(int4_level(q.codes[size_t(i * q.k + j)], q.grid)) *
                                 q.scales[size_t(i * gpr + j / q.group)];
  return out;
}

std::vector<io::BlockQ4_0> pack_q4_0(const Int4Weights& q) {
  if (q.status != Int4Status::Ok)
    fail("pack_q4_0: tensor not quantized ({}: {})", int4_status_name(q.status), q.message);
  if (q.k % io::kQK != 0 || q.group % io::kQK != 0)
    fail("pack_q4_0: k = {} and group = {} must both be multiples of {}", q.k, q.group, io::kQK);
  const int64_t bpr = q.k / io::kQK, gpr = q.groups_per_row();
  std::vector<io::BlockQ4_0> out(size_t(q.n * bpr));
  for (int64_t i = 0; i < q.n; ++i) {
    for (int64_t b = 0; b < bpr; ++b) {
      io::BlockQ4_0& blk = out[size_t(i * bpr + b)];
      const float d = q.scales[size_t(i * gpr + b * io::kQK / q.group)];
      blk.d = f32_to_fp16(d);
      FPTQ_CHECK(fp16_to_f32(blk.d) == d || (std::isnan(d)));
      const int8_t* c = q.codes.data() + i * q.k + b * io::kQK;
      for (int j = 0; j < io::kQK / 2; ++j) {
        FPTQ_CHECK(c[j] >= -8 && c[j] <= 7 && c[j + 16] >= -8 && c[j + 16] <= 7);
        blk.qs[j] = uint8_t(uint8_t(c[j] + 8) | uint8_t((c[j + 16] + 8) << 4));
      }
    }
  }
  return out;
}

namespace {
void check_q4_0_shape(std::span<const io::BlockQ4_0> blocks, int64_t n, int64_t k,
                      int64_t group, const char* what) {
  if (n < 0 || k <= 0 || k % io::kQK != 0)
    fail("{}: shape [{}][{}] is not [n][multiple of {}]", what, n, k, io::kQK);
  if (int64_t(blocks.size()) != n * (k / io::kQK))
    fail("{}: {} blocks, expected {} x {}", what, blocks.size(), n, k / io::kQK);
  if (group <= 0 || group % io::kQK != 0 || k % group != 0)
    fail("{}: group {} must be a positive multiple of {} dividing k = {}", what, group, io::kQK,
         k);
}
}  // namespace

bool q4_0_uniform_in_groups(std::span<const io::BlockQ4_0> blocks, int64_t n, int64_t k,
                            int64_t group) {
  check_q4_0_shape(blocks, n, k, group, "q4_0_uniform_in_groups");
  const int64_t bpr = k / io::kQK, bpg = group / io::kQK;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t b = 0; b < bpr; ++b)
      if (blocks[size_t(i * bpr + b)].d != blocks[size_t(i * bpr + b - b % bpg)].d) return false;
  return true;
}

int64_t q4_0_detect_group(std::span<const io::BlockQ4_0> blocks, int64_t n, int64_t k) {
  for (int64_t g : {k, int64_t(256), int64_t(128), int64_t(64), int64_t(32)})
    if (g <= k && k % g == 0 && g % io::kQK == 0 && q4_0_uniform_in_groups(blocks, n, k, g))
      return g;
  FPTQ_CHECK(false);  // groups of 32 are always uniform
  return 0;
}

Int4Weights unpack_q4_0(std::span<const io::BlockQ4_0> blocks, int64_t n, int64_t k,
                        int64_t group) {
  if (!q4_0_uniform_in_groups(blocks, n, k, group))
    fail("unpack_q4_0: tensor [{}][{}] does not have uniform scales in groups of {}", n, k,
         group);
  Int4Weights q;
  q.n = n;
  q.k = k;
  q.group = group;
  q.rule = ScaleRule::Q4_0;
  const int64_t bpr = k / io::kQK, gpr = k / group;
  q.codes.resize(size_t(n * k));
  q.scales.resize(size_t(n * gpr));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t b = 0; b < bpr; ++b) {
      const io::BlockQ4_0& blk = blocks[size_t(i * bpr + b)];
      q.scales[size_t(i * gpr + b * io::kQK / group)] = fp16_to_f32(blk.d);
      int8_t* c = q.codes.data() + i * k + b * io::kQK;
      for (int j = 0; j < io::kQK / 2; ++j) {
        c[j] = int8_t((blk.qs[j] & 0x0F) - 8);
        c[j + 16] = int8_t((blk.qs[j] >> 4) - 8);
      }
    }
  }
  return q;
}

Int4Weights unpack_iq4_nl(std::span<const io::BlockQ4_0> blocks, int64_t n, int64_t k,
                          int64_t group) {
  Int4Weights q = unpack_q4_0(blocks, n, k, group);
  q.grid = Int4Grid::Nl;
  return q;
}

}  // namespace fptq::quant
