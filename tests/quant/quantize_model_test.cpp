// The quantized GGUF of stories260K: read back by our reader and by the
// independent `gguf` Python package, byte-identical across thread counts
// and runs, overrides and fallbacks applied and reported, bad inputs
// rejected with no output file left behind.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/error.h"
#include "io/dequant.h"
#include "io/gguf_reader.h"
#include "model/quant_spec.h"
#include "pipeline_test_util.h"
#include "quant/layer_report.h"
#include "quant/quantize_model.h"
#include "quant/weight_int4.h"
#include "stories_quant_fixture.h"
#include "stream_test_util.h"

namespace fptq::quant {
namespace {

namespace fs = std::filesystem;
using namespace testutil;

class QuantizeModel : public StoriesQuantTest<4, 128> {
 protected:
  QuantizeReport run(const QuantizeOptions& o, const std::string& out, int threads = 2,
                     const CalibStatsSet* stats = nullptr) {
    ThreadPool pool(threads);
    return quantize_model(file_, stats ? *stats : *stats_, o, out, pool, {}, data_);
  }
};

TEST_F(QuantizeModel, ReadBackByOurReader) {
  const std::string out = (dir_ / "q.gguf").string();
  const QuantizeReport rep = run(QuantizeOptions{}, out);
  const auto q = io::read_gguf(out);
  ASSERT_EQ(q->tensors.size(), file_->tensors.size());
  for (size_t i = 0; i < q->tensors.size(); ++i) {
    EXPECT_EQ(q->tensors[i].name, file_->tensors[i].name);
    EXPECT_EQ(q->tensors[i].ne, file_->tensors[i].ne);
    EXPECT_EQ(q->tensors[i].type, rep.tensors[i].type);
  }
  for (const auto& [key, value] : file_->metadata.items())
    EXPECT_TRUE(q->metadata.contains(key)) << key;
  EXPECT_EQ(q->metadata.get_int("general.file_type", out), 2);  // MOSTLY_Q4_0
  const model::QuantSpec spec = model::read_quant_spec(*q, 5);
  EXPECT_TRUE(spec.present);
  EXPECT_EQ(spec.scheme, "fptq");
  EXPECT_EQ(spec.calib_source, "random");
  EXPECT_EQ(spec.calib_samples, 4);
  EXPECT_EQ(spec.calib_seqlen, 128);
  for (const PointPlan& p : rep.plan.points) {
    const model::PointQuant& pq = spec.point(p.layer, p.kind);
    EXPECT_EQ(pq.mode, p.run_mode()) << p.name;
    EXPECT_EQ(pq.scale, p.scale) << p.name;
    EXPECT_EQ(pq.bound, p.bound) << p.name;
  }
  // Q4_0 tensors are uniform in their planned groups, and the group found
  // from the blocks is the planned one (64: K=64 is below the group 128).
  for (size_t i = 0; i < q->tensors.size(); ++i) {
    const io::TensorInfo& t = q->tensors[i];
    if (t.type != io::GgmlType::Q4_0) continue;
    std::span<const io::BlockQ4_0> blocks(reinterpret_cast<const io::BlockQ4_0*>(t.data),
                                          size_t(t.nbytes / sizeof(io::BlockQ4_0)));
    EXPECT_EQ(q4_0_detect_group(blocks, t.rows(), t.row_elems()), rep.plan.tensors[i].group)
        << t.name;
  }
  EXPECT_EQ(rep.file_bytes, fs::file_size(out));
}

bool python_gguf_available() {
  return std::system("python3 -c 'import numpy, gguf' >/dev/null 2>&1") == 0;
}

// The default options (the paper's fptq, Q4_0) and the default recipe
// (fptq-plus, IQ4_NL levels): gguf-py, llama.cpp's own Python reader,
// dequantizes every tensor to fptq's values bit for bit.
class QuantizeModelPy : public QuantizeModel, public ::testing::WithParamInterface<const char*> {};

TEST_P(QuantizeModelPy, ReadBackByPythonGguf) {
  if (!python_gguf_available()) GTEST_SKIP() << "python3 with numpy + gguf not available";
  const std::string out = (dir_ / "q.gguf").string();
  const bool plus = std::string(GetParam()) == "fptq-plus";
  run(plus ? recipe_options("fptq-plus") : QuantizeOptions{}, out);
  const fs::path deq = dir_ / "deq";
  fs::create_directory(deq);
  const std::string script = (fs::path(__FILE__).parent_path() / "py_check_quantized.py").string();
  const std::string log = (dir_ / "py.log").string();
  const std::string cmd = "python3 '" + script + "' '" + stories_path() + "' '" + out + "' '" +
                          deq.string() + "' > '" + log + "' 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd << "\n" << file_bytes(log);
  EXPECT_NE(file_bytes(log).find("scheme fptq"), std::string::npos) << file_bytes(log);
  const auto q = io::read_gguf(out);
  int compared_q4 = 0;
  for (const io::TensorInfo& t : q->tensors) {
    const std::string py = file_bytes(deq / (t.name + ".f32"));
    const std::vector<float> ours = io::dequantize_tensor(t);
    ASSERT_EQ(py.size(), ours.size() * sizeof(float)) << t.name;
    EXPECT_EQ(std::memcmp(py.data(), ours.data(), py.size()), 0)
        << t.name << ": python gguf dequantizes to other values";
    compared_q4 += t.type == (plus ? io::GgmlType::IQ4_NL : io::GgmlType::Q4_0);
  }
  // stories260K: 30 int4 linear weights (ffn_down, K=172, stays F16).
  EXPECT_EQ(compared_q4, 30);
}

INSTANTIATE_TEST_SUITE_P(Recipes, QuantizeModelPy, ::testing::Values("fptq", "fptq-plus"));

TEST_F(QuantizeModel, ByteIdenticalAcrossThreadsAndRuns) {
  for (Scheme s : {Scheme::Fptq, Scheme::FptqGptq}) {
    QuantizeOptions o;
    o.scheme = s;
    o.policy.v0 = 4;  // some LAE and dynamic points on this compact model
    o.policy.v1 = 8;
    const auto a = dir_ / "a.gguf", b = dir_ / "b.gguf", c = dir_ / "c.gguf";
    run(o, a.string(), 1);
    run(o, b.string(), 2);
    run(o, c.string(), 2);
    const std::string sa = file_bytes(a);
    EXPECT_GT(sa.size(), 100000u);
    EXPECT_TRUE(sa == file_bytes(b)) << scheme_name(s) << ": 1 vs 2 threads differ";
    EXPECT_TRUE(sa == file_bytes(c)) << scheme_name(s) << ": reruns differ";
  }
  // Calibration statistics too.
  ThreadPool p1(1), p2(2);
  const model::Model m(file_, p1);
  EXPECT_EQ(serialize_calib_stats(random_stats(m, 2, 64, p1)),
            serialize_calib_stats(random_stats(m, 2, 64, p2)));
}

TEST_F(QuantizeModel, OverridesTakeEffect) {
  QuantizeOptions o;
  o.keep_fp = {"blk\\.1\\.attn_q\\.", "blk\\.3\\.ffn_(gate|up)"};
  o.policy.overrides = {parse_policy_override("blk\\.2\\.ffn_down_in=dynamic"),
                        parse_policy_override("attn_out_in=fp")};
  const std::string out = (dir_ / "o.gguf").string();
  const QuantizeReport rep = run(o, out);
  const auto q = io::read_gguf(out);
  EXPECT_EQ(q->tensor("blk.1.attn_q.weight").type, io::GgmlType::F16);
  EXPECT_EQ(q->tensor("blk.1.attn_k.weight").type, io::GgmlType::Q4_0);
  EXPECT_EQ(q->tensor("blk.3.ffn_gate.weight").type, io::GgmlType::F16);
  const model::QuantSpec spec = model::read_quant_spec(*q, 5);
  EXPECT_EQ(spec.point(2, model::MatmulInput::ffn_down_in).mode, model::ActQuant::dynamic);
  EXPECT_EQ(spec.point(1, model::MatmulInput::ffn_down_in).mode, model::ActQuant::static_);
  for (int l = 0; l < 5; ++l)
    EXPECT_EQ(spec.point(l, model::MatmulInput::attn_out_in).mode, model::ActQuant::fp);
  // q kept but k, v not: the shared input stays quantized; gate and up both
  // kept: their input goes to FP.
  EXPECT_EQ(spec.point(1, model::MatmulInput::attn_qkv_in).mode, model::ActQuant::static_);
  EXPECT_EQ(spec.point(3, model::MatmulInput::ffn_gate_up_in).mode, model::ActQuant::fp);
  // The python reader agrees F16 tensors are what we wrote (covered above);
  // the kept tensor is the original weight rounded to F16.
  const auto w = io::dequantize_tensor(file_->tensor("blk.1.attn_q.weight"));
  const auto k = io::dequantize_tensor(q->tensor("blk.1.attn_q.weight"));
  for (size_t i = 0; i < w.size(); ++i) ASSERT_NEAR(k[i], w[i], std::fabs(w[i]) * 1e-3 + 1e-7);
}

TEST_F(QuantizeModel, FallbacksAreReported) {
  const QuantizeReport rep = run(QuantizeOptions{}, (dir_ / "f.gguf").string());
  const auto fb = rep.fallbacks();
  int down = 0, g64 = 0;
  for (const TensorResult* r : fb) {
    if (r->name.find("ffn_down") != std::string::npos) {
      ++down;
      EXPECT_EQ(r->type, io::GgmlType::F16);
      EXPECT_NE(r->note.find("K=172"), std::string::npos) << r->note;
    } else {
      ++g64;
      EXPECT_EQ(r->group, 64);
      EXPECT_NE(r->note.find("group 64"), std::string::npos) << r->note;
    }
  }
  EXPECT_EQ(down, 5);
  EXPECT_EQ(g64, 30);
  const std::string summary = format_quantize_summary(rep);
  EXPECT_NE(summary.find("K=172 is not a multiple of 32"), std::string::npos) << summary;
  const std::string csv = layer_report_csv(rep.plan, &rep);
  EXPECT_NE(csv.find("blk.4.ffn_down.weight,,,,,,F16,0,1"), std::string::npos) << csv;
  // Per-channel: K=64 rows are Q4_0 with one scale per row, ffn_down still F16.
  QuantizeOptions pc;
  pc.int4.group = 0;
  const QuantizeReport r0 = run(pc, (dir_ / "pc.gguf").string());
  for (const TensorResult& r : r0.tensors) {
    if (r.name == "blk.0.attn_q.weight") EXPECT_EQ(r.group, 64);
  }
}

TEST_F(QuantizeModel, EverySchemeWrites) {
  for (Scheme s : all_schemes()) {
    QuantizeOptions o;
    o.scheme = s;
    const std::string out = (dir_ / (std::string(scheme_name(s)) + ".gguf")).string();
    const QuantizeReport rep = run(o, out);
    const auto q = io::read_gguf(out);
    const model::QuantSpec spec = model::read_quant_spec(*q, 5);
    EXPECT_EQ(spec.scheme, scheme_name(s));
    const SchemeTraits tr = scheme_traits(s);
    const io::GgmlType wq = tr.weights == WeightFormat::Int8 ? io::GgmlType::Q8_0 : io::GgmlType::Q4_0;
    EXPECT_EQ(q->tensor("blk.0.attn_q.weight").type, wq) << scheme_name(s);
    EXPECT_EQ(spec.weight_method, tr.gptq ? "gptq" : "rtn");
    const auto counts = rep.plan.strategy_counts();
    if (tr.act == ActPolicy::AllFp) EXPECT_EQ(counts.at("fp"), 20) << scheme_name(s);
    if (tr.act == ActPolicy::AllDynamic) EXPECT_EQ(counts.at("dynamic"), 20) << scheme_name(s);
    if (tr.act == ActPolicy::AllStatic) EXPECT_EQ(counts.at("static"), 20) << scheme_name(s);
    // Bits per weight over the linear weights lie between the int4/int8
    // block cost and F16 (ffn_down stays F16 on this model).
    const double lo = tr.weights == WeightFormat::Int8 ? 8.5 : 4.5;
    EXPECT_GT(rep.bpw_linear(), lo) << scheme_name(s);
    EXPECT_LT(rep.bpw_linear(), 16.0) << scheme_name(s);
  }
}

TEST_F(QuantizeModel, BadInputsFailCleanly) {
  const std::string out = (dir_ / "bad.gguf").string();
  auto expect_error = [&](const QuantizeOptions& o, const CalibStatsSet* stats,
                          const std::string& needle, const std::string& path) {
    try {
      run(o, path, 2, stats);
      ADD_FAILURE() << "no error; expected one mentioning '" << needle << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(path)) << "output left behind after: " << needle;
    for (const auto& e : fs::directory_iterator(dir_.path()))
      EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
  };
  CalibStatsSet missing = *stats_;
  missing.points.erase("blk.3.ffn_down_in");
  expect_error(QuantizeOptions{}, &missing, "blk.3.ffn_down_in", out);
  CalibStatsSet other = *stats_;
  other.points.at("blk.0.attn_qkv_in") = ChannelStats(576);
  expect_error(QuantizeOptions{}, &other, "576 channels", out);
  QuantizeOptions bad_re;
  bad_re.keep_fp = {"blk\\.(1"};
  expect_error(bad_re, nullptr, "invalid regex", out);
  QuantizeOptions bad_group;
  bad_group.int4.group = 48;
  expect_error(bad_group, nullptr, "--group-size 48", out);
  QuantizeOptions bad_v;
  bad_v.policy.v0 = 200;
  expect_error(bad_v, nullptr, "v0", out);
  QuantizeOptions bad_alpha;
  bad_alpha.scheme = Scheme::W8A8SmoothQuant;
  bad_alpha.smooth_alpha = 1.5f;
  expect_error(bad_alpha, nullptr, "α", out);
  expect_error(QuantizeOptions{}, nullptr, "does not exist", (dir_ / "no/such/dir/q.gguf").string());
  EXPECT_THROW(parse_policy_override("ffn_down=int4"), Error);
  // Output = input (a copy, so that the shared file is never at risk).
  const fs::path copy = dir_ / "model.gguf";
  fs::copy_file(stories_path(), copy);
  const std::string before = file_bytes(copy);
  {
    ThreadPool pool(1);
    EXPECT_THROW(quantize_model(io::open_model(copy.string()), *stats_, QuantizeOptions{},
                                copy.string(), pool),
                 Error);
    EXPECT_THROW(quantize_model(io::open_model(copy.string()), *stats_, QuantizeOptions{},
                                (dir_ / "." / "model.gguf").string(), pool),
                 Error);
  }
  EXPECT_TRUE(file_bytes(copy) == before);
  // GPTQ without calibration sequences.
  {
    ThreadPool pool(1);
    QuantizeOptions g;
    g.scheme = Scheme::FptqGptq;
    EXPECT_THROW(quantize_model(file_, *stats_, g, out, pool, {}, nullptr), Error);
    EXPECT_FALSE(fs::exists(out));
  }
  // An fptq output cannot be quantized again.
  const std::string q1 = (dir_ / "q1.gguf").string();
  run(QuantizeOptions{}, q1);
  ThreadPool pool(1);
  EXPECT_THROW(quantize_model(io::open_model(q1), *stats_, QuantizeOptions{}, out, pool), Error);
}

}  // namespace
}  // namespace fptq::quant
