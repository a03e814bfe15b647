// The integer engine on quantized stories260K: every integer matmul against
// the F32 product of the dequantized weights and fake-quantized activations
// (derived bound), logits and perplexity against the exact emulation
// (emulate mode + quant::EmulationObserver), thread-count independence, the
// fused quantizers, and a plain Q4_0 GGUF with dynamic activations.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <random>

#include "engine_test_util.h"

namespace fptq::model {
namespace {

using namespace enginetest;

constexpr double kEps = std::numeric_limits<float>::epsilon();

// The emulation (emulate mode + quant::EmulationObserver) evaluates every
// layer the integer engine runs on int8 kernels on the recovered codes with
// the kernels' own arithmetic (exact group sums, the same float fold;
// kernels::matmul_f32_grouped), and every other operation is shared or
// proven bit-identical (fused quantizers). So the integer engine's logits
// equal the emulation's bit for bit, and their perplexities are equal: the
// issue's "within 0.1%" holds with zero difference. (Before the emulation
// reproduced the fold, F32 summation-order differences flipped codes at the
// next quantizer and cascaded: up to 3.2% of max |logit|, PPL 0.05%-0.12%
// here and -0.33% on SmolLM2.)
constexpr double kPplRelTolFptq = 0.0;
constexpr double kPplRelTolDynamic = 0.0;
constexpr int kWikiWindows = 16;

struct Files {
  testing::TempDir dir;
  std::string fptq, plain, isolated, plus, plus_per_token;
};

Files& files() {
  static Files* f = [] {
    auto* f = new Files;
    ThreadPool pool(2);
    f->fptq = (f->dir / "fptq.gguf").string();
    f->plain = (f->dir / "q4_0.gguf").string();
    write_fptq_stories(f->fptq, pool);
    write_plain_q4_0_stories(f->plain);
    // The paper's policy (static points) with outlier-token isolation, and
    // the default recipe (all dynamic, weighted g32 scales).
    f->isolated = (f->dir / "isolated.gguf").string();
    f->plus = (f->dir / "plus.gguf").string();
    write_fptq_stories(f->isolated, pool, quant::recipe_options("fptq+isolate"));
    write_fptq_stories(f->plus, pool, quant::scheme_options(quant::Scheme::FptqPlus));
    f->plus_per_token = (f->dir / "plus-per-token.gguf").string();
    write_fptq_stories(f->plus_per_token, pool, quant::recipe_options("fptq-plus-actgroup"));
    return f;
  }();
  return *f;
}

int64_t argmax(const float* row, int64_t n) { return std::max_element(row, row + n) - row; }

// Largest |a - b| relative to max |a|, and the share of rows with the same argmax.
struct Agreement {
  double max_diff = 0, max_abs = 0, argmax_share = 0;
};
Agreement compare_logits(const std::vector<float>& a, const std::vector<float>& b, int64_t V) {
  Agreement r;
  for (size_t i = 0; i < a.size(); ++i) {
    r.max_abs = std::max(r.max_abs, double(std::fabs(a[i])));
    r.max_diff = std::max(r.max_diff, double(std::fabs(a[i] - b[i])));
  }
  const int64_t rows = int64_t(a.size()) / V;
  int64_t same = 0;
  for (int64_t p = 0; p < rows; ++p) same += argmax(a.data() + p * V, V) == argmax(b.data() + p * V, V);
  r.argmax_share = double(same) / double(rows);
  return r;
}

// Integer engine vs emulation of the same file on `texts`: logits per text,
// perplexity over all of them (mean NLL per predicted token).
void expect_matches_emulation(const std::string& path,
                              const std::vector<std::vector<int32_t>>& texts, double ppl_tol) {
  ThreadPool pool(2);
  const Model integer(io::open_model(path), pool);
  const Model emulated(io::open_model(path), pool, {RunMode::emulate});
  const int64_t V = integer.config().n_vocab;
  double nll_i = 0, nll_e = 0, n = 0, same_argmax = 0, positions = 0;
  for (const auto& ids : texts) {
    quant::EmulationObserver emu(emulated.act_spec());
    const std::vector<float> li = prefill_all(integer, ids, pool);
    const std::vector<float> le = prefill_all(emulated, ids, pool, &emu);
    const Agreement a = compare_logits(li, le, V);
    std::printf("%zu tokens: max |logit diff| %.3g (%.3g of max |logit| %.3g), argmax agree %.4f\n",
                ids.size(), a.max_diff, a.max_diff / a.max_abs, a.max_abs, a.argmax_share);
    EXPECT_EQ(a.max_diff, 0.0);  // bit-identical logits
    EXPECT_EQ(a.argmax_share, 1.0);
    same_argmax += a.argmax_share * double(ids.size());
    positions += double(ids.size());
    const double k = double(ids.size() - 1);
    nll_i += k * std::log(text_ppl(integer, ids, pool));
    nll_e += k * std::log(text_ppl(emulated, ids, pool, &emu));
    n += k;
  }
  const double pi = std::exp(nll_i / n), pe = std::exp(nll_e / n);
  std::printf("PPL over %zu texts: integer %.6f emulated %.6f (rel %.2e)\n", texts.size(), pi, pe,
              pi / pe - 1);
  EXPECT_NEAR(pi / pe, 1.0, ppl_tol);
  EXPECT_EQ(same_argmax, positions);
}

std::vector<std::vector<int32_t>> test_texts(int32_t bos) {
  std::vector<std::vector<int32_t>> t{golden_ids()};
  for (auto& w : wikitext_windows(kWikiWindows, 256, bos)) t.push_back(std::move(w));
  return t;
}

TEST(IntEngine, PlansIntegerKernelsForFptqFile) {
  FPTQ_REQUIRE_FILE(stories_path());
  ThreadPool pool(2);
  const Model integer(io::open_model(files().fptq), pool);
  const Model emulated(io::open_model(files().fptq), pool, {RunMode::emulate});
  std::printf("%s\n%s\n", integer.describe().c_str(), emulated.describe().c_str());
  EXPECT_EQ(integer.mode(), RunMode::integer);
  EXPECT_TRUE(integer.act_spec().present);
  EXPECT_GT(integer.plan().count(LinearKind::w4a8), 0);
  EXPECT_EQ(emulated.plan().count(LinearKind::w4a8) + emulated.plan().count(LinearKind::w8a8), 0);
  // The emulation keeps the codes of every layer the integer engine runs on int8.
  EXPECT_EQ(emulated.plan().count(LinearKind::f32_grouped),
            integer.plan().count(LinearKind::w4a8) + integer.plan().count(LinearKind::w8a8));
  // A quantized head (tied: token_embd) runs on int8 with dynamic per-token
  // input, in the emulation's spec too, also where the file keeps its point fp.
  const io::TensorInfo& head = integer.file().tensor(
      integer.config().tied_output ? "token_embd.weight" : "output.weight");
  if (head.type == io::GgmlType::Q8_0 || head.type == io::GgmlType::Q4_0) {
    EXPECT_NE(integer.plan().kind("output.weight"), LinearKind::f32);
    EXPECT_EQ(integer.act_spec().output.mode, ActQuant::dynamic);
    EXPECT_EQ(emulated.act_spec().output.mode, ActQuant::dynamic);
  } else {
    EXPECT_EQ(integer.plan().kind("output.weight"), LinearKind::f32);
  }
  EXPECT_NE(integer.describe().find("integer engine"), std::string::npos);
  EXPECT_NE(emulated.describe().find("emulate engine"), std::string::npos);
  // A layer runs on integer kernels exactly when its input point is quantized.
  for (const auto& [name, kind] : integer.plan().kinds) {
    if (kind == LinearKind::f32) continue;
    bool found = false;
    for_each_weight(integer.config(), [&](const WeightSpec& s) {
      if (s.name != name) return;
      found = true;
      EXPECT_NE(integer.act_spec().point(s.layer, input_of(s.role)).mode, ActQuant::fp) << name;
    });
    EXPECT_TRUE(found || name == "output.weight") << name;
  }
}

// Each integer layer against the F32 product of its dequantized weights and
// the fake-quantized input x̂ = q·Δ, on random int8 rows. The integer path is
// exact up to Δ · Σ_G fma(P_G, s_G) (k/g roundings) and the final product;
// the F32 path rounds x̂ (one ulp per term) and sums k products in order:
//   |y_int - y_f32| <= (k + k/g + 2) · eps · Σ_t |x̂_t · w_t|   per output.
TEST(IntEngine, IntegerMatmulsWithinDerivedBound) {
  FPTQ_REQUIRE_FILE(stories_path());
  ThreadPool pool(2);
  auto file = io::open_model(files().fptq);
  const Model integer(file, pool);
  const Model emulated(file, pool, {RunMode::emulate});
  const LlamaConfig& c = integer.config();
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> code(-127, 127);
  std::uniform_real_distribution<float> delta(1e-3f, 5e-2f);
  int checked = 0;
  for_each_weight(c, [&](const WeightSpec& s) {
    if (!s.is_linear() || integer.plan().kind(s.name) == LinearKind::f32) return;
    auto pick = [&](const Weights& w) -> const Linear& {
      if (s.layer < 0) return w.output;
      const LayerWeights& L = w.layers[size_t(s.layer)];
      switch (s.role) {
        case WeightRole::attn_q: return L.q;
        case WeightRole::attn_k: return L.k;
        case WeightRole::attn_v: return L.v;
        case WeightRole::attn_output: return L.o;
        case WeightRole::ffn_gate: return L.gate;
        case WeightRole::ffn_up: return L.up;
        default: return L.down;
      }
    };
    const Linear& li = pick(integer.weights());
    const Linear& le = pick(emulated.weights());
    const int64_t m = 3, k = s.ne[0], n = s.ne[1];
    const int64_t g = li.kind == LinearKind::w4a8 ? li.w4.group() : 32;
    std::vector<int8_t> q(size_t(m * k));
    std::vector<float> d(static_cast<size_t>(m)), xh(q.size());
    for (auto& v : q) v = int8_t(code(rng));
    for (auto& v : d) v = delta(rng);
    for (int64_t i = 0; i < m * k; ++i) xh[size_t(i)] = float(q[size_t(i)]) * d[size_t(i / k)];
    std::vector<float> yi(size_t(m * n)), ye(yi.size());
    linear(MatmulIn{xh.data(), q.data(), d.data()}, li, yi.data(), m, pool);
    linear(MatmulIn{xh.data()}, le, ye.data(), m, pool);
    const std::vector<float> w = io::dequantize_tensor(file->tensor(s.name));
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        double mag = 0;
        for (int64_t t = 0; t < k; ++t) {
          mag += std::fabs(double(xh[size_t(i * k + t)]) * double(w[size_t(j * k + t)]));
        }
        const double bound = double(k + k / g + 2) * kEps * mag;
        const double diff = std::fabs(double(yi[size_t(i * n + j)]) - double(ye[size_t(i * n + j)]));
        ASSERT_LE(diff, bound) << s.name << " row " << i << " out " << j << ": integer "
                               << yi[size_t(i * n + j)] << " f32 " << ye[size_t(i * n + j)];
      }
    }
    ++checked;
  });
  EXPECT_GT(checked, 0);
}

TEST(IntEngine, FptqFileMatchesEmulation) {
  FPTQ_REQUIRE_FILE(stories_path());
  expect_matches_emulation(files().fptq, test_texts(1), kPplRelTolFptq);
}

// Outlier-token isolation (static Δ_t = max(Δ, max|x_t|/127)) and the
// default recipe: the integer engine equals the emulation bit for bit too.
TEST(IntEngine, IsolatedAndPlusFilesMatchEmulation) {
  FPTQ_REQUIRE_FILE(stories_path());
  const auto spec_of = [](const std::string& path) {
    const auto f = io::open_model(path);
    return read_quant_spec(*f, read_config(*f).n_layer);
  };
  int isolated = 0, dynamic = 0, grouped = 0, grouped_per_token = 0;
  for (const auto& l : spec_of(files().isolated).layers)
    for (const auto& q : l) isolated += q.isolate;
  for (const auto& l : spec_of(files().plus).layers)
    for (const auto& q : l) dynamic += q.mode == ActQuant::dynamic, grouped += q.group == 32;
  for (const auto& l : spec_of(files().plus_per_token).layers)
    for (const auto& q : l) grouped_per_token += q.group != 0;
  EXPECT_GT(isolated, 0);
  EXPECT_EQ(dynamic, 20);
  // Per-group activations on every point whose width 32 divides (stories260K:
  // dim 64; ffn_down's 172 stays per token), none with the pass off.
  EXPECT_EQ(grouped, 15);
  EXPECT_EQ(grouped_per_token, 0);
  // The head's input too (its Q8_0 weights run on the integer kernels).
  EXPECT_EQ(spec_of(files().plus).output.mode, ActQuant::dynamic);
  EXPECT_EQ(spec_of(files().plus).output.group, 32);
  EXPECT_EQ(spec_of(files().plus_per_token).output.group, 0);
  expect_matches_emulation(files().isolated, test_texts(1), kPplRelTolFptq);
  expect_matches_emulation(files().plus, test_texts(1), kPplRelTolDynamic);
  expect_matches_emulation(files().plus_per_token, test_texts(1), kPplRelTolDynamic);
}

// The fused RMSNorm/SiLU·up -> int8 kernels (no observer) equal the f32 op
// followed by the quantizer (an observer attached forces the unfused path).
TEST(IntEngine, FusedQuantizersEqualUnfused) {
  FPTQ_REQUIRE_FILE(stories_path());
  struct Noop : Observer {
    void on_matmul_input(const ObservationPoint&, float*, int64_t, int64_t) override {}
  } noop;
  ThreadPool pool(2);
  const Model m(io::open_model(files().fptq), pool);
  const std::vector<float> fused = prefill_all(m, golden_ids(), pool);
  const std::vector<float> unfused = prefill_all(m, golden_ids(), pool, &noop);
  ASSERT_EQ(fused.size(), unfused.size());
  EXPECT_EQ(0, std::memcmp(fused.data(), unfused.data(), fused.size() * sizeof(float)));
}

// Logits of prefill then `steps` decode steps, with `threads` threads.
std::vector<float> prefill_and_decode(const Model& m, int threads, int steps) {
  ThreadPool pool(threads);
  std::vector<int32_t> ids = golden_ids();
  ids.resize(100);
  KvCache cache(m.config(), int64_t(ids.size()) + steps);
  std::vector<float> all, step;
  m.forward(ids, cache, pool, Logits::all, all);
  const int64_t V = m.config().n_vocab;
  for (int s = 0; s < steps; ++s) {  // greedy continuation
    const int32_t one[1] = {int32_t(argmax(all.data() + int64_t(all.size()) - V, V))};
    m.forward(one, cache, pool, Logits::last, step);
    all.insert(all.end(), step.begin(), step.end());
  }
  return all;
}

TEST(IntEngine, BitIdenticalForOneAndTwoThreads) {
  FPTQ_REQUIRE_FILE(stories_path());
  ThreadPool pool(2);
  for (const std::string& path : {files().fptq, files().plain}) {
    const Model m(io::open_model(path), pool);
    const std::vector<float> a = prefill_and_decode(m, 1, 8);
    const std::vector<float> b = prefill_and_decode(m, 2, 8);
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float))) << path;
  }
}

TEST(IntEngine, PlainQ4_0FileRunsWithDynamicActivations) {
  FPTQ_REQUIRE_FILE(stories_path());
  ThreadPool pool(2);
  const Model m(io::open_model(files().plain), pool);
  std::printf("%s\n", m.describe().c_str());
  const QuantSpec& spec = m.act_spec();
  EXPECT_FALSE(spec.present);
  // q/k/v, W_o, gate/up and the head are Q4_0 (K = dim); ffn_down (K = 172) stays F32.
  const LlamaConfig& c = m.config();
  EXPECT_EQ(m.plan().count(LinearKind::w4a8), 6 * c.n_layer + 1);
  for (int64_t l = 0; l < c.n_layer; ++l) {
    EXPECT_EQ(spec.point(l, MatmulInput::attn_qkv_in).mode, ActQuant::dynamic);
    EXPECT_EQ(spec.point(l, MatmulInput::attn_out_in).mode, ActQuant::dynamic);
    EXPECT_EQ(spec.point(l, MatmulInput::ffn_gate_up_in).mode, ActQuant::dynamic);
    EXPECT_EQ(spec.point(l, MatmulInput::ffn_down_in).mode, ActQuant::fp);
  }
  EXPECT_EQ(spec.output.mode, ActQuant::dynamic);
  expect_matches_emulation(files().plain, test_texts(1), kPplRelTolDynamic);
}

}  // namespace
}  // namespace fptq::model
