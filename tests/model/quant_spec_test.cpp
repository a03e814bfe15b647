#include "model/quant_spec.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "io/gguf_reader.h"
#include "io/gguf_writer.h"
#include "testing/testing.h"

namespace fptq::model {
namespace {

QuantSpec sample_spec(int64_t n_layer) {
  QuantSpec s;
  s.present = true;
  s.tool_version = "test";
  s.scheme = "fptq";
  s.group_size = 64;
  s.calib_source = "random";
  s.calib_samples = 8;
  s.calib_seqlen = 128;
  s.calib_seed = 0xfedcba9876543210ull;
  s.layers.assign(size_t(n_layer), {});
  for (int64_t l = 0; l < n_layer; ++l) {
    s.point(l, MatmulInput::attn_qkv_in) = {ActQuant::static_, 0.05f + float(l), true, 40, 6.5f};
    s.point(l, MatmulInput::attn_out_in) = {ActQuant::static_, 0.01f, false, 1.2f, 1.2f};
    s.point(l, MatmulInput::ffn_gate_up_in) = {ActQuant::dynamic, 0, false, 200, 200};
    s.point(l, MatmulInput::ffn_gate_up_in).group = l == 1 ? 0 : 32 * (l + 1);
    s.point(l, MatmulInput::ffn_down_in) = {ActQuant::fp, 0, false, 900, 900};
  }
  return s;
}

io::ModelFile file_with(const io::Metadata& md) {
  io::ModelFile f;
  f.path = "spec.gguf";
  f.metadata = md;
  return f;
}

TEST(QuantSpec, AbsentWithoutKeys) {
  io::ModelFile f;
  f.path = "plain.gguf";
  EXPECT_FALSE(read_quant_spec(f, 3).present);
}

TEST(QuantSpec, RoundTripsThroughMetadataAndGguf) {
  const QuantSpec s = sample_spec(3);
  io::Metadata md;
  write_quant_spec(s, md);
  fptq::testing::TempDir dir;
  io::GgufWriter w;
  for (const auto& [k, v] : md.items()) w.add(k, v);
  w.write((dir / "spec.gguf").string());
  auto f = io::read_gguf((dir / "spec.gguf").string());
  const QuantSpec r = read_quant_spec(*f, 3);
  ASSERT_TRUE(r.present);
  EXPECT_EQ(r.scheme, "fptq");
  EXPECT_EQ(r.group_size, 64);
  EXPECT_EQ(r.calib_seed, s.calib_seed);
  for (int64_t l = 0; l < 3; ++l) {
    for (MatmulInput k : {MatmulInput::attn_qkv_in, MatmulInput::attn_out_in,
                          MatmulInput::ffn_gate_up_in, MatmulInput::ffn_down_in}) {
      const PointQuant& a = s.point(l, k);
      const PointQuant& b = r.point(l, k);
      EXPECT_EQ(a.mode, b.mode);
      EXPECT_EQ(a.mode == ActQuant::static_ ? a.scale : 0.0f, b.scale);
      EXPECT_EQ(a.lae, b.lae);
      EXPECT_EQ(a.bound, b.bound);
      EXPECT_EQ(a.bound_lae, b.bound_lae);
      EXPECT_EQ(a.group, b.group);
    }
  }
  EXPECT_EQ(r.point(2, MatmulInput::ffn_gate_up_in).group, 96);
  EXPECT_EQ(r.output.mode, ActQuant::fp);

  QuantSpec g = sample_spec(3);
  g.output.mode = ActQuant::dynamic;
  g.output.group = 64;
  io::Metadata mg;
  write_quant_spec(g, mg);
  EXPECT_EQ(read_quant_spec(file_with(mg), 3).output.group, 64);
  mg.set("fptq.act.output_in.mode", io::Value::make_string("fp"));
  EXPECT_THROW(read_quant_spec(file_with(mg), 3), Error);  // a group on an fp point
}

TEST(QuantSpec, RejectsMalformedKeys) {
  io::Metadata md;
  write_quant_spec(sample_spec(3), md);
  EXPECT_THROW(read_quant_spec(file_with(md), 4), Error);  // wrong array length

  io::Metadata bad_mode = md;
  bad_mode.set("fptq.act.attn_out_in.mode",
               io::Value::make_string_array({"static", "int3", "static"}));
  try {
    read_quant_spec(file_with(bad_mode), 3);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fptq.act.attn_out_in.mode'[1]"), std::string::npos)
        << e.what();
  }

  io::Metadata bad_scale = md;
  bad_scale.set("fptq.act.attn_out_in.scale",
                io::Value::make_float_array(io::ValueType::F32, {0.01, 0.0, 0.01}));
  EXPECT_THROW(read_quant_spec(file_with(bad_scale), 3), Error);

  // An activation group on a static point, or one that is no multiple of 32.
  for (const std::vector<int64_t>& g : {std::vector<int64_t>{32, 0, 0}, {0, 0, 48}}) {
    io::Metadata bad_group = md;
    const char* key = g[0] ? "fptq.act.attn_qkv_in.group" : "fptq.act.ffn_gate_up_in.group";
    bad_group.set(key, io::Value::make_int_array(io::ValueType::U32, g));
    EXPECT_THROW(read_quant_spec(file_with(bad_group), 3), Error) << key;
  }

  io::Metadata bad_version = md;
  bad_version.set("fptq.format_version", io::Value::make_int(io::ValueType::U32, 9));
  EXPECT_THROW(read_quant_spec(file_with(bad_version), 3), Error);
}

}  // namespace
}  // namespace fptq::model
