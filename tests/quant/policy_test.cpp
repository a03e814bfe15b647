#include "quant/policy.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace fptq::quant {
namespace {

TEST(Policy, ModeNamesRoundTrip) {
  for (ActMode m : {ActMode::Static, ActMode::LaeStatic, ActMode::Dynamic, ActMode::Fp})
    EXPECT_EQ(parse_act_mode(act_mode_name(m)), m);
  EXPECT_EQ(act_mode_name(ActMode::LaeStatic), "lae_static");
  EXPECT_THROW(parse_act_mode("Static"), Error);
  EXPECT_THROW(parse_act_mode(""), Error);
}

TEST(Policy, ThresholdsWithAndWithoutNorm) {
  const LayerPolicy p{PolicyConfig{}};  // v0 = 15, v1 = 150
  struct Case {
    float bound;
    bool norm;
    ActMode want;
  };
  const Case cases[] = {
      {0.0f, true, ActMode::Static},         {14.99f, true, ActMode::Static},
      {15.0f, true, ActMode::LaeStatic},     {15.0f, false, ActMode::Dynamic},
      {150.0f, true, ActMode::LaeStatic},    {150.0f, false, ActMode::Dynamic},
      {150.01f, true, ActMode::Dynamic},     {3000.0f, false, ActMode::Dynamic},
      {14.99f, false, ActMode::Static},
  };
  for (const Case& c : cases) {
    const auto d = p.decide("blk.0.attn_in", c.bound, c.norm);
    EXPECT_EQ(d.mode, c.want) << "B=" << c.bound << " norm=" << c.norm << ": " << d.reason;
    EXPECT_FALSE(d.overridden);
    EXPECT_FALSE(d.reason.empty());
  }
  EXPECT_THROW(p.decide("x", -1.0f, true), Error);
  EXPECT_THROW(p.decide("x", std::nanf(""), true), Error);
}

TEST(Policy, OverridesFirstMatchWins) {
  PolicyConfig cfg;
  cfg.overrides.push_back(parse_policy_override(R"(blk\.0\.ffn_down=fp)"));
  cfg.overrides.push_back(parse_policy_override("ffn_down=static"));
  const LayerPolicy p(cfg);
  auto d = p.decide("blk.0.ffn_down_in", 5000.0f, false);
  EXPECT_EQ(d.mode, ActMode::Fp);
  EXPECT_TRUE(d.overridden);
  d = p.decide("blk.10.ffn_down_in", 5000.0f, false);
  EXPECT_EQ(d.mode, ActMode::Static);
  d = p.decide("blk.10.attn_in", 5000.0f, true);
  EXPECT_EQ(d.mode, ActMode::Dynamic);
  EXPECT_FALSE(d.overridden);
  // An override applies even when the statistics are unusable.
  EXPECT_EQ(p.decide("blk.1.ffn_down_in", std::nanf(""), false).mode, ActMode::Static);
}

TEST(Policy, RejectsBadConfigs) {
  EXPECT_THROW(parse_policy_override("no_equals_sign"), Error);
  EXPECT_THROW(parse_policy_override("=fp"), Error);
  EXPECT_THROW(parse_policy_override("attn=lae_static"), Error);
  EXPECT_THROW(parse_policy_override("attn=int4"), Error);
  EXPECT_EQ(parse_policy_override("a=b=dynamic").pattern, "a=b");
  PolicyConfig bad_regex;
  bad_regex.overrides.push_back({"blk.(", ActMode::Fp});
  EXPECT_THROW(LayerPolicy{bad_regex}, Error);
  PolicyConfig bad_thresholds;
  bad_thresholds.v0 = 200.0f;
  EXPECT_THROW(LayerPolicy{bad_thresholds}, Error);
  PolicyConfig forced_lae;
  forced_lae.overrides.push_back({"attn", ActMode::LaeStatic});
  EXPECT_THROW(LayerPolicy{forced_lae}, Error);
}

}  // namespace
}  // namespace fptq::quant
