// The probe and the report on stories260K (seconds): the figures it
// computes agree with the model's own quantizers and folds, and the HTML is
// self-contained.
#include "report/report.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "io/model_file.h"
#include "model/engine_plan.h"
#include "model/model.h"
#include "quant/calibrate.h"
#include "quant/quantize_model.h"
#include "report/act_clip.h"
#include "testing/testing.h"
#include "tokenizer/tokenizer.h"

namespace fptq::report {
namespace {

class StoriesReport : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto path = testing::shared_data("models/stories260K.gguf");
    FPTQ_REQUIRE_FILE(path);
    fp_ = io::open_model(path.string());
    const model::LlamaConfig cfg = model::read_config(*fp_);
    tok_ = tok::Tokenizer::from_metadata(fp_->metadata, fp_->path);
    quant::CalibOptions co;
    co.samples = 2;
    co.seqlen = 64;
    data_ = quant::make_calib_data(*tok_, cfg, co);
    const model::Model m(fp_, pool_, model::LoadOptions{model::RunMode::emulate});
    stats_ = quant::calibrate(m, data_, pool_);
    quant::QuantizeOptions qo;
    qo.policy.v0 = 0.5f;  // stories260K's bounds are small: get every strategy
    qo.policy.v1 = 3.0f;
    quant::quantize_model(fp_, stats_, qo, (dir_ / "q.gguf").string(), pool_);
    pair_ = open_quantized_pair(fp_, io::open_model((dir_ / "q.gguf").string()));
  }
  ThreadPool pool_{2};
  testing::TempDir dir_;
  std::shared_ptr<const io::ModelFile> fp_;
  std::unique_ptr<tok::Tokenizer> tok_;
  quant::CalibData data_;
  quant::CalibStatsSet stats_;
  QuantizedPair pair_;
};

TEST_F(StoriesReport, ProbeMatchesTheModel) {
  ProbeOptions po;
  po.rows_per_point = 32;
  const std::vector<PointProbe> pts = probe_points(pair_, data_, *tok_, pool_, po);
  ASSERT_EQ(int64_t(pts.size()), pair_.cfg.n_layer * 4);
  int lae = 0;
  for (const PointProbe& p : pts) {
    SCOPED_TRACE(p.name);
    EXPECT_EQ(p.before.tokens(), 2 * 64);
    // The same data as calibration: the probe's maxima are the statistics'.
    EXPECT_EQ(p.before.max_abs(), stats_.points.at(p.name).max_abs());
    EXPECT_FLOAT_EQ(p.before.bound(), p.quant.bound);
    if (!p.fold.empty()) {
      ++lae;
      for (size_t j = 0; j < p.fold.size(); ++j)
        EXPECT_NEAR(p.after.max_abs()[j], p.before.max_abs()[j] / p.fold[j],
                    1e-5f * p.before.max_abs()[j] / p.fold[j] + 1e-30f);
      EXPECT_NEAR(p.after.bound(), p.quant.bound_lae, 1e-4 * p.quant.bound_lae);
    }
    EXPECT_EQ(p.strategy, strategy_of(p.quant));
    if (p.quant.mode == model::ActQuant::static_) {
      // Calibrated on these very rows: nothing saturates.
      EXPECT_EQ(p.clip_frac, 0.0);
      EXPECT_GT(p.act_nmse, 0.0);
    }
    // The int8 codes of every probe value after LAE; static ones are the
    // quantizer's own on the sampled rows (fake-quant = code · Δ).
    if (p.quant.mode == model::ActQuant::fp) {
      EXPECT_TRUE(p.act_codes.empty());
    } else {
      EXPECT_EQ(p.act_codes.total(), uint64_t(2 * 64 * p.before.channels()));
      if (p.quant.mode == model::ActQuant::static_) {
        EXPECT_EQ(p.act_codes.saturated, 0u);
        EXPECT_DOUBLE_EQ(p.act_codes.saturated_frac(), p.clip_frac);
        // The calibration max lands on the full-scale code.
        EXPECT_GT(p.act_codes.counts.front() + p.act_codes.counts.back(), 0u);
      } else {
        // Per token, the row's max maps to ±127: at least one per row.
        EXPECT_GE(p.act_codes.counts.front() + p.act_codes.counts.back(), uint64_t(2 * 64));
      }
    }
    EXPECT_EQ(int64_t(p.top.size()), std::min<int64_t>(5, 2 * 64));
    EXPECT_FLOAT_EQ(p.top[0].value, p.before.bound());
    EXPECT_GT(p.rows_sampled, 0);
    EXPECT_GT(p.out_nmse, 0.0);
    EXPECT_LT(p.out_nmse, 1.0);
    for (const TensorProbe& t : p.tensors) {
      EXPECT_EQ(t.hist_fp.total(), uint64_t(t.n * t.k));
      EXPECT_EQ(t.hist_q.total() + t.hist_q.outside, uint64_t(t.n * t.k));
      EXPECT_GT(t.weight_nmse, 0.0);
      if (t.type == "Q4_0" || t.type == "IQ4_NL") {
        ASSERT_FALSE(t.codes.empty());
        EXPECT_EQ(t.codes.lo, -8);
        EXPECT_EQ(t.codes.total(), uint64_t(t.n * t.k));
      }
    }
  }
  EXPECT_GT(lae, 0);

  ReportInput in;
  in.fp_path = "fp.gguf";
  in.q_path = "q.gguf";
  in.pair = &pair_;
  in.stats = stats_;
  in.probe = data_.provenance;
  in.points = pts;
  const std::string html = report_html(in);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg"));
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_NE(html.find("id=\"overview-chart\"><svg"), std::string::npos);
  EXPECT_NE(html.find("id=\"blk.1.ffn_down_in\""), std::string::npos);
  const auto j = nlohmann::json::parse(report_json(in));
  EXPECT_EQ(j.at("points").size(), pts.size());
  EXPECT_EQ(j.at("points")[0].at("channel_max_before").size(), size_t(pair_.cfg.dim));
  for (size_t i = 0; i < pts.size(); ++i) {
    const auto& jc = j.at("points")[i].at("probe").at("act_codes");
    if (pts[i].act_codes.empty()) {
      EXPECT_TRUE(jc.is_null());
      continue;
    }
    EXPECT_EQ(jc.at("counts").size(), 255u);
    EXPECT_EQ(jc.at("total").get<uint64_t>(), pts[i].act_codes.total());
    EXPECT_NE(html.find("Int8 activation codes"), std::string::npos);
  }

  // --act-clip at p = 1 on the calibration rows reproduces the file's static
  // scales (non-LAE points: the same maxima; LAE points: B' within rounding).
  const model::QuantSpec same = clipped_spec(pair_.spec, pts, 1.0);
  const model::QuantSpec tighter = clipped_spec(pair_.spec, pts, 0.99);
  for (int64_t l = 0; l < pair_.cfg.n_layer; ++l)
    for (int k = 0; k < 4; ++k) {
      const auto& a = pair_.spec.layers[size_t(l)][size_t(k)];
      if (a.mode != model::ActQuant::static_) continue;
      EXPECT_NEAR(same.layers[size_t(l)][size_t(k)].scale, a.scale, 1e-4 * a.scale);
      EXPECT_LT(tighter.layers[size_t(l)][size_t(k)].scale, a.scale);
    }
}

}  // namespace
}  // namespace fptq::report
