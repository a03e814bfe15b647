// fptq-synth-llama (tools/synth_llama.cpp): deterministic by seed, refuses
// shapes fptq cannot load and option values it would otherwise ignore, and
// never leaves a partial file (output or temporary) behind, even when a file
// size limit stops the write.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "cli_run.h"

namespace fptq::clitest {
namespace {

namespace fs = std::filesystem;

class SynthLlama : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(bin_)) GTEST_SKIP() << "fptq-synth-llama not built";
  }
  // Runs the tool in the work folder with `args` after an optional shell prefix.
  CliRun synth(const std::string& args, const std::string& prefix = "") {
    const std::string cmd = "cd " + quoted(work_.path().string()) + " && " + prefix + " " +
                            quoted(bin_.string()) + " " + args + " >out.txt 2>err.txt";
    const int raw = std::system(("sh -c " + quoted(cmd)).c_str());
    CliRun r;
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    r.out = read_file(work_ / "out.txt");
    r.err = read_file(work_ / "err.txt");
    return r;
  }
  // Names in the work folder other than the captured streams.
  std::vector<std::string> files() const {
    std::vector<std::string> v;
    for (const auto& e : fs::directory_iterator(work_.path())) {
      const std::string n = e.path().filename().string();
      if (n != "out.txt" && n != "err.txt") v.push_back(n);
    }
    return v;
  }

  const fs::path bin_ = testing::build_dir() / "bin" / "fptq-synth-llama";
  testing::TempDir work_;
};

TEST_F(SynthLlama, SameSeedSameBytes) {
  const std::string shape = "--layers 1 --dim 64 --ffn 64 --heads 2 --vocab 300";
  ASSERT_EQ(synth("-o a.gguf --seed 3 " + shape).status, 0);
  ASSERT_EQ(synth("-o b.gguf --seed 3 " + shape).status, 0);
  ASSERT_EQ(synth("-o c.gguf --seed 4 " + shape).status, 0);
  const std::string a = read_file(work_ / "a.gguf");
  EXPECT_GT(a.size(), 64u * 300u * 2u);
  EXPECT_TRUE(a == read_file(work_ / "b.gguf"));
  EXPECT_FALSE(a == read_file(work_ / "c.gguf"));
}

TEST_F(SynthLlama, BadShapesAndValuesAreRefused) {
  const std::pair<std::string, std::string> cases[] = {
      {"--dim 96 --heads 32", "bad shape"},  // head size 3: RoPE needs pairs
      {"--dim -1", "bad shape"},             // was taken as "not given"
      {"--ctx 0", "bad shape"},
      {"--vocab 100", "need at least 260 tokens"},
  };
  for (const auto& [args, want] : cases) {
    SCOPED_TRACE(args);
    const CliRun r = synth("-o m.gguf " + args);
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, want)) << r.err;
    EXPECT_TRUE(files().empty());
  }
}

TEST_F(SynthLlama, FileSizeLimitLeavesNoFile) {
  // ulimit -f 64: 64 KiB, far less than the tiny preset's ~3 MB.
  const CliRun r = synth("-o m.gguf", "ulimit -f 64;");
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "m.gguf.tmp: write failed: File too large")) << r.err;
  EXPECT_TRUE(files().empty());
}

}  // namespace
}  // namespace fptq::clitest
