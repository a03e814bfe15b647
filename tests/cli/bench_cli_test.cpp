// Runs `fptq bench` (build/bin/fptq) on stories260K with tiny sizes: the
// table, the JSONL records (parsed with nlohmann-json), deterministic token
// ids, and one-line errors for bad arguments. Speeds are not asserted.
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_run.h"
#include "testing/testing.h"

namespace fptq {
namespace {

using namespace clitest;

std::filesystem::path stories_path() { return testing::shared_data("models/stories260K.gguf"); }

// One parsed JSON object per non-empty line; fails the test on a bad line.
std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& p) {
  std::vector<nlohmann::json> rows;
  std::istringstream in(read_file(p));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    rows.push_back(nlohmann::json::parse(line));  // throws (fails the test) when malformed
  }
  return rows;
}

const nlohmann::json* find_row(const std::vector<nlohmann::json>& rows, const std::string& test,
                               int threads) {
  for (const auto& r : rows) {
    if (r.at("test") == test && r.at("n_threads") == threads) return &r;
  }
  return nullptr;
}

class BenchCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(testing::build_dir() / "bin" / "fptq")) {
      GTEST_SKIP() << "bin/fptq not built";
    }
    FPTQ_REQUIRE_FILE(stories_path());
  }
};

TEST_F(BenchCli, TableAndJsonlForEachTestAndThreadCount) {
  testing::TempDir dir;
  const auto jsonl = dir / "r.jsonl";
  const CliRun r =
      fptq("bench " + stories() + " -p 8 -n 4 -r 2 -t 1,2 --warmup 1 -o " + quoted(jsonl.string()));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "| model")) << r.out;
  EXPECT_TRUE(contains(r.out, "t/s")) << r.out;
  EXPECT_TRUE(contains(r.out, "llama")) << r.out;
  for (const char* test : {"pp8", "tg4"}) EXPECT_TRUE(contains(r.out, test)) << r.out;

  const auto rows = read_jsonl(jsonl);
  ASSERT_EQ(rows.size(), 4u);  // {pp8, tg4} x {1, 2} threads
  const uint64_t file_bytes = std::filesystem::file_size(stories_path());
  for (const char* test : {"pp8", "tg4"}) {
    for (int threads : {1, 2}) {
      const nlohmann::json* row = find_row(rows, test, threads);
      ASSERT_NE(row, nullptr) << test << " threads " << threads;
      const auto& j = *row;
      const bool pp = std::string(test) == "pp8";
      EXPECT_EQ(j.at("n_prompt").get<int64_t>(), pp ? 8 : 0);
      EXPECT_EQ(j.at("n_gen").get<int64_t>(), pp ? 0 : 4);
      EXPECT_EQ(j.at("reps").get<int>(), 2);
      EXPECT_EQ(j.at("warmup").get<int>(), 1);
      EXPECT_EQ(j.at("backend"), "CPU");
      EXPECT_FALSE(j.at("isa").get<std::string>().empty());
      EXPECT_FALSE(j.at("engine").get<std::string>().empty());
      EXPECT_FALSE(j.at("build_commit").get<std::string>().empty());
      EXPECT_EQ(j.at("model_file_bytes").get<uint64_t>(), file_bytes);
      EXPECT_EQ(j.at("model_n_params").get<int64_t>(), 292800);  // stories260K's tensors
      EXPECT_GT(j.at("model_size").get<uint64_t>(), 0u);
      EXPECT_LE(j.at("model_size").get<uint64_t>(), file_bytes);
      EXPECT_EQ(j.at("bos").get<int>(), 1);

      const auto ns = j.at("samples_ns").get<std::vector<int64_t>>();
      const auto ts = j.at("samples_ts").get<std::vector<double>>();
      ASSERT_EQ(ns.size(), 2u);
      ASSERT_EQ(ts.size(), 2u);
      double mean = 0;
      for (size_t i = 0; i < ns.size(); ++i) {
        ASSERT_GT(ns[i], 0);
        // tokens / seconds, up to the nanosecond rounding of samples_ns
        EXPECT_NEAR(ts[i], (pp ? 8 : 4) / (double(ns[i]) * 1e-9), ts[i] * 1e-6);
        mean += ts[i] / 2;
      }
      EXPECT_NEAR(j.at("avg_ts").get<double>(), mean, mean * 1e-12);
      const double sd = std::abs(ts[0] - ts[1]) / std::sqrt(2.0);  // sample sd of two values
      EXPECT_NEAR(j.at("stddev_ts").get<double>(), sd, 1e-9 * mean);
      EXPECT_GT(j.at("avg_ts_per_cpu_s").get<double>(), 0);
      EXPECT_EQ(j.at("samples_cpu_ns").size(), 2u);
    }
  }
}

TEST_F(BenchCli, TokenIdsDependOnTheSeedOnly) {
  testing::TempDir dir;
  const auto a = dir / "a.jsonl", b = dir / "b.jsonl";
  ASSERT_EQ(fptq("bench " + stories() + " -p 6 -n 3 -r 2 -t 1,2 --warmup 0 -o " + quoted(a.string()))
                .status,
            0);
  ASSERT_EQ(fptq("bench " + stories() + " -p 6 -n 3 -r 2 -t 2 --warmup 0 -o " + quoted(a.string()))
                .status,
            0);  // appended
  ASSERT_EQ(fptq("bench " + stories() + " -p 6 -n 3 -r 2 -t 1 --warmup 0 --seed 7 -o " +
                 quoted(b.string()))
                .status,
            0);
  const auto ra = read_jsonl(a), rb = read_jsonl(b);
  ASSERT_EQ(ra.size(), 6u);
  ASSERT_EQ(rb.size(), 2u);
  for (const char* test : {"pp6", "tg3"}) {
    std::string hash;
    int n = 0;
    for (const auto& j : ra) {
      if (j.at("test") != test) continue;
      if (hash.empty()) hash = j.at("tokens_fnv1a").get<std::string>();
      EXPECT_EQ(j.at("tokens_fnv1a").get<std::string>(), hash) << test;  // runs, thread counts
      EXPECT_EQ(j.at("seed").get<uint64_t>(), 42u);
      ++n;
    }
    EXPECT_EQ(n, 3) << test;
    const nlohmann::json* other = find_row(rb, test, 1);
    ASSERT_NE(other, nullptr);
    EXPECT_NE(other->at("tokens_fnv1a").get<std::string>(), hash) << test;  // another seed
  }
  // pp and tg draw different lengths, hence different ids
  EXPECT_NE(find_row(ra, "pp6", 1)->at("tokens_fnv1a"), find_row(ra, "tg3", 1)->at("tokens_fnv1a"));
}

TEST_F(BenchCli, ZeroLengthSkipsATest) {
  testing::TempDir dir;
  const auto out = dir / "r.jsonl";
  const CliRun r = fptq("bench " + stories() + " -p 0 -n 2 -r 1 -t 1 -o " + quoted(out.string()));
  ASSERT_EQ(r.status, 0) << r.err;
  const auto rows = read_jsonl(out);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].at("test"), "tg2");
  EXPECT_EQ(rows[0].at("stddev_ts").get<double>(), 0.0);  // one sample
}

TEST_F(BenchCli, EmulateRunsTheF32Engine) {
  testing::TempDir dir;
  const auto out = dir / "r.jsonl";
  const CliRun r =
      fptq("bench " + stories() + " -p 4 -n 2 -r 1 -t 1 --emulate -o " + quoted(out.string()));
  ASSERT_EQ(r.status, 0) << r.err;
  const auto rows = read_jsonl(out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(contains(rows[0].at("engine").get<std::string>(), "emulate"))
      << rows[0].at("engine");
}

TEST_F(BenchCli, ProfileReportsTimePerOperationClass) {
  testing::TempDir dir;
  const auto jsonl = dir / "p.jsonl";
  const CliRun r = fptq("bench " + stories() + " -p 8 -n 4 -r 1 -t 1 --warmup 0 --profile -o " +
                        quoted(jsonl.string()));
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* s : {"profile pp8 t=1", "profile tg4 t=1", "W4A8 matmul", "W8A8 / F32 matmul",
                        "dynamic act. quant", "static act. quant", "attention",
                        "norms, element-wise", "output head", "sampling", "ms/token"})
    EXPECT_TRUE(contains(r.out, s)) << s << "\n" << r.out;
  const auto rows = read_jsonl(jsonl);
  ASSERT_EQ(rows.size(), 2u);
  for (const auto& j : rows) {
    ASSERT_TRUE(j.contains("profile")) << j.dump();
    const auto& p = j.at("profile");
    const bool pp = j.at("test") == "pp8";
    EXPECT_EQ(p.at("tokens").get<int64_t>(), pp ? 8 : 4);
    const auto& c = p.at("classes");
    double sum = 0;
    for (const char* key : {"w4a8_matmul", "w8a8_fp_matmul", "quant_dynamic", "quant_static",
                            "attention", "norm_elementwise", "output_head", "sampling"}) {
      ASSERT_TRUE(c.contains(key)) << key;
      EXPECT_GE(c.at(key).at("seconds").get<double>(), 0.0);
      sum += c.at(key).at("seconds").get<double>();
    }
    // The classes are parts of the profiled run's wall time.
    EXPECT_GT(sum, 0.0);
    EXPECT_LE(sum, p.at("wall_s").get<double>() * 1.001 + 1e-6);
    // One head per forward call, one argmax per decoded token (greedy), an
    // attention call per block and forward.
    EXPECT_EQ(c.at("output_head").at("calls").get<int64_t>(), pp ? 1 : 4);
    EXPECT_EQ(c.at("sampling").at("calls").get<int64_t>(), pp ? 0 : 4);
    EXPECT_EQ(c.at("attention").at("calls").get<int64_t>() % (pp ? 1 : 4), 0);
    EXPECT_GT(c.at("attention").at("calls").get<int64_t>(), 0);
  }
  // Off by default: no profile in the records.
  const auto jsonl2 = dir / "q.jsonl";
  ASSERT_EQ(fptq("bench " + stories() + " -p 0 -n 2 -r 1 -t 1 --warmup 0 -o " +
                 quoted(jsonl2.string())).status, 0);
  for (const auto& j : read_jsonl(jsonl2)) EXPECT_FALSE(j.contains("profile"));
  EXPECT_FALSE(contains(fptq("bench " + stories() + " -p 0 -n 2 -r 1 -t 1 --warmup 0").out,
                        "profile"));
}

// A quantized model: one activation-quantization call per quantized point and
// token (the fused norm/SiLU quantizer and its group sums are one operation),
// split into static and dynamic as the file's points are.
TEST_F(BenchCli, ProfileCountsOneQuantizationPerPointAndToken) {
  testing::TempDir dir;
  const auto q = dir / "q.gguf";
  ASSERT_EQ(fptq("quantize " + stories() + " --scheme fptq --calib random --samples 2 --seqlen 16 -q -o " +
                 quoted(q.string())).status,
            0);
  const auto jsonl = dir / "p.jsonl";
  const CliRun r = fptq("bench " + quoted(q.string()) + " -p 0 -n 4 -r 1 -t 1 --warmup 0 "
                        "--profile -o " + quoted(jsonl.string()));
  ASSERT_EQ(r.status, 0) << r.err;
  // "activations (fptq.* keys): S static, D dynamic, F fp points" (the head included)
  const auto at = r.out.find("activations (fptq.* keys): ");
  ASSERT_NE(at, std::string::npos) << r.out;
  int64_t n_static = -1, n_dynamic = -1;
  ASSERT_EQ(std::sscanf(r.out.c_str() + at, "activations (fptq.* keys): %ld static, %ld dynamic",
                        &n_static, &n_dynamic),
            2)
      << r.out;
  ASSERT_GT(n_static, 0);
  const auto rows = read_jsonl(jsonl);
  ASSERT_EQ(rows.size(), 1u);
  const auto& c = rows[0].at("profile").at("classes");
  EXPECT_EQ(c.at("quant_static").at("calls").get<int64_t>(), 4 * n_static);
  EXPECT_EQ(c.at("quant_dynamic").at("calls").get<int64_t>(), 4 * n_dynamic);
}

TEST_F(BenchCli, BadArgumentsFailWithOneLineAndNoOutput) {
  testing::TempDir dir;
  const auto out = dir / "r.jsonl";
  const std::string o = " -o " + quoted(out.string());
  for (const std::string& args :
       {"bench " + stories() + " -r 0" + o, "bench " + stories() + " -p 0 -n 0" + o,
        "bench " + stories() + " -t 0" + o, "bench " + stories() + " -p -1" + o,
        "bench " + stories() + " --warmup -1" + o,
        "bench " + quoted((dir / "missing.gguf").string()) + " -p 4 -n 0 -r 1" + o}) {
    const CliRun r = fptq(args);
    EXPECT_EQ(r.status, 1) << args;
    EXPECT_TRUE(contains(r.err, "fptq: error: ")) << args << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << args << "\n" << r.out;
  }
  EXPECT_FALSE(std::filesystem::exists(out));  // nothing written by a failed run
}

}  // namespace
}  // namespace fptq
