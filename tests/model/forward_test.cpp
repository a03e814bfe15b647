// The FP32 forward pass on stories260K: batched prefill against token-by-token
// decode, independence from the thread count, and the observation points.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "model/forward_util.h"
#include "model/model.h"
#include "testing/testing.h"
#include "tokenizer/tokenizer.h"

namespace fptq::model {
namespace {

std::string stories_path() { return testing::shared_data("models/stories260K.gguf").string(); }

// A real prompt: BOS + the start of the golden story.
std::vector<int32_t> prompt_ids(const Model& m) {
  auto tok = tok::Tokenizer::from_metadata(m.file().metadata, m.file().path);
  return tok->encode("Once upon a time, there was a little girl named Lily. She loved to play", true);
}

// Logits of every position, the prompt processed as one batch on `threads`.
std::vector<float> prefill_logits(const Model& m, const std::vector<int32_t>& ids, int threads,
                                  Observer* obs = nullptr) {
  ThreadPool pool(threads);
  return prefill_all(m, ids, pool, obs);
}

TEST(Forward, PrefillMatchesTokenByTokenDecode) {
  FPTQ_REQUIRE_FILE(stories_path());
  ThreadPool pool(2);
  auto m = Model::load(stories_path(), pool);
  const std::vector<int32_t> ids = golden_ids();
  ASSERT_EQ(ids.size(), 257u);
  const int64_t V = m->config().n_vocab;
  const std::vector<float> batch = prefill_logits(*m, ids, 2);

  KvCache cache(m->config(), int64_t(ids.size()));
  std::vector<float> step;
  double max_abs = 0, worst = 0;
  int64_t worst_at = -1;
  std::vector<float> decode;
  for (int32_t id : ids) {
    const int32_t one[1] = {id};
    m->forward(one, cache, pool, Logits::last, step);
    ASSERT_EQ(int64_t(step.size()), V);
    decode.insert(decode.end(), step.begin(), step.end());
  }
  ASSERT_EQ(batch.size(), decode.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    max_abs = std::max(max_abs, double(std::fabs(batch[i])));
    const double d = std::fabs(double(batch[i]) - double(decode[i]));
    if (d > worst) worst = d, worst_at = int64_t(i);
  }
  const double tol = logits_tolerance(m->config(), int64_t(ids.size()), max_abs);
  std::printf("max |prefill - decode| = %g (tolerance %g)\n", worst, tol);
  EXPECT_LE(worst, tol) << "worst at position " << worst_at / V << " token " << worst_at % V
                        << ": prefill " << batch[size_t(worst_at)] << " decode "
                        << decode[size_t(worst_at)];
  // Same argmax everywhere: the two paths agree on what the model predicts.
  for (size_t p = 0; p < ids.size(); ++p) {
    auto row = [&](const std::vector<float>& v) {
      return std::max_element(v.begin() + int64_t(p) * V, v.begin() + int64_t(p + 1) * V) -
             (v.begin() + int64_t(p) * V);
    };
    EXPECT_EQ(row(batch), row(decode)) << "position " << p;
  }
}

TEST(Forward, LastLogitsEqualLastRowOfAll) {
  FPTQ_REQUIRE_FILE(stories_path());
  ThreadPool pool(1);
  auto m = Model::load(stories_path(), pool);
  const std::vector<int32_t> ids = prompt_ids(*m);
  const std::vector<float> all = prefill_logits(*m, ids, 1);
  KvCache cache(m->config(), int64_t(ids.size()));
  std::vector<float> last;
  m->forward(ids, cache, pool, Logits::last, last);
  const int64_t V = m->config().n_vocab;
  ASSERT_EQ(int64_t(last.size()), V);
  EXPECT_TRUE(std::equal(last.begin(), last.end(), all.end() - V));
  EXPECT_EQ(cache.n_past(), int64_t(ids.size()));
}

TEST(Forward, BitIdenticalForOneAndTwoThreads) {
  FPTQ_REQUIRE_FILE(stories_path());
  ThreadPool pool(1);
  auto m = Model::load(stories_path(), pool);
  const std::vector<int32_t> ids = prompt_ids(*m);
  const std::vector<float> a = prefill_logits(*m, ids, 1);
  const std::vector<float> b = prefill_logits(*m, ids, 2);
  const std::vector<float> c = prefill_logits(*m, ids, 3);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(a.data(), c.data(), a.size() * sizeof(float)));
}

// Decode steps split their attention by KV head, and by runs of query heads
// when threads outnumber the KV heads (8 threads, 4 KV heads of 2 query
// heads here): the same bits as one thread.
TEST(Forward, DecodeBitIdenticalForAnyThreadCount) {
  FPTQ_REQUIRE_FILE(stories_path());
  ThreadPool load(1);
  auto m = Model::load(stories_path(), load);
  ASSERT_EQ(m->config().n_kv_head, 4);
  ASSERT_EQ(m->config().group_size(), 2);
  const std::vector<int32_t> ids = prompt_ids(*m);
  auto decode = [&](int threads) {
    ThreadPool pool(threads);
    return decode_all(*m, ids, pool);
  };
  const std::vector<float> a = decode(1);
  for (int t : {2, 3, 8}) {
    const std::vector<float> b = decode(t);
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float))) << t << " threads";
  }
}

TEST(Forward, RejectsBadTokensAndFullCache) {
  FPTQ_REQUIRE_FILE(stories_path());
  ThreadPool pool(1);
  auto m = Model::load(stories_path(), pool);
  KvCache cache(m->config(), 2);
  std::vector<float> logits;
  const std::vector<int32_t> bad = {1, 512};
  EXPECT_THROW(m->forward(bad, cache, pool, Logits::last, logits), Error);
  const std::vector<int32_t> three = {1, 2, 3};
  cache.clear();
  EXPECT_THROW(m->forward(three, cache, pool, Logits::last, logits), Error);
}

// Records every observation point and, for output_in, zeroes the input.
struct RecordingObserver : Observer {
  std::vector<std::string> names;
  std::vector<int64_t> cols;
  bool zero_output_in = false;
  void on_matmul_input(const ObservationPoint& p, float* x, int64_t rows, int64_t c) override {
    names.emplace_back(p.name);
    cols.push_back(c);
    EXPECT_EQ(p.name, observation_point_name(p.layer, p.kind));
    if (p.kind == MatmulInput::output_in && zero_output_in) std::fill_n(x, rows * c, 0.0f);
  }
};

TEST(Forward, ObservationPointBeforeEveryMatmul) {
  FPTQ_REQUIRE_FILE(stories_path());
  ThreadPool pool(2);
  auto m = Model::load(stories_path(), pool);
  const LlamaConfig& c = m->config();
  const std::vector<int32_t> ids = prompt_ids(*m);
  RecordingObserver obs;
  const std::vector<float> observed = prefill_logits(*m, ids, 2, &obs);
  ASSERT_EQ(int64_t(obs.names.size()), 4 * c.n_layer + 1);
  EXPECT_EQ(obs.names[0], "blk.0.attn_qkv_in");
  EXPECT_EQ(obs.names[1], "blk.0.attn_out_in");
  EXPECT_EQ(obs.names[2], "blk.0.ffn_gate_up_in");
  EXPECT_EQ(obs.names[3], "blk.0.ffn_down_in");
  EXPECT_EQ(obs.names.back(), "output_in");
  EXPECT_EQ(obs.cols[0], c.dim);
  EXPECT_EQ(obs.cols[1], c.n_head * c.head_dim);
  EXPECT_EQ(obs.cols[3], c.ffn_dim);
  // Observing without modifying changes nothing.
  const std::vector<float> plain = prefill_logits(*m, ids, 2);
  EXPECT_EQ(observed, plain);
  // Modifying the input in place reaches the matmul: the head has no bias,
  // so a zero input gives exactly zero logits.
  RecordingObserver zeroing;
  zeroing.zero_output_in = true;
  const std::vector<float> zeroed = prefill_logits(*m, ids, 2, &zeroing);
  EXPECT_TRUE(std::all_of(zeroed.begin(), zeroed.end(), [](float v) { return v == 0.0f; }));
}

}  // namespace
}  // namespace fptq::model
