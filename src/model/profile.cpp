#include "model/profile.h"

namespace fptq::model {
namespace {
thread_local OpProfile* t_active = nullptr;
}  // namespace

std::string_view op_class_name(OpClass c) {
  switch (c) {
    case OpClass::w4a8: return "W4A8 matmul";
    case OpClass::w8a8_fp: return "W8A8 / F32 matmul";
    case OpClass::quant_dynamic: return "dynamic act. quant";
    case OpClass::quant_static: return "static act. quant";
    case OpClass::attention: return "attention";
    case OpClass::norm_elementwise: return "norms, element-wise";
    case OpClass::head: return "output head";
    case OpClass::sampling: return "sampling";
  }
  return "?";
}

std::string_view op_class_key(OpClass c) {
  switch (c) {
    case OpClass::w4a8: return "w4a8_matmul";
    case OpClass::w8a8_fp: return "w8a8_fp_matmul";
    case OpClass::quant_dynamic: return "quant_dynamic";
    case OpClass::quant_static: return "quant_static";
    case OpClass::attention: return "attention";
    case OpClass::norm_elementwise: return "norm_elementwise";
    case OpClass::head: return "output_head";
    case OpClass::sampling: return "sampling";
  }
  return "?";
}

double OpProfile::total() const {
  double s = 0;
  for (double v : seconds) s += v;
  return s;
}

OpProfile* active_profile() { return t_active; }

ProfileScope::ProfileScope(OpProfile* p) : prev_(t_active) { t_active = p; }
ProfileScope::~ProfileScope() { t_active = prev_; }

}  // namespace fptq::model
