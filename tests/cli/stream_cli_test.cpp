// fptq quantize / calibrate run block by block: progress on stderr (text,
// JSON lines, quiet), interruption leaves the previous output untouched and
// --resume finishes with the same bytes as an uninterrupted run.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_run.h"

namespace fptq::clitest {
namespace {

namespace fs = std::filesystem;

const std::string kCalib = " --calib random --samples 2 --seqlen 64 --threads 2";

// Sets FPTQ_STREAM_STOP_AFTER for the commands run while alive.
struct StopAfter {
  explicit StopAfter(int n) { ::setenv("FPTQ_STREAM_STOP_AFTER", std::to_string(n).c_str(), 1); }
  ~StopAfter() { ::unsetenv("FPTQ_STREAM_STOP_AFTER"); }
};

TEST(StreamCli, ProgressJsonLinesAndQuiet) {
  FPTQ_REQUIRE_CLI();
  testing::TempDir dir;
  const auto out = quoted((dir / "q.gguf").string());
  const CliRun r = fptq("quantize " + stories() + kCalib + " -o " + out + " --progress=json");
  ASSERT_EQ(r.status, 0) << r.err;
  std::istringstream lines(r.err);
  int json_lines = 0;
  bool saw_calibrate = false, saw_quantize = false, saw_write = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] != '{') continue;
    const auto j = nlohmann::json::parse(line);
    ++json_lines;
    for (const char* k : {"stage", "layer", "n_layer", "done", "total", "rate", "elapsed_s", "eta_s"})
      EXPECT_TRUE(j.contains(k)) << k << " missing in " << line;
    const std::string stage = j["stage"];
    saw_calibrate = saw_calibrate || stage == "calibrate";
    saw_quantize = saw_quantize || stage == "quantize";
    saw_write = saw_write || stage == "write";
    EXPECT_LE(j["done"].get<int64_t>(), j["total"].get<int64_t>());
  }
  EXPECT_GT(json_lines, 3);
  EXPECT_TRUE(saw_calibrate && saw_quantize && saw_write) << r.err;

  const CliRun t = fptq("quantize " + stories() + kCalib + " -o " + out);
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_TRUE(contains(t.err, "quantize: calibrate block 1/")) << t.err;
  EXPECT_TRUE(contains(t.err, "ETA")) << t.err;

  const CliRun q = fptq("quantize " + stories() + kCalib + " -o " + out + " --quiet");
  ASSERT_EQ(q.status, 0) << q.err;
  EXPECT_FALSE(contains(q.err, "block ")) << q.err;
  EXPECT_FALSE(contains(q.err, "{\"")) << q.err;

  const CliRun c = fptq("calibrate " + stories() + kCalib + " -o " +
                        quoted((dir / "s.json").string()) + " --progress=json");
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_TRUE(contains(c.err, "\"stage\":\"calibrate\"")) << c.err;

  const CliRun bad = fptq("quantize " + stories() + kCalib + " -o " + out + " --progress=xml");
  EXPECT_NE(bad.status, 0);
}

TEST(StreamCli, PerplexityProgressJsonAndQuiet) {
  FPTQ_REQUIRE_CLI();
  const std::string cmd = "perplexity " + stories() + " -f " + wiki() + " --chunks 2 --threads 2";
  const CliRun j = fptq(cmd + " --progress=json");
  ASSERT_EQ(j.status, 0) << j.err;
  std::istringstream lines(j.err);
  int n = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] != '{') continue;
    const auto o = nlohmann::json::parse(line);
    EXPECT_EQ(o["command"], "perplexity");
    EXPECT_EQ(o["total"], 2);
    EXPECT_GT(o["value"].get<double>(), 1.0);  // the running perplexity
    EXPECT_TRUE(o.contains("eta_s"));
    ++n;
  }
  EXPECT_GE(n, 1) << j.err;
  const CliRun t = fptq(cmd);
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_TRUE(contains(t.err, "[2/2] PPL")) << t.err;
  EXPECT_TRUE(contains(t.err, "ETA")) << t.err;
  const CliRun q = fptq(cmd + " --quiet");
  ASSERT_EQ(q.status, 0) << q.err;
  EXPECT_FALSE(contains(q.err, "[2/2] PPL")) << q.err;
}

TEST(StreamCli, InterruptedQuantizeKeepsOutputAndResumes) {
  FPTQ_REQUIRE_CLI();
  testing::TempDir dir;
  const auto ref = quoted((dir / "ref.gguf").string());
  const fs::path outp = dir / "out.gguf";
  const auto out = quoted(outp.string());
  for (const char* scheme : {"fptq", "fptq-gptq"}) {
    SCOPED_TRACE(scheme);
    const std::string args = std::string(" --scheme ") + scheme + kCalib + " --quiet";
    ASSERT_EQ(fptq("quantize " + stories() + args + " -o " + ref).status, 0);
    { std::ofstream(outp, std::ios::binary) << "previous"; }
    for (int stop : {2, 7}) {  // inside calibration; inside quantization
      SCOPED_TRACE(stop);
      {
        const StopAfter hook(stop);
        const CliRun r = fptq("quantize " + stories() + args + " -o " + out);
        EXPECT_NE(r.status, 0);
        EXPECT_TRUE(contains(r.err, "--resume")) << r.err;
      }
      EXPECT_EQ(read_file(outp), "previous");
      EXPECT_TRUE(fs::exists(dir / "out.gguf.fptq-partial" / "state.json"));
      const CliRun r = fptq("quantize " + stories() + args + " -o " + out + " --resume");
      ASSERT_EQ(r.status, 0) << r.err;
      EXPECT_TRUE(contains(r.err, "resuming from")) << r.err;
      EXPECT_TRUE(read_file(outp) == read_file(dir / "ref.gguf"));
      EXPECT_FALSE(fs::exists(dir / "out.gguf.fptq-partial"));
      std::ofstream(outp, std::ios::binary) << "previous";
    }
  }
}

TEST(StreamCli, InterruptedCalibrateResumes) {
  FPTQ_REQUIRE_CLI();
  testing::TempDir dir;
  const auto ref = quoted((dir / "ref.json").string());
  const fs::path outp = dir / "s.json";
  ASSERT_EQ(fptq("calibrate " + stories() + kCalib + " -q -o " + ref).status, 0);
  {
    const StopAfter hook(1);
    const CliRun r = fptq("calibrate " + stories() + kCalib + " -q -o " + quoted(outp.string()));
    EXPECT_NE(r.status, 0);
  }
  EXPECT_FALSE(fs::exists(outp));
  const CliRun r = fptq("calibrate " + stories() + kCalib + " -q --resume -o " + quoted(outp.string()));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(read_file(outp) == read_file(dir / "ref.json"));
}

}  // namespace
}  // namespace fptq::clitest
