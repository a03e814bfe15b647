// Outlier-token isolation on SmolLM2-135M (slow): the attention sink (the BOS
// row at position 0, whose silu(gate)·up activations reach ~100 in a few
// blocks while ordinary tokens stay below ~35) is flagged by calibration and
// sets no range: wherever it is an outlier, the isolated range of that point
// is below the sink's own max, so the static Δ is set by ordinary tokens and
// the sink row is quantized per token at run time.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "pipeline_test_util.h"
#include "quant/plan.h"

namespace fptq::quant {
namespace {

using namespace testutil;

// Per point: max |x| of row 0 and the median row max, over one sequence.
struct SinkObserver : model::Observer {
  struct Seen {
    float sink = 0, median = 0;
  };
  std::map<std::string, Seen> seen;
  void on_matmul_input(const model::ObservationPoint& p, float* x, int64_t rows,
                       int64_t cols) override {
    if (p.kind == model::MatmulInput::output_in || rows < kOutlierMinRows) return;
    std::vector<float> m(size_t(rows), 0.0f);
    for (int64_t t = 0; t < rows; ++t)
      for (int64_t j = 0; j < cols; ++j) m[size_t(t)] = std::max(m[size_t(t)], std::fabs(x[t * cols + j]));
    Seen s;
    s.sink = m[0];
    std::nth_element(m.begin(), m.begin() + rows / 2, m.end());
    s.median = m[size_t(rows / 2)];
    seen[std::string(p.name)] = s;
  }
};

TEST(SmolLM2Isolation, SinkTokenSetsNoStaticRange) {
  const auto path = testing::smollm2_path();
  if (path.empty()) GTEST_SKIP() << "SmolLM2 not fetched (scripts/fetch_model.sh)";
  ThreadPool pool(ThreadPool::hardware_threads());
  auto file = io::open_model(path.string());
  const model::Model fp(file, pool);
  const CalibStatsSet stats = random_stats(fp, 4, 256, pool);
  // One calibration-like sequence (BOS + random tokens, seed 0's first).
  const auto tok = tok::Tokenizer::from_metadata(file->metadata, file->path);
  CalibOptions co;
  co.samples = 1;
  co.seqlen = 256;
  const CalibData one = make_calib_data(*tok, fp.config(), co);
  SinkObserver obs;
  model::KvCache cache(fp.config(), 256);
  std::vector<float> logits;
  fp.forward(one.sequences[0], cache, pool, model::Logits::last, logits, &obs);

  QuantizeOptions iso = recipe_options("fptq+isolate");
  iso.policy.v0 = iso.policy.v1 = 1e9f;  // every point static: every range matters
  const QuantPlan plan = plan_quantization(*file, stats, iso);
  int sink_points = 0, with_outliers = 0;
  for (const PointPlan& p : plan.points) {
    const ChannelStats& st = stats.points.at(p.name);
    ASSERT_TRUE(st.has_ordinary());
    EXPECT_LE(st.ordinary_bound(), st.bound()) << p.name;
    EXPECT_EQ(p.bound, st.ordinary_bound()) << p.name;  // the plan uses the isolated range
    EXPECT_TRUE(plan.spec.point(p.layer, p.kind).isolate) << p.name;
    if (st.outlier_tokens() > 0) {
      ++with_outliers;
      EXPECT_LT(st.ordinary_bound(), st.bound()) << p.name;
    }
    const auto it = obs.seen.find(p.name);
    ASSERT_NE(it, obs.seen.end()) << p.name;
    if (it->second.sink > kOutlierTokenRatio * it->second.median) {
      ++sink_points;
      EXPECT_LT(p.bound, it->second.sink) << p.name << ": the sink set the range";
      EXPECT_GT(it->second.sink, 127.0f * p.scale) << p.name << ": the sink is not isolated";
    }
  }
  // The sink is massive somewhere, and calibration flagged outliers there.
  EXPECT_GE(sink_points, 1);
  EXPECT_GE(with_outliers, sink_points);
  std::printf("SmolLM2: sink is an outlier at %d points, %d points flagged outlier tokens\n",
              sink_points, with_outliers);
}

}  // namespace
}  // namespace fptq::quant
