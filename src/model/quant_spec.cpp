#include "model/quant_spec.h"

#include <cmath>

#include "core/error.h"

namespace fptq::model {

namespace {

std::string act_key(MatmulInput kind, std::string_view field) {
  return fmt::format("fptq.act.{}.{}", matmul_input_name(kind), field);
}

const io::Value& array_of(const io::Metadata& md, const std::string& key, io::ValueType elem,
                          int64_t n, std::string_view where) {
  const io::Value* v = md.find(key);
  if (!v) fail("{}: missing key '{}'", where, key);
  if (!v->is_array() || v->elem_type != elem)
    fail("{}: key '{}': expected an array of {}, found {}", where, key, io::value_type_name(elem),
         io::value_type_name(v->is_array() ? v->elem_type : v->type));
  if (int64_t(v->size()) != n)
    fail("{}: key '{}': {} entries, expected one per block ({})", where, key, v->size(), n);
  return *v;
}

}  // namespace

std::string_view act_quant_name(ActQuant a);

namespace {

// An activation group is valid on dynamic points only, a multiple of 32.
void check_group(const PointQuant& q, const std::string& where) {
  if (q.group != 0 && (q.mode != ActQuant::dynamic || q.group % 32 != 0))
    fail("{}: activation group {} on a {} point (dynamic only, a multiple of 32)", where, q.group,
         act_quant_name(q.mode));
}

}  // namespace

std::string_view act_quant_name(ActQuant a) {
  switch (a) {
    case ActQuant::fp: return "fp";
    case ActQuant::static_: return "static";
    case ActQuant::dynamic: return "dynamic";
  }
  return "?";
}

ActQuant parse_act_quant(std::string_view s) {
  if (s == "fp") return ActQuant::fp;
  if (s == "static") return ActQuant::static_;
  if (s == "dynamic") return ActQuant::dynamic;
  fail("unknown activation quantizer '{}' (expected fp, static or dynamic)", s);
}

int block_point_index(MatmulInput kind) {
  for (int i = 0; i < kBlockPoints; ++i)
    if (kBlockInputs[i] == kind) return i;
  FPTQ_CHECK_MSG(false, "no block point for {}", matmul_input_name(kind));
  return -1;
}

const PointQuant& QuantSpec::point(int64_t layer, MatmulInput kind) const {
  if (kind == MatmulInput::output_in) return output;
  FPTQ_CHECK(layer >= 0 && layer < int64_t(layers.size()));
  return layers[size_t(layer)][size_t(block_point_index(kind))];
}

PointQuant& QuantSpec::point(int64_t layer, MatmulInput kind) {
  return const_cast<PointQuant&>(static_cast<const QuantSpec&>(*this).point(layer, kind));
}

QuantSpec read_quant_spec(const io::ModelFile& file, int64_t n_layer) {
  const io::Metadata& md = file.metadata;
  const std::string& where = file.path;
  QuantSpec s;
  if (!md.contains("fptq.format_version")) return s;
  s.present = true;
  s.format_version = md.get_int("fptq.format_version", where);
  if (s.format_version != 1)
    fail("{}: fptq.format_version {} is not supported (this fptq reads 1)", where,
         s.format_version);
  s.tool_version = md.get_string("fptq.tool_version", "", where);
  s.scheme = md.get_string("fptq.scheme", "", where);
  s.weight_method = md.get_string("fptq.weight.method", "rtn", where);
  s.group_size = md.get_int("fptq.weight.group_size", 128, where);
  s.scale_rule = md.get_string("fptq.weight.scale_rule", "q4_0", where);
  s.v0 = md.get_float("fptq.policy.v0", 15.0, where);
  s.v1 = md.get_float("fptq.policy.v1", 150.0, where);
  s.calib_source = md.get_string("fptq.calib.source", "", where);
  s.calib_samples = md.get_int("fptq.calib.samples", 0, where);
  s.calib_seqlen = md.get_int("fptq.calib.seqlen", 0, where);
  if (const io::Value* v = md.find("fptq.calib.seed"); v && !v->ints.empty())
    s.calib_seed = uint64_t(v->ints[0]);
  s.calib_digest = md.get_string("fptq.calib.digest", "", where);

  s.layers.assign(size_t(n_layer), {});
  for (int p = 0; p < kBlockPoints; ++p) {
    const MatmulInput kind = kBlockInputs[p];
    const auto& modes = array_of(md, act_key(kind, "mode"), io::ValueType::STRING, n_layer, where);
    const auto& scales = array_of(md, act_key(kind, "scale"), io::ValueType::F32, n_layer, where);
    const io::Value* lae = md.find(act_key(kind, "lae"));
    const io::Value* isolate = md.find(act_key(kind, "isolate"));
    if (isolate) array_of(md, act_key(kind, "isolate"), io::ValueType::BOOL, n_layer, where);
    const io::Value* group = md.find(act_key(kind, "group"));
    if (group) array_of(md, act_key(kind, "group"), io::ValueType::U32, n_layer, where);
    const io::Value* bound = md.find(act_key(kind, "bound"));
    const io::Value* bound_lae = md.find(act_key(kind, "bound_lae"));
    if (lae) array_of(md, act_key(kind, "lae"), io::ValueType::BOOL, n_layer, where);
    if (bound) array_of(md, act_key(kind, "bound"), io::ValueType::F32, n_layer, where);
    if (bound_lae) array_of(md, act_key(kind, "bound_lae"), io::ValueType::F32, n_layer, where);
    for (int64_t l = 0; l < n_layer; ++l) {
      PointQuant& q = s.layers[size_t(l)][size_t(p)];
      try {
        q.mode = parse_act_quant(modes.strings[size_t(l)]);
      } catch (const Error& e) {
        fail("{}: key '{}'[{}]: {}", where, act_key(kind, "mode"), l, e.what());
      }
      q.scale = float(scales.floats[size_t(l)]);
      if (q.mode == ActQuant::static_ && !(q.scale > 0 && std::isfinite(q.scale)))
        fail("{}: key '{}'[{}]: static scale {} is not a positive finite number", where,
             act_key(kind, "scale"), l, q.scale);
      if (lae) q.lae = lae->ints[size_t(l)] != 0;
      if (isolate) q.isolate = isolate->ints[size_t(l)] != 0;
      if (q.isolate && q.mode != ActQuant::static_)
        fail("{}: key '{}'[{}]: outlier-token isolation on a {} point (static only)", where,
             act_key(kind, "isolate"), l, act_quant_name(q.mode));
      if (group) q.group = group->ints[size_t(l)];
      check_group(q, fmt::format("{}: key '{}'[{}]", where, act_key(kind, "group"), l));
      if (bound) q.bound = float(bound->floats[size_t(l)]);
      if (bound_lae) q.bound_lae = float(bound_lae->floats[size_t(l)]);
    }
  }
  const std::string out_mode = md.get_string("fptq.act.output_in.mode", "fp", where);
  try {
    s.output.mode = parse_act_quant(out_mode);
  } catch (const Error& e) {
    fail("{}: key 'fptq.act.output_in.mode': {}", where, e.what());
  }
  s.output.scale = float(md.get_float("fptq.act.output_in.scale", 0.0, where));
  s.output.group = md.get_int("fptq.act.output_in.group", 0, where);
  check_group(s.output, fmt::format("{}: key 'fptq.act.output_in.group'", where));
  if (s.output.mode == ActQuant::static_ && !(s.output.scale > 0 && std::isfinite(s.output.scale)))
    fail("{}: key 'fptq.act.output_in.scale': static scale {} is not a positive finite number",
         where, s.output.scale);
  return s;
}

void write_quant_spec(const QuantSpec& s, io::Metadata& md) {
  using io::Value;
  using io::ValueType;
  md.set("fptq.format_version", Value::make_int(ValueType::U32, 1));
  md.set("fptq.tool_version", Value::make_string(s.tool_version));
  md.set("fptq.scheme", Value::make_string(s.scheme));
  md.set("fptq.weight.method", Value::make_string(s.weight_method));
  md.set("fptq.weight.group_size", Value::make_int(ValueType::U32, s.group_size));
  md.set("fptq.weight.scale_rule", Value::make_string(s.scale_rule));
  md.set("fptq.policy.v0", Value::make_float(ValueType::F32, s.v0));
  md.set("fptq.policy.v1", Value::make_float(ValueType::F32, s.v1));
  md.set("fptq.calib.source", Value::make_string(s.calib_source));
  md.set("fptq.calib.samples", Value::make_int(ValueType::U32, s.calib_samples));
  md.set("fptq.calib.seqlen", Value::make_int(ValueType::U32, s.calib_seqlen));
  md.set("fptq.calib.seed", Value::make_int(ValueType::U64, int64_t(s.calib_seed)));
  md.set("fptq.calib.digest", Value::make_string(s.calib_digest));
  for (int p = 0; p < kBlockPoints; ++p) {
    const MatmulInput kind = kBlockInputs[p];
    std::vector<std::string> modes;
    std::vector<double> scales, bounds, bounds_lae;
    std::vector<int64_t> lae, isolate, group;
    bool any_isolate = false, any_group = false;
    for (const auto& layer : s.layers) {
      const PointQuant& q = layer[size_t(p)];
      modes.emplace_back(act_quant_name(q.mode));
      scales.push_back(q.mode == ActQuant::static_ ? q.scale : 0.0);
      lae.push_back(q.lae ? 1 : 0);
      isolate.push_back(q.isolate ? 1 : 0);
      any_isolate = any_isolate || q.isolate;
      group.push_back(q.group);
      any_group = any_group || q.group != 0;
      bounds.push_back(q.bound);
      bounds_lae.push_back(q.bound_lae);
    }
    md.set(act_key(kind, "mode"), Value::make_string_array(std::move(modes)));
    md.set(act_key(kind, "scale"), Value::make_float_array(ValueType::F32, std::move(scales)));
    md.set(act_key(kind, "lae"), Value::make_int_array(ValueType::BOOL, std::move(lae)));
    // Written only when used, so files of recipes without it keep their bytes.
    if (any_isolate)
      md.set(act_key(kind, "isolate"), Value::make_int_array(ValueType::BOOL, std::move(isolate)));
    if (any_group)
      md.set(act_key(kind, "group"), Value::make_int_array(ValueType::U32, std::move(group)));
    md.set(act_key(kind, "bound"), Value::make_float_array(ValueType::F32, std::move(bounds)));
    md.set(act_key(kind, "bound_lae"),
           Value::make_float_array(ValueType::F32, std::move(bounds_lae)));
  }
  md.set("fptq.act.output_in.mode", Value::make_string(std::string(act_quant_name(s.output.mode))));
  md.set("fptq.act.output_in.scale",
         Value::make_float(ValueType::F32, s.output.mode == ActQuant::static_ ? s.output.scale : 0));
  if (s.output.group != 0)
    md.set("fptq.act.output_in.group", Value::make_int(ValueType::U32, s.output.group));
}

}  // namespace fptq::model
