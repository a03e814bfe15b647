// LAE folding preserves the FP model's function (fptq-method.md §3): the
// model with s_j folded into attn_norm / ffn_norm and the q/k/v, gate/up
// columns gives the same logits as the original, within the FP32 forward
// error bound; a deliberately broken fold (norm only) does not.
#include <gtest/gtest.h>

#include "core/error.h"
#include "pipeline_test_util.h"
#include "quant/fold_model.h"
#include "quant/lae.h"

namespace fptq::quant {
namespace {

using namespace testutil;

// LAE scales for every point with a norm (forced: stories260K's bounds all
// fall below v0, so the policy alone would fold nothing).
std::map<std::string, std::vector<float>> all_lae_folds(const CalibStatsSet& stats,
                                                        int64_t n_layer) {
  std::map<std::string, std::vector<float>> folds;
  for (int64_t l = 0; l < n_layer; ++l) {
    for (auto kind : {model::MatmulInput::attn_qkv_in, model::MatmulInput::ffn_gate_up_in}) {
      const std::string name = model::observation_point_name(l, kind);
      folds[name] = lae_scales(stats.points.at(name).max_abs());
    }
  }
  return folds;
}

TEST(LaeFold, StoriesLogitsUnchanged) {
  FPTQ_REQUIRE_FILE(stories_path());
  ThreadPool pool(2);
  auto file = io::open_model(stories_path());
  const model::Model fp(file, pool);
  const CalibStatsSet stats = random_stats(fp, 4, 128, pool);
  const auto folds = all_lae_folds(stats, fp.config().n_layer);
  // The scales are far from 1, so the test exercises a real transformation.
  float smin = 1e30f, smax = 0;
  for (const auto& [n, s] : folds)
    for (float v : s) smin = std::min(smin, v), smax = std::max(smax, v);
  EXPECT_LT(smin, 0.9f);
  EXPECT_GT(smax, 1.5f);

  const model::Model folded(fold_model(file, fp.config(), folds), pool);
  const auto ids = golden_ids();
  const auto ref = prefill_all(fp, ids, pool);
  const auto got = prefill_all(folded, ids, pool);
  const double tol = fp32_logits_tolerance(fp.config(), int64_t(ids.size()), max_abs(ref));
  const double diff = max_abs_diff(ref, got);
  EXPECT_LE(diff, tol) << "max |Δlogit| " << diff << " > derived FP32 bound " << tol;

  // Negative control: folding into the norms only changes the function far
  // beyond the bound, so the comparison above is able to fail.
  auto broken = std::make_shared<io::ModelFile>(*fold_model(file, fp.config(), folds));
  for (io::TensorInfo& t : broken->tensors) {
    if (t.name.find("attn_q.") != std::string::npos || t.name.find("attn_k.") != std::string::npos ||
        t.name.find("attn_v.") != std::string::npos || t.name.find("ffn_gate.") != std::string::npos ||
        t.name.find("ffn_up.") != std::string::npos)
      t = *file->find_tensor(t.name);
  }
  const model::Model wrong(broken, pool);
  EXPECT_GT(max_abs_diff(ref, prefill_all(wrong, ids, pool)), 100 * tol);
}

TEST(LaeFold, RejectsBadFolds) {
  FPTQ_REQUIRE_FILE(stories_path());
  auto file = io::open_model(stories_path());
  const model::LlamaConfig cfg = model::read_config(*file);
  EXPECT_THROW(fold_model(file, cfg, {{"blk.0.ffn_down_in", std::vector<float>(172, 1.0f)}}),
               Error);
  EXPECT_THROW(fold_model(file, cfg, {{"blk.0.attn_qkv_in", std::vector<float>(63, 1.0f)}}), Error);
  EXPECT_THROW(fold_model(file, cfg, {{"blk.0.attn_qkv_in", std::vector<float>(64, 0.0f)}}), Error);
  EXPECT_THROW(fold_model(file, cfg, {{"blk.9.attn_qkv_in", std::vector<float>(64, 1.0f)}}), Error);
}

}  // namespace
}  // namespace fptq::quant
