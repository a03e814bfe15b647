// Peak resident memory of `fptq quantize` scales with one block, not with
// the model: synthetic LLaMA-shaped models (tools/synth_llama.cpp) of the
// same width with 2 and 8 blocks are quantized; the 8-block run's peak RSS
// (getrusage of the child) must stay within one block's F32 weights of the
// 2-block run's, where a whole-model quantizer would need 6 blocks more.
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_run.h"

namespace fptq::clitest {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kDim = 768, kFfn = 2048, kHeads = 12, kVocab = 512;
constexpr double kBlockF32Bytes = 4.0 * (4.0 * kDim * kDim + 3.0 * kDim * kFfn);

// Runs argv, returns (exit status, peak RSS in bytes).
std::pair<int, int64_t> run_measured(const std::vector<std::string>& args) {
  std::fflush(stdout);
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::freopen("/dev/null", "w", stdout);
    ::freopen("/dev/null", "w", stderr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  struct rusage ru {};
  ::wait4(pid, &status, 0, &ru);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, int64_t(ru.ru_maxrss) * 1024};
}

TEST(StreamRss, PeakRssScalesWithTheBlockNotTheModel) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's shadow memory and quarantine are part of the RSS; the bound "
                  "is checked in the plain build";
#endif
  FPTQ_REQUIRE_CLI();
  const fs::path synth = testing::build_dir() / "bin" / "fptq-synth-llama";
  if (!fs::exists(synth)) GTEST_SKIP() << "fptq-synth-llama not built";
  const std::string fptq_bin = (testing::build_dir() / "bin" / "fptq").string();
  testing::TempDir dir;
  int64_t rss[2] = {0, 0};
  const int layers[2] = {2, 8};
  for (int i = 0; i < 2; ++i) {
    const std::string model = (dir / ("m" + std::to_string(layers[i]) + ".gguf")).string();
    const auto [st, synth_rss] = run_measured(
        {synth.string(), "-o", model, "--layers", std::to_string(layers[i]), "--dim",
         std::to_string(kDim), "--ffn", std::to_string(kFfn), "--heads", std::to_string(kHeads),
         "--vocab", std::to_string(kVocab), "--seed", "3"});
    ASSERT_EQ(st, 0);
    const auto [qs, q_rss] = run_measured({fptq_bin, "quantize", model, "--calib", "random",
                                           "--samples", "2", "--seqlen", "64", "--threads", "2",
                                           "-o", (dir / "q.gguf").string(), "--quiet"});
    ASSERT_EQ(qs, 0);
    rss[i] = q_rss;
    std::printf("%d blocks: peak RSS %.1f MiB (model file %.1f MiB, F32 weights of one block %.1f MiB)\n",
                layers[i], double(q_rss) / (1 << 20), double(fs::file_size(model)) / (1 << 20),
                kBlockF32Bytes / (1 << 20));
  }
  // Six more blocks cost less than one block's F32 weights ...
  EXPECT_LT(double(rss[1] - rss[0]), kBlockF32Bytes);
  // ... and the 8-block run holds well under the model's F32 weights.
  EXPECT_LT(double(rss[1]), 0.5 * 8 * kBlockF32Bytes);
}

}  // namespace
}  // namespace fptq::clitest
