// LAE folding preserves SmolLM2-135M's function (slow: a 135M model). The
// "FP" model is the dequantized Q4_1 GGUF, the only copy available.
#include <gtest/gtest.h>

#include "pipeline_test_util.h"
#include "quant/fold_model.h"
#include "quant/lae.h"

namespace fptq::quant {
namespace {

using namespace testutil;

TEST(SmolLM2LaeFold, LogitsUnchanged) {
  const auto path = testing::smollm2_path();
  if (path.empty()) GTEST_SKIP() << "SmolLM2 not fetched (scripts/fetch_model.sh)";
  ThreadPool pool(ThreadPool::hardware_threads());
  auto file = io::open_model(path.string());
  const model::Model fp(file, pool);
  const CalibStatsSet stats = random_stats(fp, 2, 64, pool);
  std::map<std::string, std::vector<float>> folds;
  for (int64_t l = 0; l < fp.config().n_layer; ++l)
    for (auto kind : {model::MatmulInput::attn_qkv_in, model::MatmulInput::ffn_gate_up_in}) {
      const std::string name = model::observation_point_name(l, kind);
      folds[name] = lae_scales(stats.points.at(name).max_abs());
    }
  const model::Model folded(fold_model(file, fp.config(), folds), pool);
  const auto tok = tok::Tokenizer::from_metadata(file->metadata, file->path);
  const std::vector<int32_t> ids =
      tok->encode("The quick brown fox jumps over the lazy dog. Quantization maps real numbers to "
                  "a small set of integers, and the art is in choosing the scale.",
                  true);
  const auto ref = prefill_all(fp, ids, pool);
  const auto got = prefill_all(folded, ids, pool);
  const double tol = fp32_logits_tolerance(fp.config(), int64_t(ids.size()), max_abs(ref));
  const double diff = max_abs_diff(ref, got);
  EXPECT_LE(diff, tol) << "max |Δlogit| " << diff << " > derived FP32 bound " << tol;
  std::printf("SmolLM2 LAE fold: max |Δlogit| %.3g (bound %.3g, max |logit| %.3g)\n", diff, tol,
              max_abs(ref));
}

}  // namespace
}  // namespace fptq::quant
