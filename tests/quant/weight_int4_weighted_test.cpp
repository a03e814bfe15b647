// The importance-weighted int4 scale search (ScaleRule::Weighted): never worse
// than the Q4_0 rule on its own objective Σ a (ŵ − w)², group by group;
// strictly better in total on synthetic groups and on real stories260K layers
// weighted by their real calibration importance; the importance steers it.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/error.h"
#include "io/dequant.h"
#include "quant/plan.h"
#include "quant/weight_int4.h"
#include "stories_quant_fixture.h"

namespace fptq::quant {
namespace {

double total_error(std::span<const float> w, std::span<const float> a, int64_t k, int64_t g,
                   ScaleRule rule, Int4Grid grid = Int4Grid::Uniform) {
  double e = 0.0;
  for (size_t off = 0; off < w.size(); off += size_t(g)) {
    const auto grp = w.subspan(off, size_t(g));
    const auto imp = a.subspan(off % size_t(k), size_t(g));
    e += int4_weighted_error(grp, imp, int4_group_scale(grp, rule, imp, grid), grid);
  }
  return e;
}

TEST(Int4Weighted, NeverWorseThanQ4_0PerGroupAndBetterInTotal) {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::lognormal_distribution<float> ln(0.0f, 1.5f);  // heavy-tailed importance
  const int64_t g = 32, groups = 2000;
  std::vector<float> w(static_cast<size_t>(g * groups)), a(static_cast<size_t>(g));
  for (float& v : w) v = nd(rng);
  double sum_q40 = 0, sum_w = 0;
  for (int64_t b = 0; b < groups; ++b) {
    for (float& v : a) v = ln(rng);
    const std::span<const float> grp(w.data() + b * g, size_t(g));
    const double eq = int4_weighted_error(grp, a, int4_group_scale(grp, ScaleRule::Q4_0));
    const double ew = int4_weighted_error(grp, a, int4_group_scale(grp, ScaleRule::Weighted, a));
    ASSERT_LE(ew, eq) << "group " << b;
    sum_q40 += eq;
    sum_w += ew;
  }
  // Two-sided: a real gain, but a search over one scale cannot remove most
  // of the rounding error.
  EXPECT_LT(sum_w, 0.9 * sum_q40);
  EXPECT_GT(sum_w, 0.3 * sum_q40);
}

TEST(Int4Weighted, ImportanceSteersTheScale) {
  // One group: a large value the uniform objective must fit, which matters
  // nothing under the importance (a = 0 there): the weighted scale drops it
  // and fits the rest better.
  std::vector<float> w(32), uniform(32, 1.0f), skewed(32, 1.0f);
  for (int i = 0; i < 32; ++i) w[size_t(i)] = 0.1f * float(i % 7) - 0.3f;
  w[5] = 4.0f;
  skewed[5] = 0.0f;
  const float du = int4_group_scale(w, ScaleRule::Weighted, uniform);
  const float ds = int4_group_scale(w, ScaleRule::Weighted, skewed);
  EXPECT_LT(std::fabs(ds), std::fabs(du));
  EXPECT_LT(int4_weighted_error(w, skewed, ds), int4_weighted_error(w, skewed, du));
  // Empty importance = uniform weights.
  EXPECT_EQ(int4_group_scale(w, ScaleRule::Weighted, {}), du);
}

TEST(Int4Weighted, RejectsBadImportance) {
  std::vector<float> w(32, 1.0f), a(32, 1.0f), short_a(16, 1.0f);
  a[3] = -1.0f;
  EXPECT_THROW(int4_group_scale(w, ScaleRule::Weighted, a), Error);
  a[3] = NAN;
  EXPECT_THROW(int4_group_scale(w, ScaleRule::Weighted, a), Error);
  EXPECT_THROW(int4_group_scale(w, ScaleRule::Weighted, short_a), Error);
  Int4Config cfg{32, ScaleRule::Weighted, short_a};
  EXPECT_THROW(quantize_int4(w, 1, 32, cfg), Error);
  EXPECT_EQ(parse_scale_rule("weighted"), ScaleRule::Weighted);
}

using StoriesWeighted = testutil::StoriesQuantTest<4, 64>;

// Every int4 linear weight of stories260K under the plan's real importance
// (the calibration E[x'²] of its input), on the uniform grid (Q4_0 tensors)
// and on IQ4_NL's levels (the default recipe): the weighted rule is never
// worse than the grid's plain rule on any group and strictly better on every
// tensor.
TEST_F(StoriesWeighted, StrictlyBetterOnRealLayers) {
  for (const char* recipe : {"fptq-plus-nl", "fptq-plus"}) {
    SCOPED_TRACE(recipe);
    QuantizeOptions o = recipe_options(recipe);
    const Int4Grid grid = o.int4.grid;
    const io::GgmlType type = grid == Int4Grid::Nl ? io::GgmlType::IQ4_NL : io::GgmlType::Q4_0;
    const QuantPlan plan = plan_quantization(*file_, *stats_, o);
    int checked = 0;
    for (const TensorPlan& t : plan.tensors) {
      if (t.type != type || t.point.empty()) continue;
      ASSERT_EQ(int64_t(t.importance.size()), t.k) << t.name;
      // The plan's tensors are folded when LAE applies; the objective is the
      // same either way, so the unfolded weights test the search as well.
      const std::vector<float> w = io::dequantize_tensor(file_->tensor(t.name));
      const double eq = total_error(w, t.importance, t.k, t.group, ScaleRule::Q4_0, grid);
      const double ew = total_error(w, t.importance, t.k, t.group, ScaleRule::Weighted, grid);
      EXPECT_LT(ew, eq) << t.name;
      EXPECT_GT(ew, 0.2 * eq) << t.name;
      ++checked;
    }
    EXPECT_GE(checked, 20);
  }
}

// AWQ runs on the recipe's own int4 tensors whatever their levels: every
// normed point of stories260K is searched (a plan on IQ4_NL tensors once
// skipped the search silently), and some scales are folded.
TEST_F(StoriesWeighted, AwqSearchesEveryNormedPointOnEveryGrid) {
  for (const char* recipe : {"fptq-plus", "fptq-plus-nl", "fptq-plus-nl+grid"}) {
    SCOPED_TRACE(recipe);
    const QuantPlan plan = plan_quantization(*file_, *stats_, recipe_options(recipe));
    int searched = 0, folded = 0;
    for (const PointPlan& p : plan.points) {
      const bool normed = p.name.find("attn_qkv_in") != std::string::npos ||
                          p.name.find("ffn_gate_up_in") != std::string::npos;
      if (!normed) continue;
      EXPECT_NE(p.reason.find("AWQ"), std::string::npos) << p.name << ": " << p.reason;
      searched += p.reason.find("AWQ") != std::string::npos;
      folded += p.fold_kind == Equalization::Awq;
    }
    EXPECT_EQ(searched, 2 * 5);
    EXPECT_GT(folded, 0);
  }
}

}  // namespace
}  // namespace fptq::quant
