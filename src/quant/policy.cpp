#include "quant/policy.h"

#include <fmt/format.h>

#include <cmath>

#include "core/error.h"

namespace fptq::quant {

std::string_view act_mode_name(ActMode mode) {
  switch (mode) {
    case ActMode::Static: return "static";
    case ActMode::LaeStatic: return "lae_static";
    case ActMode::Dynamic: return "dynamic";
    case ActMode::Fp: return "fp";
  }
  FPTQ_CHECK(false);
  return "";
}

ActMode parse_act_mode(std::string_view name) {
  for (ActMode m : {ActMode::Static, ActMode::LaeStatic, ActMode::Dynamic, ActMode::Fp})
    if (act_mode_name(m) == name) return m;
  fail("unknown activation mode '{}' (expected static, lae_static, dynamic or fp)", name);
}

PolicyOverride parse_policy_override(std::string_view spec) {
  const size_t eq = spec.rfind('=');
  if (eq == std::string_view::npos)
    fail("policy override '{}': expected REGEX=MODE (MODE: static, dynamic, fp)", spec);
  PolicyOverride o;
  o.pattern = std::string(spec.substr(0, eq));
  if (o.pattern.empty()) fail("policy override '{}': empty regex", spec);
  const std::string_view mode = spec.substr(eq + 1);
  o.mode = parse_act_mode(mode);
  if (o.mode == ActMode::LaeStatic)
    fail("policy override '{}': LAE is chosen from the bound; override to static, dynamic or fp",
         spec);
  return o;
}

LayerPolicy::LayerPolicy(PolicyConfig config) : config_(std::move(config)) {
  const float v0 = config_.v0, v1 = config_.v1;
  if (!std::isfinite(v0) || !std::isfinite(v1) || v0 < 0 || v0 > v1)
    fail("layer policy: thresholds must satisfy 0 <= v0 <= v1 (got v0 = {}, v1 = {})", v0, v1);
  for (const PolicyOverride& o : config_.overrides) {
    if (o.mode == ActMode::LaeStatic)
      fail("layer policy: override '{}' cannot force lae_static", o.pattern);
    try {
      regexes_.emplace_back(o.pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      fail("layer policy: invalid regex '{}' ({})", o.pattern, e.what());
    }
  }
}

PolicyDecision LayerPolicy::decide(std::string_view name, float bound, bool has_norm) const {
  PolicyDecision d;
  for (size_t i = 0; i < regexes_.size(); ++i) {
    if (std::regex_search(name.begin(), name.end(), regexes_[i])) {
      d.mode = config_.overrides[i].mode;
      d.overridden = true;
      d.reason = fmt::format("override '{}' -> {}", config_.overrides[i].pattern,
                             act_mode_name(d.mode));
      return d;
    }
  }
  if (!std::isfinite(bound) || bound < 0)
    fail("layer policy: '{}' has activation bound {} (not a finite non-negative value)", name,
         bound);
  const float v0 = config_.v0, v1 = config_.v1;
  if (bound < v0) {
    d.mode = ActMode::Static;
    d.reason = fmt::format("B={:.4g} < v0={:g}: static", bound, v0);
  } else if (bound <= v1) {
    d.mode = has_norm ? ActMode::LaeStatic : ActMode::Dynamic;
    d.reason = fmt::format("B={:.4g} in [{:g}, {:g}], {}", bound, v0, v1,
                           has_norm ? "norm to fold: LAE + static" : "no norm to fold: dynamic");
  } else {
    d.mode = ActMode::Dynamic;
    d.reason = fmt::format("B={:.4g} > v1={:g}: dynamic", bound, v1);
  }
  return d;
}

}  // namespace fptq::quant
