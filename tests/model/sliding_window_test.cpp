// Mistral's sliding-window attention on stories260K written as a Hugging Face
// MistralForCausalLM folder with `sliding_window` W (tests/io/make_hf_model.py):
// the logits match an independent float64 reference written from the
// transformers definition (tests/model/mistral_reference.py), nothing outside
// the receptive field of a position reaches its logits, the decode path agrees
// with the prefill path, and a window covering the context is full attention,
// bit for bit.
//
// llama.cpp is no reference here: it converts Mistral to the `llama`
// architecture and reads no sliding window for it (nor does its phi3 code,
// where SWA is switched off), so its logits are full causal attention.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "model/forward_util.h"
#include "model/model.h"
#include "testing/testing.h"

namespace fptq::model {
namespace {
namespace fs = std::filesystem;

fs::path stories() { return testing::shared_data("models/stories260K.gguf"); }

// BOS + the first tokens of the golden story.
std::vector<int32_t> story_ids(size_t n) {
  std::vector<int32_t> ids = golden_ids();
  ids.resize(std::min(ids.size(), n));
  return ids;
}

// An F32 HF folder of stories260K; `args` adds --arch / --sliding-window.
// Empty path (and *why) when python3 or its packages are missing.
fs::path make_hf(const testing::TempDir& tmp, const std::string& name, const std::string& args,
                 std::string* why) {
  const fs::path out = tmp / name;
  const int status = testing::run_python_tool(
      "tests/io/make_hf_model.py",
      "--gguf '" + stories().string() + "' --out '" + out.string() + "' --dtype F32 " + args,
      tmp / (name + ".log"), why);
  if (status == 0) return out;
  if (status != 77 && status != 127) ADD_FAILURE() << *why;
  return {};
}

#define MAKE_HF_OR_SKIP(var, name, args)                     \
  FPTQ_REQUIRE_FILE(stories());                              \
  std::string why_##var;                                     \
  const fs::path var = make_hf(tmp, name, args, &why_##var); \
  if (var.empty()) GTEST_SKIP() << why_##var

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, double(std::fabs(x)));
  return m;
}

// max |a - b| over positions >= from (rows of V logits).
double max_diff(const std::vector<float>& a, const std::vector<double>& b, int64_t V,
                int64_t from = 0) {
  double d = 0;
  for (size_t i = size_t(from * V); i < a.size(); ++i)
    d = std::max(d, std::fabs(double(a[i]) - b[i]));
  return d;
}

std::vector<double> read_f64(const fs::path& p) {
  std::ifstream in(p, std::ios::binary | std::ios::ate);
  const std::streamsize n = in.tellg();
  std::vector<double> v(size_t(n) / sizeof(double));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(v.data()), std::streamsize(v.size() * sizeof(double)));
  return v;
}

constexpr int64_t kWindow = 8;
constexpr size_t kTokens = 48;  // > kWindow · n_layer: the window matters at every layer

TEST(SlidingWindow, ConfigCarriesTheWindow) {
  testing::TempDir tmp;
  MAKE_HF_OR_SKIP(hf, "hf", "--arch mistral --sliding-window 8");
  ThreadPool pool(1);
  auto m = Model::load(hf.string(), pool);
  EXPECT_EQ(m->config().sliding_window, kWindow);
  EXPECT_EQ(m->config().first_key(7), 0);
  EXPECT_EQ(m->config().first_key(8), 1);
  EXPECT_EQ(m->config().first_key(47), 40);
  auto plain = Model::load(stories().string(), pool);
  EXPECT_EQ(plain->config().sliding_window, 0);
  EXPECT_EQ(plain->config().first_key(47), 0);
}

// fptq's FP32 logits against the float64 reference, with and without the
// window; the two references differ by far more than the rounding bound, so
// the comparison tells windowed from full attention.
TEST(SlidingWindow, MatchesIndependentReference) {
  testing::TempDir tmp;
  MAKE_HF_OR_SKIP(hf, "hf", "--arch mistral --sliding-window 8");
  ThreadPool pool(2);
  auto m = Model::load(hf.string(), pool);
  const std::vector<int32_t> ids = story_ids(kTokens);
  ASSERT_EQ(ids.size(), kTokens);
  const int64_t V = m->config().n_vocab;
  const std::vector<float> got = prefill_all(*m, ids, pool);

  std::string why;
  std::string list;
  for (int32_t id : ids) list += (list.empty() ? "" : ",") + std::to_string(id);
  for (bool window : {true, false}) {
    const fs::path out = tmp / (window ? "ref-window.f64" : "ref-full.f64");
    const int status =
        testing::run_python_tool("tests/model/mistral_reference.py",
                                 "--model '" + hf.string() + "' --ids " + list + " --out '" +
                                     out.string() + "'" + (window ? "" : " --no-window"),
                                 tmp / "ref.log", &why);
    if (status == 77 || status == 127) GTEST_SKIP() << why;
    ASSERT_EQ(status, 0) << why;
  }
  const std::vector<double> ref_window = read_f64(tmp / "ref-window.f64");
  const std::vector<double> ref_full = read_f64(tmp / "ref-full.f64");
  ASSERT_EQ(ref_window.size(), got.size());
  ASSERT_EQ(ref_full.size(), got.size());

  const double tol = logits_tolerance(m->config(), int64_t(kTokens), max_abs(got));
  const double d_window = max_diff(got, ref_window, V);
  const double d_full = max_diff(got, ref_full, V, kWindow);
  std::printf(
      "max |fptq - reference| = %g with the window (tolerance %g); %g against full "
      "attention from position %lld on\n",
      d_window, tol, d_full, static_cast<long long>(kWindow));
  EXPECT_LE(d_window, tol);
  EXPECT_GT(d_full, 100 * tol) << "the window made no difference";
  // Before the window first cuts (positions < W) both references agree.
  EXPECT_LE(max_diff(std::vector<float>(got.begin(), got.begin() + kWindow * V),
                     std::vector<double>(ref_full.begin(), ref_full.begin() + kWindow * V), V),
            tol);
}

// The logits at position p depend on tokens p - L·(W-1) .. p only: changing
// the token just before that range leaves them bit for bit unchanged (masked
// probabilities are exact zeros), changing the first token inside it does not.
TEST(SlidingWindow, NothingOutsideTheReceptiveFieldReachesALogit) {
  testing::TempDir tmp;
  MAKE_HF_OR_SKIP(hf, "hf", "--arch mistral --sliding-window 8");
  ThreadPool pool(2);
  auto m = Model::load(hf.string(), pool);
  const int64_t V = m->config().n_vocab, L = m->config().n_layer;
  const std::vector<int32_t> ids = story_ids(kTokens);
  const int64_t p = int64_t(kTokens) - 1, first = p - L * (kWindow - 1);
  ASSERT_GT(first, 1);
  const std::vector<float> base = prefill_all(*m, ids, pool);
  auto last_row_equal = [&](const std::vector<float>& other) {
    return std::memcmp(base.data() + p * V, other.data() + p * V, size_t(V) * sizeof(float)) == 0;
  };
  std::vector<int32_t> outside = ids, inside = ids;
  outside[size_t(first - 1)] = ids[size_t(first - 1)] == 100 ? 101 : 100;
  inside[size_t(first)] = ids[size_t(first)] == 100 ? 101 : 100;
  EXPECT_TRUE(last_row_equal(prefill_all(*m, outside, pool)));
  EXPECT_FALSE(last_row_equal(prefill_all(*m, inside, pool)));
}

// Decode steps (the in-place path) against the prefill (the packed path).
TEST(SlidingWindow, TokenByTokenDecodeMatchesPrefill) {
  testing::TempDir tmp;
  MAKE_HF_OR_SKIP(hf, "hf", "--arch mistral --sliding-window 8");
  ThreadPool pool(2);
  auto m = Model::load(hf.string(), pool);
  const std::vector<int32_t> ids = story_ids(kTokens);
  const std::vector<float> batch = prefill_all(*m, ids, pool);
  const std::vector<float> decode = decode_all(*m, ids, pool);
  ASSERT_EQ(decode.size(), batch.size());
  double worst = 0;
  for (size_t i = 0; i < batch.size(); ++i)
    worst = std::max(worst, std::fabs(double(batch[i]) - double(decode[i])));
  const double tol = logits_tolerance(m->config(), int64_t(kTokens), max_abs(batch));
  std::printf("max |prefill - decode| = %g (tolerance %g)\n", worst, tol);
  EXPECT_LE(worst, tol);
}

// A window as long as the sequence masks nothing: the same bits as the
// llama folder of the same weights.
TEST(SlidingWindow, WindowCoveringTheSequenceIsFullAttention) {
  testing::TempDir tmp;
  MAKE_HF_OR_SKIP(wide, "wide", "--arch mistral --sliding-window 48");
  std::string why;
  const fs::path full = make_hf(tmp, "full", "", &why);
  ASSERT_FALSE(full.empty()) << why;
  ThreadPool pool(2);
  const std::vector<int32_t> ids = story_ids(kTokens);
  const std::vector<float> a = prefill_all(*Model::load(wide.string(), pool), ids, pool);
  const std::vector<float> b = prefill_all(*Model::load(full.string(), pool), ids, pool);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
}

}  // namespace
}  // namespace fptq::model
