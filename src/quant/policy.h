// Per-layer activation-quantizer policy (fptq-method.md §2).
//
// From a layer input's activation bound B = max_j m_j:
//   B < v0            -> Static     (per-tensor static int8)
//   v0 <= B <= v1     -> LaeStatic  (LAE folded into the preceding norm, then
//                                    per-tensor static int8) when the layer has
//                                    a norm to fold into (q/k/v, gate/up);
//                        Dynamic    otherwise (o_proj, down_proj)
//   B > v1            -> Dynamic    (per-token dynamic int8)
// Overrides (regex -> static | dynamic | fp) are tried in order against the
// layer name; the first whose regex matches anywhere in the name
// (std::regex_search, ECMAScript syntax) wins over the bound rule.
#pragma once

#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace fptq::quant {

enum class ActMode { Static, LaeStatic, Dynamic, Fp };

// "static", "lae_static", "dynamic", "fp".
std::string_view act_mode_name(ActMode mode);
// Inverse of act_mode_name; throws fptq::Error for any other string.
ActMode parse_act_mode(std::string_view name);

struct PolicyOverride {
  std::string pattern;  // ECMAScript regex, searched in the layer name
  ActMode mode;         // Static, Dynamic or Fp (never LaeStatic)
};

// Parses "REGEX=MODE" (split at the last '='), e.g. "blk\.0\.ffn_down=fp".
// Throws fptq::Error for a missing '=', an empty or invalid regex, or a mode
// other than static|dynamic|fp.
PolicyOverride parse_policy_override(std::string_view spec);

struct PolicyConfig {
  float v0 = 15.0f;   // below: static
  float v1 = 150.0f;  // above: dynamic
  std::vector<PolicyOverride> overrides;
};

struct PolicyDecision {
  ActMode mode = ActMode::Static;
  bool overridden = false;  // true when an override decided
  std::string reason;       // one line for the report, e.g. "B=37.2 in [15, 150], norm: LAE"
};

// Compiled policy: validates the config once (v0 <= v1, both finite and >= 0,
// every override's regex and mode) and throws fptq::Error when it is bad.
class LayerPolicy {
 public:
  explicit LayerPolicy(PolicyConfig config);

  // Decides the activation mode of the layer input `name` with bound B.
  // has_norm: an RMSNorm feeds this input directly, so LAE can be folded.
  // Throws fptq::Error when bound is negative or not finite (bad statistics)
  // and no override applies.
  PolicyDecision decide(std::string_view name, float bound, bool has_norm) const;

  const PolicyConfig& config() const { return config_; }

 private:
  PolicyConfig config_;
  std::vector<std::regex> regexes_;
};

}  // namespace fptq::quant
