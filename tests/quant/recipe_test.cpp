// Recipe strings (a scheme plus passes switched on/off) and the per-scheme
// defaults: fptq stays the paper's method, fptq-plus is the default recipe.
#include <gtest/gtest.h>

#include "core/error.h"
#include "quant/plan.h"

namespace fptq::quant {
namespace {

TEST(Recipe, SchemeDefaults) {
  const QuantizeOptions paper = scheme_options(Scheme::Fptq);
  EXPECT_EQ(paper.int4.group, 128);
  EXPECT_EQ(paper.int4.rule, ScaleRule::Q4_0);
  EXPECT_FALSE(paper.isolate_outliers);
  EXPECT_EQ(paper.policy.v0, 15.0f);
  EXPECT_EQ(paper.policy.v1, 150.0f);
  for (Scheme s : {Scheme::FptqPlus, Scheme::FptqPlusGptq}) {
    const QuantizeOptions plus = scheme_options(s);
    EXPECT_EQ(plus.int4.group, 32);
    EXPECT_EQ(plus.int4.rule, ScaleRule::Weighted);
    EXPECT_TRUE(plus.isolate_outliers);
    EXPECT_TRUE(plus.awq);
    EXPECT_EQ(plus.int4.grid, s == Scheme::FptqPlus ? Int4Grid::Nl : Int4Grid::Uniform);
    EXPECT_EQ(plus.policy.v0, 0.0f);
    EXPECT_EQ(plus.policy.v1, 0.0f);
  }
  EXPECT_TRUE(scheme_traits(Scheme::FptqPlusGptq).gptq);
  EXPECT_FALSE(scheme_traits(Scheme::FptqPlus).gptq);
  EXPECT_EQ(with_gptq(Scheme::FptqPlus), Scheme::FptqPlusGptq);
}

TEST(Recipe, PassesOnAndOff) {
  QuantizeOptions o = recipe_options("fptq+isolate");
  EXPECT_EQ(o.scheme, Scheme::Fptq);
  EXPECT_TRUE(o.isolate_outliers);
  EXPECT_EQ(o.int4.group, 128);
  o = recipe_options("fptq+weighted+g32");
  EXPECT_EQ(o.int4.rule, ScaleRule::Weighted);
  EXPECT_EQ(o.int4.group, 32);
  EXPECT_FALSE(o.isolate_outliers);
  o = recipe_options("fptq+dynamic+laedyn");
  EXPECT_EQ(o.policy.v0, 0.0f);
  EXPECT_TRUE(o.lae_dynamic);
  o = recipe_options("fptq-plus-isolate");
  EXPECT_EQ(o.scheme, Scheme::FptqPlus);
  EXPECT_FALSE(o.isolate_outliers);
  EXPECT_EQ(o.int4.rule, ScaleRule::Weighted);
  o = recipe_options("fptq-plus-weighted-dynamic");
  EXPECT_EQ(o.int4.rule, ScaleRule::Q4_0);
  EXPECT_EQ(o.policy.v0, 15.0f);
  EXPECT_EQ(o.policy.v1, 150.0f);
  // The longest scheme name wins: fptq-plus-gptq is a scheme, not fptq-plus - gptq.
  EXPECT_EQ(recipe_options("fptq-plus-gptq").scheme, Scheme::FptqPlusGptq);
  EXPECT_EQ(recipe_options("fptq-gptq+isolate").scheme, Scheme::FptqGptq);
  EXPECT_EQ(recipe_options("w4a16-rtn+g32").int4.group, 32);
  EXPECT_EQ(recipe_options("fptq-plus").int4.grid, Int4Grid::Nl);
  EXPECT_EQ(recipe_options("fptq-plus-gptq").int4.grid, Int4Grid::Uniform);
  EXPECT_EQ(recipe_options("fptq").int4.grid, Int4Grid::Uniform);
  EXPECT_EQ(recipe_options("fptq+nl").int4.grid, Int4Grid::Nl);
  EXPECT_EQ(recipe_options("fptq-plus-nl").int4.grid, Int4Grid::Uniform);
  EXPECT_EQ(recipe_options("fptq-plus-nl+grid").int4.grid, Int4Grid::Auto);
  // Per-group activations: on in the default, off with -actgroup, the int4
  // group when switched on elsewhere.
  EXPECT_EQ(recipe_options("fptq-plus").act_group, 32);
  EXPECT_EQ(recipe_options("fptq-plus-actgroup").act_group, 0);
  EXPECT_EQ(recipe_options("fptq").act_group, 0);
  EXPECT_EQ(recipe_options("fptq+actgroup").act_group, 32);  // widened to the int4 group per point
  EXPECT_EQ(recipe_options("fptq-plus-gptq").act_group, 32);
}

TEST(Recipe, BadRecipesNameTheProblem) {
  for (const char* bad : {"", "fptq+", "fptq+nope", "nope", "fptq-plus-g32", "fptqx", "fptq++isolate"}) {
    try {
      recipe_options(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_FALSE(std::string(e.what()).empty()) << bad;
    }
  }
}

TEST(Recipe, SummaryNamesEveryPass) {
  EXPECT_EQ(recipe_summary(scheme_options(Scheme::FptqPlus)),
            "fptq-plus: int4 g32, scale rule weighted, IQ4_NL levels, policy v0 0 v1 0 (all "
            "dynamic), AWQ scales, dynamic activations per 32 values, outlier-token isolation "
            "on, GPTQ off");
  EXPECT_EQ(recipe_summary(recipe_options("fptq")),
            "fptq: int4 g128, scale rule q4_0, policy v0 15 v1 150, outlier-token isolation "
            "off, GPTQ off");
  EXPECT_NE(recipe_summary(recipe_options("fptq-plus+grid")).find("levels per tensor"),
            std::string::npos);
}

}  // namespace
}  // namespace fptq::quant
