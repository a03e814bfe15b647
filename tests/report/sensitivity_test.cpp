// Mixed models (some layers quantized, the rest FP), sensitivity units, the
// ranking's JSON form, seeded random choices and --keep-fp patterns; the
// mixed-model evaluation on stories260K (seconds).
#include "report/sensitivity.h"

#include <gtest/gtest.h>

#include <regex>

#include "core/error.h"
#include "eval/kl_base.h"
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

model::LlamaConfig small_config() {
  model::LlamaConfig c;
  c.architecture = "llama";
  c.n_layer = 3;
  c.dim = 8;
  c.ffn_dim = 16;
  c.n_head = 2;
  c.n_kv_head = 2;
  c.head_dim = 4;
  c.n_vocab = 10;
  c.n_rot = 4;
  return c;
}

TEST(SensitivityUnits, LayerAndGroup) {
  const auto cfg = small_config();
  const auto layer = sensitivity_units(cfg, UnitBy::layer);
  ASSERT_EQ(layer.size(), 12u);
  EXPECT_EQ(layer[0].name, "blk.0.attn_qkv_in");
  EXPECT_EQ(layer[11].points, std::vector<std::string>{"blk.2.ffn_down_in"});
  const auto group = sensitivity_units(cfg, UnitBy::group);
  ASSERT_EQ(group.size(), 5u);  // attention, ffn, blk.0..2
  EXPECT_EQ(group[0].name, "attention");
  EXPECT_EQ(group[0].points.size(), 6u);
  EXPECT_EQ(group[1].points[0], "blk.0.ffn_gate_up_in");
  EXPECT_EQ(group[4].name, "blk.2");
  EXPECT_EQ(group[4].points.size(), 4u);
  EXPECT_THROW(parse_unit_by("block"), Error);
}

TEST(SensitivityJson, RoundTripAndRanking) {
  SensitivityResult r;
  r.model = "m.gguf";
  r.quantized = "q.gguf";
  r.text = "t.txt";
  r.scheme = "fptq";
  r.by = "layer";
  r.ctx = 128;
  r.windows = 2;
  r.predictions = 126;
  r.fp_ppl = 10.5;
  r.all.kld = 0.2;
  for (auto [name, kld] : {std::pair{"blk.0.attn_qkv_in", 0.01}, {"blk.0.ffn_down_in", 0.05},
                           {"blk.1.attn_out_in", 0.01}}) {
    SensRow row;
    row.unit = {name, {name}};
    row.fig.kld = kld;
    r.rows.push_back(row);
  }
  sort_ranking(r.rows);
  EXPECT_EQ(r.rows[0].unit.name, "blk.0.ffn_down_in");
  EXPECT_EQ(r.rows[1].unit.name, "blk.0.attn_qkv_in");  // tie keeps the order
  const SensitivityResult back = parse_sensitivity_json(sensitivity_json(r), "test");
  ASSERT_EQ(back.rows.size(), 3u);
  EXPECT_EQ(back.rows[0].unit.name, "blk.0.ffn_down_in");
  EXPECT_DOUBLE_EQ(back.rows[0].fig.kld, 0.05);
  EXPECT_DOUBLE_EQ(back.fp_ppl, 10.5);
  EXPECT_EQ(top_points(back, 2), (std::set<std::string>{"blk.0.ffn_down_in", "blk.0.attn_qkv_in"}));
  EXPECT_THROW(parse_sensitivity_json("{\"format\":\"x\"}", "bad"), Error);
  EXPECT_THROW(parse_sensitivity_json("not json", "bad"), Error);
  EXPECT_NE(format_ranking(r).find("| 1 | blk.0.ffn_down_in |"), std::string::npos);
}

TEST(RandomPoints, SeededAndDistinct) {
  const std::vector<std::string> pts = all_points(small_config());
  const auto a = random_points(pts, 5, 7), b = random_points(pts, 5, 7);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.size(), 5u);
  EXPECT_EQ(random_points(pts, 100, 1).size(), pts.size());
  bool differs = false;
  for (uint64_t s = 1; s < 6 && !differs; ++s) differs = random_points(pts, 5, s) != a;
  EXPECT_TRUE(differs);
}

TEST(KeepFpPatterns, SelectExactlyTheConsumers) {
  const auto cfg = small_config();
  const auto pats = keep_fp_patterns(cfg, {"blk.1.attn_qkv_in", "blk.2.ffn_down_in"});
  ASSERT_EQ(pats.size(), 4u);  // q, k, v of block 1 and down of block 2
  auto matches = [&](const std::string& name) {
    for (const auto& p : pats)
      if (std::regex_search(name, std::regex(p))) return true;
    return false;
  };
  EXPECT_TRUE(matches("blk.1.attn_k.weight"));
  EXPECT_TRUE(matches("blk.2.ffn_down.weight"));
  EXPECT_FALSE(matches("blk.1.attn_output.weight"));
  EXPECT_FALSE(matches("blk.12.ffn_down.weight"));
  EXPECT_EQ(point_of_tensor(cfg, "blk.1.attn_norm.weight"), "blk.1.attn_qkv_in");
  EXPECT_EQ(point_of_tensor(cfg, "blk.0.ffn_up.weight"), "blk.0.ffn_gate_up_in");
  EXPECT_EQ(point_of_tensor(cfg, "output_norm.weight"), "");
}

class StoriesPair : public ::testing::Test {
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
    const quant::CalibData data = quant::make_calib_data(*tok_, cfg, co);
    const model::Model m(fp_, pool_, model::LoadOptions{model::RunMode::emulate});
    const quant::CalibStatsSet stats = quant::calibrate(m, data, pool_);
    quant::quantize_model(fp_, stats, quant::QuantizeOptions{}, (dir_ / "q.gguf").string(), pool_);
    pair_ = open_quantized_pair(fp_, io::open_model((dir_ / "q.gguf").string()));
  }
  ThreadPool pool_{2};
  testing::TempDir dir_;
  std::shared_ptr<const io::ModelFile> fp_;
  std::unique_ptr<tok::Tokenizer> tok_;
  QuantizedPair pair_;
};

TEST_F(StoriesPair, MixedFileTakesOnlyTheChosenPoints) {
  const auto none = mixed_model_file(pair_, {});
  for (size_t i = 0; i < none->tensors.size(); ++i)
    EXPECT_EQ(none->tensors[i].data, fp_->tensors[i].data) << none->tensors[i].name;
  const auto one = mixed_model_file(pair_, {"blk.1.ffn_gate_up_in"});
  for (const io::TensorInfo& t : one->tensors) {
    const bool mine = t.name == "blk.1.ffn_gate.weight" || t.name == "blk.1.ffn_up.weight" ||
                      t.name == "blk.1.ffn_norm.weight";
    EXPECT_EQ(t.data, mine ? pair_.q->tensor(t.name).data : fp_->tensor(t.name).data) << t.name;
  }
  const model::QuantSpec s = mixed_spec(pair_, {"blk.1.ffn_gate_up_in"});
  EXPECT_EQ(s.point(1, model::MatmulInput::ffn_gate_up_in).mode,
            pair_.spec.point(1, model::MatmulInput::ffn_gate_up_in).mode);
  EXPECT_EQ(s.point(0, model::MatmulInput::ffn_gate_up_in).mode, model::ActQuant::fp);
  EXPECT_EQ(s.point(1, model::MatmulInput::ffn_down_in).mode, model::ActQuant::fp);
  EXPECT_THROW(mixed_model_file(pair_, {"blk.99.ffn_down_in"}), Error);
  EXPECT_THROW(open_quantized_pair(pair_.q, pair_.q), Error);  // "FP" carries fptq keys
}

TEST_F(StoriesPair, NothingQuantizedHasZeroKldAndMoreQuantizedHasMore) {
  eval::PerplexityOptions po;
  po.ctx = 64;
  po.max_chunks = 2;
  const std::vector<int32_t> tokens = eval::tokenize_for_perplexity(
      *tok_, "Once upon a time there was a little girl named Lily. She liked to play outside "
             "in the park with her friends. One day she saw a big red ball under a tree and ran "
             "to get it. Her mom said she could keep it if she shared it with her brother. Lily "
             "was happy and they played together all day until the sun went down and it was "
             "time to go home for dinner with the whole family at the big table.");
  const model::Model fp(fp_, pool_, model::LoadOptions{model::RunMode::emulate});
  const eval::KlBaseRun base = eval::perplexity_record_kl_base(fp, *tok_, tokens, po, pool_);
  const EvalFigures none = evaluate_mixed(pair_, {}, *tok_, tokens, po, base.base, pool_);
  EXPECT_EQ(none.kld, 0.0);
  EXPECT_DOUBLE_EQ(none.ppl, base.ppl.stats.ppl);
  const auto pts = all_points(pair_.cfg);
  const EvalFigures all = evaluate_mixed(pair_, std::set<std::string>(pts.begin(), pts.end()),
                                         *tok_, tokens, po, base.base, pool_);
  EXPECT_GT(all.kld, 0.0);
  // Bits per weight: keeping every point in F16 gives 16; keeping none the file's Q4_0/F16 mix.
  EXPECT_DOUBLE_EQ(block_linear_bpw(pair_, std::set<std::string>(pts.begin(), pts.end())), 16.0);
  EXPECT_LT(block_linear_bpw(pair_, {}), 16.0);
  // --act-clip needs a probe of the same model.
  std::vector<PointProbe> probe;
  EXPECT_THROW(clipped_spec(pair_.spec, probe, 0.5), Error);
}

}  // namespace
}  // namespace fptq::report
