// Determinism through the fptq binary: the same input, options and seed give
// byte-identical files across runs and across --threads 1 / 2, for
// `fptq quantize` (fptq and fptq-gptq), `fptq calibrate` statistics (text and
// data-free calibration) and `fptq perplexity --kl-base` records. A different
// seed must change the result (so the comparison is not vacuous).
#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <string>

#include "cli_run.h"

namespace fptq {
namespace {

namespace fs = std::filesystem;
using clitest::quoted;
using clitest::read_file;

class DeterminismCli : public ::testing::Test {
 protected:
  void SetUp() override { FPTQ_REQUIRE_CLI(); }

  // Runs `args` with -t 1, -t 1 again and -t 2, each writing `flag FILE` to a
  // fresh file; returns the three files' bytes.
  std::array<std::string, 3> three_runs(const std::string& args, const std::string& flag,
                                        const std::string& ext) {
    std::array<std::string, 3> out;
    const char* threads[] = {"1", "1", "2"};
    for (int i = 0; i < 3; ++i) {
      const fs::path f = dir_ / ("run" + std::to_string(runs_++) + ext);
      const auto r = clitest::fptq(args + " -t " + threads[i] + " " + flag + " " + quoted(f.string()));
      EXPECT_EQ(r.status, 0) << args << "\n" << r.err;
      out[size_t(i)] = read_file(f);
      EXPECT_FALSE(out[size_t(i)].empty()) << f;
    }
    return out;
  }

  void expect_identical(const std::array<std::string, 3>& r, const std::string& what) {
    EXPECT_TRUE(r[0] == r[1]) << what << ": two runs with --threads 1 differ";
    EXPECT_TRUE(r[0] == r[2]) << what << ": --threads 1 and --threads 2 differ";
  }

  testing::TempDir dir_;
  int runs_ = 0;
};

TEST_F(DeterminismCli, QuantizeFptqAndFptqGptq) {
  for (const std::string scheme : {"fptq", "fptq-gptq"}) {
    const std::string args = "quantize " + clitest::stories() + " --scheme " + scheme +
                             " --calib random --samples 4 --seqlen 32 --seed 7 -q";
    const auto r = three_runs(args, "-o", ".gguf");
    expect_identical(r, scheme);
    const auto other = three_runs(
        "quantize " + clitest::stories() + " --scheme " + scheme +
            " --calib random --samples 4 --seqlen 32 --seed 8 -q",
        "-o", ".gguf");
    EXPECT_FALSE(r[0] == other[0]) << scheme << ": the seed changes nothing";
  }
}

TEST_F(DeterminismCli, CalibrateStatsFromTextAndRandom) {
  const auto text = three_runs("calibrate " + clitest::stories() + " --calib " + clitest::wiki() +
                                   " --samples 4 --seqlen 64 --seed 3 -q",
                               "-o", ".json");
  expect_identical(text, "calibrate --calib text");
  const auto random = three_runs(
      "calibrate " + clitest::stories() + " --calib random --samples 4 --seqlen 64 --seed 3 -q",
      "-o", ".json");
  expect_identical(random, "calibrate --calib random");
  EXPECT_FALSE(text[0] == random[0]);
}

TEST_F(DeterminismCli, PerplexityKlBaseRecord) {
  // The base is written only when the file does not exist yet: a fresh name per run.
  const auto r = three_runs(
      "perplexity " + clitest::stories() + " -f " + clitest::wiki() + " -c 64 --chunks 6 --f32",
      "--kl-base", ".klbase");
  expect_identical(r, "perplexity --kl-base");
  const auto emulate = three_runs(
      "perplexity " + clitest::stories() + " -f " + clitest::wiki() + " -c 64 --chunks 6",
      "--kl-base", ".klbase");
  expect_identical(emulate, "perplexity --kl-base (default engine)");
}

}  // namespace
}  // namespace fptq
