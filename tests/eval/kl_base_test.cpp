// The KL base file (hostile reader) and the record/compare runs on
// stories260K: a model against itself has zero KL and full top-1 agreement;
// a run on other tokens / ctx / windows is refused; an observer changes the
// result only when it changes activations.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <iterator>
#include <string>

#include "core/error.h"
#include "core/thread_pool.h"
#include "eval/kl_base.h"
#include "model/model.h"
#include "testing/testing.h"
#include "tokenizer/tokenizer.h"

namespace fptq::eval {
namespace {

KlBase small_base() {
  KlBase b;
  b.protocol = Protocol::llamacpp;
  b.ctx = 4;  // llamacpp scores ctx - 1 - ctx/2 = 1 prediction per window
  b.n_windows = 2;
  b.n_vocab = 5;
  b.top_k = 2;
  b.bos_first = true;
  b.tokens = {1, 2, 3, 4, 1, 0, 0, 2};
  b.ids = {3, 1, 0, 4};
  b.logits = {1.5f, -0.5f, 0.25f, 0.125f};
  b.lse = {1.75, 0.875};
  return b;
}

void expect_rejected(const std::string& bytes, const std::string& needle) {
  try {
    parse_kl_base(bytes, "f.klb");
    ADD_FAILURE() << "accepted; expected an error with '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(KlBaseFile, RoundTrip) {
  const KlBase b = small_base();
  const std::string s = serialize_kl_base(b);
  EXPECT_EQ(s.size(), 64u + 8 * 4 + 2 * (2 * 8 + 8));
  const KlBase r = parse_kl_base(s, "f.klb");
  EXPECT_EQ(r.protocol, b.protocol);
  EXPECT_EQ(r.ctx, b.ctx);
  EXPECT_EQ(r.n_windows, b.n_windows);
  EXPECT_EQ(r.n_vocab, b.n_vocab);
  EXPECT_EQ(r.top_k, b.top_k);
  EXPECT_EQ(r.bos_first, b.bos_first);
  EXPECT_EQ(r.tokens, b.tokens);
  EXPECT_EQ(r.ids, b.ids);
  EXPECT_EQ(r.logits, b.logits);
  EXPECT_EQ(r.lse, b.lse);
}

TEST(KlBaseFile, HostileInputs) {
  const std::string good = serialize_kl_base(small_base());
  expect_rejected("", "shorter than");
  expect_rejected(std::string(64, 'x'), "bad magic");
  // Every truncation and a trailing byte.
  for (size_t n = 64; n < good.size(); ++n) expect_rejected(good.substr(0, n), "truncated");
  expect_rejected(good + "x", "trailing");
  auto patched = [&](size_t off, auto v) {
    std::string s = good;
    std::memcpy(s.data() + off, &v, sizeof(v));
    return s;
  };
  expect_rejected(patched(8, uint32_t(2)), "version");
  expect_rejected(patched(12, uint32_t(7)), "protocol");
  expect_rejected(patched(16, int64_t(-4)), "ctx");
  expect_rejected(patched(24, int64_t(1) << 40), "n_windows");
  expect_rejected(patched(40, int64_t(6)), "top_k");  // more than n_vocab
  expect_rejected(patched(48, int64_t(3)), "positions");
  expect_rejected(patched(56, int64_t(2)), "bos_first");
  expect_rejected(patched(64, int32_t(5)), "outside the vocabulary");      // a token
  expect_rejected(patched(64 + 32, int32_t(-1)), "outside the vocabulary");  // a top-K id
  expect_rejected(patched(64 + 32 + 8, std::numeric_limits<float>::quiet_NaN()), "non-finite");
  expect_rejected(patched(64 + 32 + 16, 1.0), "below its largest logit");  // lse < 1.5
  expect_rejected(patched(64 + 32 + 16, std::numeric_limits<double>::infinity()), "log-sum-exp");
}

class StoriesKl : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto path = testing::shared_data("models/stories260K.gguf");
    FPTQ_REQUIRE_FILE(path);
    FPTQ_REQUIRE_FILE(testing::shared_data("text/wikitext-2-raw-test.txt"));
    pool = std::make_unique<ThreadPool>(2);
    model = model::Model::load(path.string(), *pool);
    tok = tok::Tokenizer::from_metadata(model->file().metadata, model->file().path);
    std::ifstream in(testing::shared_data("text/wikitext-2-raw-test.txt"), std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    tokens = tokenize_for_perplexity(*tok, text.substr(0, 20000));
    opts.ctx = 128;
    opts.max_chunks = 3;
  }
  std::unique_ptr<ThreadPool> pool;
  std::unique_ptr<model::Model> model;
  std::unique_ptr<tok::Tokenizer> tok;
  std::vector<int32_t> tokens;
  PerplexityOptions opts;
};

TEST_F(StoriesKl, SelfComparisonIsZero) {
  // K = the whole vocabulary (512): the KL is the full one, of a model
  // against its own (deterministic) logits: every term is exactly zero and
  // the tail bucket holds double rounding only (512 terms · 2^-53 ~ 1e-13).
  const KlBaseRun base = perplexity_record_kl_base(*model, *tok, tokens, opts, *pool, 512);
  EXPECT_EQ(base.base.n_positions(), 3 * (128 - 1 - 64));
  EXPECT_EQ(base.ppl.stats.n, base.base.n_positions());
  const KlBase reread = parse_kl_base(serialize_kl_base(base.base), "self.klb");
  PerplexityOptions o = opts;
  o.max_chunks = 0;  // taken from the base
  const KlCompareRun r = perplexity_vs_kl_base(*model, *tok, tokens, o, reread, *pool);
  EXPECT_EQ(r.ppl.stats.ppl, base.ppl.stats.ppl);
  EXPECT_EQ(r.kl.n, base.base.n_positions());
  EXPECT_LT(r.kl.max, 1e-12);
  EXPECT_EQ(r.kl.top1, 1.0);
  EXPECT_LT(r.kl.mean_tail_mass, 1e-12);
}

// Rounds every matmul input to a coarse grid: a different model function.
class CoarseObserver : public model::Observer {
 public:
  void on_matmul_input(const model::ObservationPoint&, float* x, int64_t rows,
                       int64_t cols) override {
    ++calls;
    for (int64_t i = 0; i < rows * cols; ++i) x[i] = std::round(x[i] * 4.0f) / 4.0f;
  }
  int64_t calls = 0;
};

TEST_F(StoriesKl, ObserverRunsAndShowsInKl) {
  const KlBaseRun base = perplexity_record_kl_base(*model, *tok, tokens, opts, *pool);
  CoarseObserver obs;
  PerplexityOptions o = opts;
  o.observer = &obs;
  const KlCompareRun r = perplexity_vs_kl_base(*model, *tok, tokens, o, base.base, *pool);
  EXPECT_GT(obs.calls, 0);
  EXPECT_NE(r.ppl.stats.ppl, base.ppl.stats.ppl);
  EXPECT_GT(r.kl.mean, 1e-4);  // coarse activations move the distributions
  EXPECT_LT(r.kl.top1, 1.0);
  EXPECT_GT(r.kl.p99, r.kl.median);
  EXPECT_GE(r.kl.max, r.kl.p99);
}

TEST_F(StoriesKl, RefusesAnotherEvaluation) {
  const KlBaseRun base = perplexity_record_kl_base(*model, *tok, tokens, opts, *pool, 8);
  PerplexityOptions o = opts;
  o.ctx = 256;
  EXPECT_THROW(perplexity_vs_kl_base(*model, *tok, tokens, o, base.base, *pool), Error);
  o = opts;
  o.protocol = Protocol::gptq;
  EXPECT_THROW(perplexity_vs_kl_base(*model, *tok, tokens, o, base.base, *pool), Error);
  o = opts;
  o.max_chunks = 2;
  EXPECT_THROW(perplexity_vs_kl_base(*model, *tok, tokens, o, base.base, *pool), Error);
  std::vector<int32_t> other = tokens;
  other[200] = (other[200] + 1) % 512;
  EXPECT_THROW(perplexity_vs_kl_base(*model, *tok, other, opts, base.base, *pool), Error);
  KlBase wrong_vocab = base.base;
  wrong_vocab.n_vocab = 49152;
  EXPECT_THROW(perplexity_vs_kl_base(*model, *tok, tokens, opts, wrong_vocab, *pool), Error);
}

}  // namespace
}  // namespace fptq::eval
