// fptq bench MODEL: end-to-end speed with llama-bench's definitions.
//
//   ppP  one prompt of P token ids processed from an empty cache as one batch
//        (one forward, logits of the last token only);
//   tgN  N single-token decodes, starting from an empty cache.
//
// Token ids are random (seeded, the same for every thread count); the first
// is BOS when the model adds one, as llama-bench does. Each test runs
// --warmup untimed times, then -r timed repetitions; a sample's speed is
// tokens / seconds and the report gives their mean ± sample standard deviation.
// Process CPU time is recorded next to wall time (tokens per CPU-second), which
// helps on a machine shared with other jobs.
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/build_info.h"
#include "cli/commands.h"
#include "core/checked_math.h"
#include "core/error.h"
#include "core/memory_budget.h"
#include "core/thread_pool.h"
#include "core/timer.h"
#include "io/ggml_types.h"
#include "io/output_path.h"
#include "kernels/dispatch.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "model/profile.h"
#include "model/sampling.h"
#include "tokenizer/tokenizer.h"

namespace fptq::cli {
namespace {

struct BenchArgs {
  std::string model;
  std::vector<int64_t> n_prompt{512};
  std::vector<int64_t> n_gen{128};
  std::vector<int64_t> n_depth{0};  // tokens already in the cache when a test starts
  std::vector<int> threads;
  int reps = 5;
  int warmup = 1;
  uint64_t seed = 42;
  std::string output;  // JSONL file, appended to
  bool emulate = false;  // F32 on dequantized weights instead of the integer engine
  bool profile = false;  // one extra, untimed run per test with time per operation class
};

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// Mean and sample standard deviation (0 for fewer than two values).
std::pair<double, double> mean_sd(const std::vector<double>& v) {
  if (v.empty()) return {0.0, 0.0};
  double s = 0;
  for (double x : v) s += x;
  const double mean = s / double(v.size());
  if (v.size() < 2) return {mean, 0.0};
  double q = 0;
  for (double x : v) q += (x - mean) * (x - mean);
  return {mean, std::sqrt(q / double(v.size() - 1))};
}

// What the table and the JSONL say about the model.
struct ModelFacts {
  std::string desc;       // "llama 135M Q4_0", plus fptq.scheme when the file has one
  uint64_t tensor_bytes;  // bytes of all tensors (llama-bench's "size")
  uint64_t file_bytes;    // size on disk (sum of files for a directory)
  int64_t n_params;       // elements of all tensors
  std::string scheme;     // fptq.scheme, or ""
};

uint64_t disk_bytes(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return fs::file_size(path, ec);
  uint64_t total = 0;
  if (fs::is_directory(path, ec)) {
    for (const auto& e : fs::directory_iterator(path, ec)) {
      if (e.is_regular_file(ec)) total += e.file_size(ec);
    }
  }
  return total;
}

std::string human_params(int64_t n) {
  return n < 1000000000 ? fmt::format("{:.2f} M", double(n) / 1e6)
                        : fmt::format("{:.2f} B", double(n) / 1e9);
}

std::string human_size(uint64_t b) {
  return b < (uint64_t(1) << 30) ? fmt::format("{:.2f} MiB", double(b) / 1048576.0)
                                 : fmt::format("{:.2f} GiB", double(b) / 1073741824.0);
}

ModelFacts model_facts(const model::Model& m) {
  const io::ModelFile& f = m.file();
  ModelFacts r{};
  std::map<std::string, int64_t> linear_elems;  // weight type -> elements, blk.* matrices
  for (const io::TensorInfo& t : f.tensors) {
    r.tensor_bytes += t.nbytes;
    r.n_params += t.n_elements();
    if (t.name.rfind("blk.", 0) == 0 && t.ne.size() == 2) {
      linear_elems[std::string(io::type_info(t.type).name)] += t.n_elements();
    }
  }
  std::string type = "?";
  int64_t best = -1;
  for (const auto& [name, n] : linear_elems) {
    if (n > best) best = n, type = name;
  }
  r.file_bytes = disk_bytes(f.path);
  r.scheme = f.metadata.get_string("fptq.scheme", "", f.path);
  r.desc = fmt::format("{} {:.3g}M {}", m.config().architecture, double(r.n_params) / 1e6, type);
  if (!r.scheme.empty()) r.desc += " " + r.scheme;
  return r;
}

// FNV-1a over the token ids, to show runs used the same inputs.
uint64_t fnv1a(uint64_t h, const std::vector<int32_t>& ids) {
  for (int32_t id : ids) {
    const uint32_t u = uint32_t(id);
    for (int b = 0; b < 4; ++b) {
      h ^= (u >> (8 * b)) & 0xffu;
      h *= 0x100000001b3ull;
    }
  }
  return h;
}

// Random token ids for one run: BOS first when the model adds it.
class TokenSource {
 public:
  TokenSource(uint64_t seed, int64_t n_vocab, int32_t bos)
      : rng_(seed), dist_(0, int32_t(n_vocab - 1)), bos_(bos) {}
  std::vector<int32_t> next(int64_t n) {
    std::vector<int32_t> ids(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) ids[size_t(i)] = i == 0 && bos_ >= 0 ? bos_ : dist_(rng_);
    return ids;
  }

 private:
  std::mt19937_64 rng_;
  std::uniform_int_distribution<int32_t> dist_;
  int32_t bos_;
};

struct TestResult {
  std::string name;  // "pp512", "tg128", "tg128 @ d2048"
  int64_t n_prompt = 0, n_gen = 0, n_depth = 0;
  std::vector<double> wall_s, cpu_s;
  // --profile: the extra run's time per operation class and its wall time.
  bool profiled = false;
  model::OpProfile profile;
  double profile_wall_s = 0;
  uint64_t tokens_fnv1a = 0xcbf29ce484222325ull;
  int64_t tokens() const { return n_prompt + n_gen; }
};

std::string test_name(int64_t n_prompt, int64_t n_gen, int64_t n_depth) {
  const std::string t = n_prompt > 0 ? fmt::format("pp{}", n_prompt) : fmt::format("tg{}", n_gen);
  return n_depth > 0 ? fmt::format("{} @ d{}", t, n_depth) : t;
}

// Runs one test (pp when n_prompt > 0, else tg) on `pool`, each run after
// an untimed prefill of n_depth tokens (llama-bench's -d).
TestResult run_test(const model::Model& m, int64_t n_prompt, int64_t n_gen, int64_t n_depth,
                    const BenchArgs& a, int32_t bos, ThreadPool& pool) {
  TestResult r;
  r.n_prompt = n_prompt;
  r.n_gen = n_gen;
  r.n_depth = n_depth;
  r.name = test_name(n_prompt, n_gen, n_depth);
  model::KvCache cache(m.config(), std::max<int64_t>(1, n_depth + n_prompt + n_gen));
  std::vector<float> logits;
  TokenSource warm_src(a.seed ^ 0x9e3779b97f4a7c15ull, m.config().n_vocab, bos);
  TokenSource src(a.seed, m.config().n_vocab, bos);
  TokenSource depth_src(a.seed ^ 0x5851f42d4c957f2dull, m.config().n_vocab, bos);
  std::vector<int32_t> depth_ids;
  if (n_depth > 0) depth_ids = depth_src.next(n_depth);

  auto fill_depth = [&] {
    cache.clear();
    if (n_depth > 0) m.forward(depth_ids, cache, pool, model::Logits::last, logits);
  };
  auto once = [&](const std::vector<int32_t>& ids) {
    if (n_prompt > 0) {
      m.forward(ids, cache, pool, model::Logits::last, logits);
    } else {
      for (int32_t id : ids) m.forward({&id, 1}, cache, pool, model::Logits::last, logits);
    }
  };
  for (int w = 0; w < a.warmup; ++w) {
    fill_depth();
    once(warm_src.next(r.tokens()));
  }
  for (int rep = 0; rep < a.reps; ++rep) {
    const std::vector<int32_t> ids = src.next(r.tokens());
    r.tokens_fnv1a = fnv1a(r.tokens_fnv1a, ids);
    fill_depth();
    const double c0 = cpu_seconds();
    const double t0 = now_seconds();
    once(ids);
    r.wall_s.push_back(now_seconds() - t0);
    r.cpu_s.push_back(cpu_seconds() - c0);
  }
  if (a.profile) {
    // Untimed: the timed runs above ran with profiling off. Decode picks the
    // argmax of every step's logits here (as greedy generation does), so the
    // sampling row is measured; the next input stays the random id.
    const std::vector<int32_t> ids = src.next(r.tokens());
    fill_depth();
    const model::ProfileScope scope(&r.profile);
    const double t0 = now_seconds();
    if (n_prompt > 0) {
      m.forward(ids, cache, pool, model::Logits::last, logits);
    } else {
      for (int32_t id : ids) {
        m.forward({&id, 1}, cache, pool, model::Logits::last, logits);
        (void)model::argmax(logits);
      }
    }
    r.profile_wall_s = now_seconds() - t0;
    r.profiled = true;
  }
  return r;
}

// The --profile table of one test: time per operation class per token.
void print_profile(const TestResult& r, int threads) {
  const double tokens = double(r.tokens());
  const double total = r.profile.total();
  fmt::print("\nprofile {} t={}: {:.3f} ms per token ({:.1f} t/s; untimed run, classes sum to "
             "{:.1f}% of its wall time)\n",
             r.name, threads, 1e3 * r.profile_wall_s / tokens, tokens / r.profile_wall_s,
             100.0 * total / std::max(r.profile_wall_s, 1e-12));
  fmt::print("| {:<22} | {:>10} | {:>7} | {:>9} |\n", "operation class", "ms/token", "share",
             "calls/tok");
  fmt::print("| {:-<22} | {:->10} | {:->7} | {:->9} |\n", ":", ":", ":", ":");
  for (int c = 0; c < model::kOpClasses; ++c) {
    const auto cls = model::OpClass(c);
    const double sec = r.profile.seconds[size_t(c)];
    fmt::print("| {:<22} | {:>10.4f} | {:>6.1f}% | {:>9.1f} |\n", model::op_class_name(cls),
               1e3 * sec / tokens, 100.0 * sec / std::max(total, 1e-12),
               double(r.profile.calls[size_t(c)]) / tokens);
  }
  std::fflush(stdout);
}

nlohmann::json profile_json(const TestResult& r) {
  nlohmann::json classes = nlohmann::json::object();
  for (int c = 0; c < model::kOpClasses; ++c) {
    const auto cls = model::OpClass(c);
    classes[std::string(model::op_class_key(cls))] = {
        {"seconds", r.profile.seconds[size_t(c)]}, {"calls", r.profile.calls[size_t(c)]}};
  }
  return {{"wall_s", r.profile_wall_s}, {"tokens", r.tokens()}, {"classes", classes}};
}

std::string iso_time_utc() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void run_bench(const BenchArgs& a) {
  if (a.reps < 1) fail("-r must be at least 1 (got {})", a.reps);
  if (a.warmup < 0) fail("--warmup must be >= 0 (got {})", a.warmup);
  for (int t : a.threads) {
    if (t < 1) fail("-t: thread counts must be positive (got {})", t);
  }
  for (int64_t p : a.n_prompt) {
    if (p < 0) fail("-p: prompt lengths must be >= 0 (got {})", p);
  }
  for (int64_t n : a.n_gen) {
    if (n < 0) fail("-n: generation lengths must be >= 0 (got {})", n);
  }
  for (int64_t d : a.n_depth) {
    if (d < 0) fail("-d: depths must be >= 0 (got {})", d);
  }
  struct Test {
    int64_t p, n, d;  // n_prompt, n_gen (one of them 0), n_depth
  };
  std::vector<Test> tests;
  for (int64_t d : a.n_depth) {
    for (int64_t p : a.n_prompt) {
      if (p > 0) tests.push_back({p, 0, d});
    }
    for (int64_t n : a.n_gen) {
      if (n > 0) tests.push_back({0, n, d});
    }
  }
  if (tests.empty()) fail("nothing to run: -p and -n are all 0");
  // The log is appended to (it may be a pipe or /dev/stdout), never the model.
  io::check_output_path(a.output, "-o/--output", a.model, {}, /*append=*/true);
  std::vector<int> threads = a.threads;
  if (threads.empty()) threads.push_back(ThreadPool::hardware_threads());

  const char* isa = kernels::isa_name(kernels::active_isa());
  std::unique_ptr<model::Model> m;
  {
    ThreadPool load_pool(*std::max_element(threads.begin(), threads.end()));
    Timer t;
    model::LoadOptions opt;
    opt.mode = a.emulate ? model::RunMode::emulate : model::RunMode::integer;
    m = model::Model::load(a.model, load_pool, opt);
    fmt::print(stderr, "fptq bench: loaded {} in {:.2f} s\nengine: {}\n", a.model, t.elapsed(),
               m->describe());
  }
  const auto tok = tok::Tokenizer::from_metadata(m->file().metadata, m->file().path);
  const int32_t bos = tok->add_bos_by_default() && tok->bos_id() >= 0 ? tok->bos_id() : -1;
  for (const Test& t : tests) {
    uint64_t total = 0;  // t.d, t.p, t.n >= 0 (checked above), one of t.p, t.n is 0
    if (!checked_add(uint64_t(t.d), uint64_t(t.p + t.n), &total) || total > uint64_t(INT64_MAX))
      fail("-d {} + {} test tokens overflow", t.d, t.p + t.n);
    check_allocation("the KV cache of a bench test",
                     {total, uint64_t(m->config().n_layer),
                      uint64_t(2 * m->config().kv_dim()), sizeof(float)},
                     "lower -d, -p or -n");
    if (m->config().context_length > 0 && total > uint64_t(m->config().context_length)) {
      fmt::print(stderr, "fptq bench: note: {} tokens exceed the trained context ({})\n", total,
                 m->config().context_length);
    }
  }
  const ModelFacts facts = model_facts(*m);

  std::ofstream jsonl;  // opened once the model loaded: a failed run writes nothing
  if (!a.output.empty()) {
    jsonl.open(a.output, std::ios::app);
    if (!jsonl) fail("{}: cannot open for writing", a.output);
  }
  const std::string backend = fmt::format("CPU {}", isa);
  const std::string engine = m->describe();

  fmt::print("| {:<30} | {:>10} | {:>10} | {:<16} | {:>7} | {:>8} | {:>20} | {:>12} |\n", "model",
             "size", "params", "backend", "threads", "test", "t/s", "t/CPU-s");
  fmt::print("| {:-<30} | {:->10} | {:->10} | {:-<16} | {:->7} | {:->8} | {:->20} | {:->12} |\n", ":",
             ":", ":", ":", ":", ":", ":", ":");
  std::fflush(stdout);
  const std::string when = iso_time_utc();
  for (int nt : threads) {
    ThreadPool pool(nt);
    for (const Test& t : tests) {
      if (a.reps > 0)
        fmt::print(stderr, "fptq bench: {} threads {}...\n", test_name(t.p, t.n, t.d), nt);
      const TestResult r = run_test(*m, t.p, t.n, t.d, a, bos, pool);
      std::vector<double> ts, ts_cpu;
      for (size_t i = 0; i < r.wall_s.size(); ++i) {
        ts.push_back(double(r.tokens()) / std::max(r.wall_s[i], 1e-12));
        ts_cpu.push_back(double(r.tokens()) / std::max(r.cpu_s[i], 1e-12));
      }
      const auto [avg, sd] = mean_sd(ts);
      const auto [avg_cpu, sd_cpu] = mean_sd(ts_cpu);
      fmt::print("| {:<30} | {:>10} | {:>10} | {:<16} | {:>7} | {:>8} | {:>20} | {:>12} |\n",
                 facts.desc, human_size(facts.tensor_bytes), human_params(facts.n_params), backend,
                 nt, r.name, fmt::format("{:.2f} ± {:.2f}", avg, sd),
                 fmt::format("{:.2f}", avg_cpu));
      std::fflush(stdout);
      if (r.profiled) print_profile(r, nt);
      if (jsonl.is_open()) {
        std::vector<int64_t> samples_ns;
        for (double s : r.wall_s) samples_ns.push_back(int64_t(std::llround(s * 1e9)));
        std::vector<int64_t> samples_cpu_ns;
        for (double s : r.cpu_s) samples_cpu_ns.push_back(int64_t(std::llround(s * 1e9)));
        nlohmann::json j = {
            {"build_commit", FPTQ_BUILD_COMMIT},
            {"time", when},
            {"backend", "CPU"},
            {"isa", isa},
            {"engine", engine},
            {"model_filename", a.model},
            {"model_type", facts.desc},
            {"fptq_scheme", facts.scheme},
            {"model_size", facts.tensor_bytes},
            {"model_file_bytes", facts.file_bytes},
            {"model_n_params", facts.n_params},
            {"n_threads", nt},
            {"test", r.name},
            {"n_prompt", r.n_prompt},
            {"n_gen", r.n_gen},
            {"n_depth", r.n_depth},
            {"reps", a.reps},
            {"warmup", a.warmup},
            {"seed", a.seed},
            {"bos", bos},
            {"tokens_fnv1a", fmt::format("{:016x}", r.tokens_fnv1a)},
            {"avg_ts", avg},
            {"stddev_ts", sd},
            {"samples_ts", ts},
            {"samples_ns", samples_ns},
            {"avg_ts_per_cpu_s", avg_cpu},
            {"stddev_ts_per_cpu_s", sd_cpu},
            {"samples_cpu_ns", samples_cpu_ns},
        };
        if (r.profiled) j["profile"] = profile_json(r);
        jsonl << j.dump() << '\n';
        jsonl.flush();
        if (!jsonl) fail("{}: write error", a.output);
      }
    }
  }
  fmt::print("\nbuild: {} ({}), {} warm-up + {} timed runs per test, seed {}\nengine: {}\n",
             FPTQ_BUILD_COMMIT, isa, a.warmup, a.reps, a.seed, engine);
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "bench",
      "End-to-end speed with llama-bench's definitions: ppP = one P-token prompt from an empty "
      "cache as one batch, tgN = N single-token decodes from an empty cache; random token ids "
      "(seeded), warm-up, repetitions, tokens/s mean ± sd for each thread count.");
  auto a = std::make_shared<BenchArgs>();
  cmd->add_option("MODEL", a->model, "GGUF file or Hugging Face model directory")->required();
  cmd->add_option("-p,--n-prompt", a->n_prompt, "prompt lengths, comma-separated (0: no pp test)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("-n,--n-gen", a->n_gen, "decode lengths, comma-separated (0: no tg test)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("-d,--n-depth", a->n_depth,
                  "tokens already in the KV cache when each test starts, comma-separated "
                  "(llama-bench's -d: an untimed prefill before every run; tests are named "
                  "\"tg128 @ d2048\")")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("-r,--repetitions", a->reps, "timed runs per test")->capture_default_str();
  cmd->add_option("-t,--threads", a->threads,
                  "thread counts, comma-separated (default: hardware threads)")
      ->delimiter(',');
  cmd->add_option("--warmup", a->warmup, "untimed runs per test before the timed ones")
      ->capture_default_str();
  cmd->add_option("--seed", a->seed, "seed of the random token ids")->capture_default_str();
  cmd->add_option("-o,--output", a->output, "append one JSON line per test to this file");
  cmd->add_flag("--emulate", a->emulate,
                "run every layer in F32 on dequantized weights (the FP baseline) instead of the "
                "integer engine");
  cmd->add_flag("--profile", a->profile,
                "after the timed runs of each test, one untimed run with the time per operation "
                "class (W4A8 matmul, W8A8/F32 matmul, dynamic and static activation quantization, "
                "attention, norms and element-wise, output head, sampling): a table, and "
                "\"profile\" in the JSON lines");
  cmd->callback([a] { run_bench(*a); });
}

}  // namespace fptq::cli
