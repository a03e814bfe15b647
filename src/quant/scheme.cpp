#include "quant/scheme.h"

#include <array>
#include <string>

#include "core/error.h"

namespace fptq::quant {
namespace {

constexpr std::array<Scheme, 9> kSchemes = {Scheme::FptqPlus,    Scheme::FptqPlusGptq,
                                            Scheme::Fptq,        Scheme::FptqGptq,
                                            Scheme::W4A8Naive,   Scheme::W4A8Dynamic,
                                            Scheme::W8A8SmoothQuant, Scheme::W4A16Rtn,
                                            Scheme::W4A16Gptq};

}  // namespace

std::string_view scheme_name(Scheme s) {
  switch (s) {
    case Scheme::FptqPlus: return "fptq-plus";
    case Scheme::FptqPlusGptq: return "fptq-plus-gptq";
    case Scheme::Fptq: return "fptq";
    case Scheme::FptqGptq: return "fptq-gptq";
    case Scheme::W4A8Naive: return "w4a8-naive";
    case Scheme::W4A8Dynamic: return "w4a8-dynamic";
    case Scheme::W8A8SmoothQuant: return "w8a8-smoothquant";
    case Scheme::W4A16Rtn: return "w4a16-rtn";
    case Scheme::W4A16Gptq: return "w4a16-gptq";
  }
  return "?";
}

Scheme parse_scheme(std::string_view name) {
  std::string valid;
  for (Scheme s : kSchemes) {
    if (scheme_name(s) == name) return s;
    valid += valid.empty() ? "" : ", ";
    valid += scheme_name(s);
  }
  fail("unknown scheme '{}' (expected one of: {})", name, valid);
}

std::span<const Scheme> all_schemes() { return kSchemes; }

SchemeTraits scheme_traits(Scheme s) {
  switch (s) {
    case Scheme::FptqPlus:
    case Scheme::Fptq: return {ActPolicy::Fptq, Equalization::Lae, WeightFormat::Int4, false};
    case Scheme::FptqPlusGptq:
    case Scheme::FptqGptq: return {ActPolicy::Fptq, Equalization::Lae, WeightFormat::Int4, true};
    case Scheme::W4A8Naive:
      return {ActPolicy::AllStatic, Equalization::None, WeightFormat::Int4, false};
    case Scheme::W4A8Dynamic:
      return {ActPolicy::AllDynamic, Equalization::None, WeightFormat::Int4, false};
    case Scheme::W8A8SmoothQuant:
      return {ActPolicy::AllDynamic, Equalization::SmoothQuant, WeightFormat::Int8, false};
    case Scheme::W4A16Rtn: return {ActPolicy::AllFp, Equalization::None, WeightFormat::Int4, false};
    case Scheme::W4A16Gptq: return {ActPolicy::AllFp, Equalization::None, WeightFormat::Int4, true};
  }
  FPTQ_CHECK(false);
  return {};
}

Scheme with_gptq(Scheme s) {
  switch (s) {
    case Scheme::Fptq:
    case Scheme::FptqGptq: return Scheme::FptqGptq;
    case Scheme::FptqPlus:
    case Scheme::FptqPlusGptq: return Scheme::FptqPlusGptq;
    case Scheme::W4A16Rtn:
    case Scheme::W4A16Gptq: return Scheme::W4A16Gptq;
    default:
      fail("--gptq: scheme '{}' has no GPTQ variant (use fptq-plus, fptq or w4a16-rtn)", scheme_name(s));
  }
}

}  // namespace fptq::quant
