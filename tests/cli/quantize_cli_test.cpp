// `fptq calibrate` and `fptq quantize` on stories260K through the binary:
// stats file and report written, the layer table printed, byte-identical
// outputs across --threads, `fptq info` shows the FPTQ section, bad input
// gives a one-line error and no output, and a killed run leaves no file.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "testing/testing.h"

namespace fptq {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string q(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct CliRun {
  int status = -1;
  std::string out, err;
};

class QuantizeCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(bin())) GTEST_SKIP() << "bin/fptq not built";
    FPTQ_REQUIRE_FILE(testing::shared_data("models/stories260K.gguf"));
  }
  static fs::path bin() { return testing::build_dir() / "bin" / "fptq"; }
  static std::string stories() { return testing::shared_data("models/stories260K.gguf").string(); }
  CliRun fptq(const std::string& args) {
    const std::string cmd = "cd " + q(dir_.path().string()) + " && " + q(bin().string()) + " " +
                            args + " >" + q((dir_ / "out.txt").string()) + " 2>" +
                            q((dir_ / "err.txt").string());
    const int raw = std::system(cmd.c_str());
    CliRun r;
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    r.out = slurp(dir_ / "out.txt");
    r.err = slurp(dir_ / "err.txt");
    return r;
  }
  testing::TempDir dir_;
};

bool has(const std::string& s, const std::string& n) { return s.find(n) != std::string::npos; }

TEST_F(QuantizeCli, CalibrateThenQuantize) {
  CliRun r = fptq("calibrate " + q(stories()) +
               " --calib random --samples 4 --seqlen 64 --report layers.csv -t 2");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir_ / "stories260K.stats.json"));  // default name, current folder
  EXPECT_TRUE(has(r.out, "blk.4.ffn_down_in")) << r.out;
  EXPECT_TRUE(has(r.err, "sample 4/4")) << r.err;
  EXPECT_TRUE(has(slurp(dir_ / "layers.csv"), "point,0,blk.0.attn_qkv_in,"));

  r = fptq("quantize " + q(stories()) + " --stats stories260K.stats.json -o a.gguf -t 1 -q " +
           "--report a.json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(has(r.out, "bits per weight")) << r.out;
  EXPECT_TRUE(has(r.out, "K=172 is not a multiple of 32")) << r.out;
  EXPECT_TRUE(has(slurp(dir_ / "a.json"), "\"bpw_linear\""));
  r = fptq("quantize " + q(stories()) + " --stats stories260K.stats.json -o b.gguf -t 2 -q");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(slurp(dir_ / "a.gguf") == slurp(dir_ / "b.gguf"));

  // Calibrating inside quantize gives the same file as the two steps.
  r = fptq("quantize " + q(stories()) + " --calib random --samples 4 --seqlen 64 -o c.gguf -q");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(slurp(dir_ / "a.gguf") == slurp(dir_ / "c.gguf"));

  r = fptq("info a.gguf");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(has(r.out, "fptq quantization:")) << r.out;
  EXPECT_TRUE(has(r.out, "scheme:          fptq")) << r.out;
}

// No options: the default recipe (fptq-plus) with data-free calibration at
// quantize's default budget; info shows the recipe.
TEST_F(QuantizeCli, NoOptionsQuantizesWithTheDefaultRecipe) {
  const std::string m = q(stories());
  CliRun r = fptq("quantize " + m + " -o d.gguf -q");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(has(r.err, "data-free calibration (--calib random --samples 32 --seqlen 512)"))
      << r.err;
  r = fptq("info d.gguf");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(has(r.out, "scheme:          fptq-plus")) << r.out;
  EXPECT_TRUE(has(r.out, "recipe:          fptq-plus: int4 g32, scale rule weighted")) << r.out;
  EXPECT_TRUE(has(r.out, "(all dynamic)")) << r.out;
  // The paper's scheme with one pass added is a recipe too.
  r = fptq("quantize " + m + " --calib random --samples 2 --seqlen 64 --scheme fptq+isolate -o i.gguf -q");
  ASSERT_EQ(r.status, 0) << r.err;
  r = fptq("info i.gguf");
  EXPECT_TRUE(has(r.out, "outlier-token isolation on")) << r.out;
  EXPECT_TRUE(has(r.out, "scale rule q4_0")) << r.out;
}

TEST_F(QuantizeCli, BadInputGivesOneLineErrorAndNoOutput) {
  const std::string m = q(stories());
  for (const std::string& args :
       {"quantize " + m + " --calib random --calib a.txt -o x.gguf",
        "quantize " + m + " --scheme fptq+nopass -o x.gguf",
        "quantize " + m + " --stats missing.json -o x.gguf",
        "quantize " + m + " --calib random --samples 2 --seqlen 16 --group-size 48 -o x.gguf",
        "quantize " + m + " --calib random --samples 2 --seqlen 16 --act-mode 'ffn_down=int4' -o x.gguf",
        "quantize " + m + " --calib random --samples 2 --seqlen 16 --keep-fp '(' -o x.gguf",
        "quantize " + m + " --calib random --samples 2 --seqlen 16 --scheme w4a4 -o x.gguf",
        "quantize " + m + " --calib random --samples 2 --seqlen 16 --scheme w4a8-naive --gptq -o x.gguf",
        "quantize " + m + " --calib random --samples 2 --seqlen 16 --report x.txt -o x.gguf",
        "calibrate " + m}) {
    const CliRun r = fptq(args);
    EXPECT_EQ(r.status, 1) << args << "\n" << r.err;
    EXPECT_TRUE(has(r.err, "fptq: error: ")) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << "\n" << r.err;
    EXPECT_FALSE(fs::exists(dir_ / "x.gguf")) << args;
  }
  // Output = input.
  fs::copy_file(stories(), dir_ / "m.gguf");
  const CliRun r = fptq("quantize m.gguf --calib random --samples 2 --seqlen 16 -o m.gguf");
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(has(r.err, "is the input model")) << r.err;
  EXPECT_TRUE(slurp(dir_ / "m.gguf") == slurp(stories()));
}

// SIGKILL while the run is calibrating: the output exists only after the
// final rename, so nothing is left behind.
TEST_F(QuantizeCli, KilledRunLeavesNoOutput) {
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (chdir(dir_.path().c_str()) != 0) _exit(127);
    const std::string b = bin().string(), m = stories();
    execl(b.c_str(), b.c_str(), "quantize", m.c_str(), "--calib", "random", "--samples", "100000",
          "--seqlen", "256", "-q", "-o", "k.gguf", static_cast<char*>(nullptr));
    _exit(127);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status));
  // No output and no partial file next to it; only the resume state
  // (k.gguf.fptq-partial/, the finished blocks for --resume) may remain.
  for (const auto& e : fs::directory_iterator(dir_.path())) {
    if (e.path().filename() == "k.gguf.fptq-partial" && e.is_directory()) continue;
    EXPECT_EQ(e.path().filename().string().find("k.gguf"), std::string::npos) << e.path();
  }
}

}  // namespace
}  // namespace fptq
