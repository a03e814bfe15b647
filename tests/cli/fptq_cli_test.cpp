// Runs the `fptq` binary (build/bin/fptq) on stories260K: each subcommand's
// output and exit status, and the one-line error for bad input.
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "cli_run.h"
#include "testing/testing.h"

namespace fptq {
namespace {

using namespace clitest;

class FptqCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(testing::build_dir() / "bin" / "fptq")) {
      GTEST_SKIP() << "bin/fptq not built";
    }
    FPTQ_REQUIRE_FILE(testing::shared_data("models/stories260K.gguf"));
  }
};

TEST_F(FptqCli, HelpListsSubcommands) {
  const CliRun r = fptq("--help");
  EXPECT_EQ(r.status, 0);
  for (const char* sub : {"info", "generate", "perplexity", "tokenize"}) {
    EXPECT_TRUE(contains(r.out, sub)) << sub;
  }
  EXPECT_NE(fptq("").status, 0);  // a subcommand is required
}

TEST_F(FptqCli, InfoDescribesModel) {
  const CliRun r = fptq("info " + stories());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "architecture: llama"));
  EXPECT_TRUE(contains(r.out, "layers:          5"));
  EXPECT_TRUE(contains(r.out, "heads:           8 (KV heads 4, head dim 8)"));
  EXPECT_TRUE(contains(r.out, "vocab:           512"));
  EXPECT_TRUE(contains(r.out, "bos:             1"));
  EXPECT_TRUE(contains(r.out, "tensors: 48"));
  // token_embd: 64 × 512 F32 = 131072 bytes
  EXPECT_TRUE(contains(r.out, "token_embd.weight")) << r.out;
  EXPECT_TRUE(contains(r.out, "[64, 512] 131072 bytes")) << r.out;
  EXPECT_TRUE(contains(r.out, "1185376 bytes"));  // file size
}

TEST_F(FptqCli, GenerateReproducesGoldenGreedyText) {
  const CliRun r = fptq("generate " + stories() + " -n 256 --threads 2");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, read_file(testing::shared_data("golden/stories260K-greedy-256.txt")));
  EXPECT_TRUE(contains(r.err, "tokens/s")) << r.err;
}

TEST_F(FptqCli, GenerateWithPromptAndSamplingIsSeeded) {
  const std::string args = "generate " + stories() + " -p 'Once upon a time' -n 40 --temp 0.8 " +
                           "--top-k 40 --top-p 0.9 --seed 3 --threads 1";
  const CliRun a = fptq(args), b = fptq(args);
  ASSERT_EQ(a.status, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(a.out.rfind("Once upon a time", 0), 0u) << a.out;  // the prompt is echoed first
  EXPECT_GT(a.out.size(), std::string("Once upon a time").size() + 40);
}

// The golden text is BOS + 256 tokens once its final newline is removed;
// gptq protocol with ctx 257 scores all 256 predictions: PPL 1.5799.
TEST_F(FptqCli, PerplexityOfGoldenText) {
  const auto golden = quoted(testing::shared_data("golden/stories260K-greedy-256.txt").string());
  const CliRun r = fptq("perplexity " + stories() + " -f " + golden + " --protocol gptq --ctx 257");
  ASSERT_EQ(r.status, 0) << r.err;
  // data/README.md: PPL 1.5799 (an independent FP32 implementation); 0.5%.
  ASSERT_EQ(r.out.rfind("PPL = ", 0), 0u) << r.out;
  EXPECT_NEAR(std::stod(r.out.substr(6)), 1.5799, 1.5799 * 0.005) << r.out;
  EXPECT_TRUE(contains(r.out, "tokens: 257 in the text, 256 scored; windows: 1 of 257 tokens"))
      << r.out;
  EXPECT_TRUE(contains(r.out, "protocol: gptq"));
  EXPECT_TRUE(contains(r.out, "(ISA ")) << r.out;  // every perplexity report names the ISA
}

TEST_F(FptqCli, PerplexityLlamaCppProtocolOnWikitext) {
  const auto wiki = quoted(testing::shared_data("text/wikitext-2-raw-test.txt").string());
  const CliRun r = fptq("perplexity " + stories() + " -f " + wiki + " --chunks 2 --threads 2");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "PPL = ")) << r.out;
  EXPECT_TRUE(contains(r.out, " 510 scored; windows: 2 of 512 tokens")) << r.out;  // 2 × 255
  EXPECT_TRUE(contains(r.out, "protocol: llamacpp (BOS first)")) << r.out;
  EXPECT_TRUE(contains(r.err, "[2/2]")) << r.err;
}

TEST_F(FptqCli, TokenizeIdsAndPieces) {
  const CliRun ids = fptq("tokenize " + stories() + " 'Once upon a time'");
  ASSERT_EQ(ids.status, 0) << ids.err;
  EXPECT_EQ(ids.out.rfind("1 ", 0), 0u) << ids.out;  // BOS first
  const CliRun pieces = fptq("tokenize " + stories() + " --pieces 'Once upon a time'");
  ASSERT_EQ(pieces.status, 0) << pieces.err;
  EXPECT_TRUE(contains(pieces.out, "' Once'")) << pieces.out;
  // stories260K has no piece for 👋: byte fallback, shown escaped.
  const CliRun bytes = fptq("tokenize " + stories() + " --pieces --no-bos '\xf0\x9f\x91\x8b'");
  ASSERT_EQ(bytes.status, 0) << bytes.err;
  EXPECT_TRUE(contains(bytes.out, "'\\xf0'\n")) << bytes.out;
  EXPECT_TRUE(contains(bytes.out, "'\\x8b'\n")) << bytes.out;
  const CliRun golden = fptq("tokenize " + stories() + " -f " +
                          quoted(testing::shared_data("golden/stories260K-greedy-256.txt").string()));
  ASSERT_EQ(golden.status, 0);
  // The file's final newline is tokenized too (tokenize does not strip it).
  const std::string expected = read_file(testing::shared_data("golden/stories260K-greedy-256-ids.txt"));
  EXPECT_EQ(golden.out.rfind(expected.substr(0, expected.find_last_not_of(" \n") + 1), 0), 0u);
}

TEST_F(FptqCli, BadFileGivesOneLineErrorAndNonZeroExit) {
  testing::TempDir dir;
  {
    std::ofstream f(dir / "bad.gguf", std::ios::binary);
    f << "this is not a GGUF file";
  }
  for (const char* sub : {"info", "generate", "perplexity", "tokenize"}) {
    std::string args = std::string(sub) + " " + quoted((dir / "bad.gguf").string());
    if (std::string(sub) == "perplexity") args += " -f " + quoted((dir / "bad.gguf").string());
    if (std::string(sub) == "tokenize") args += " hello";
    const CliRun r = fptq(args);
    EXPECT_NE(r.status, 0) << sub;
    EXPECT_EQ(r.err.rfind("fptq: error: ", 0), 0u) << sub << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << sub << ": " << r.err;
    EXPECT_TRUE(contains(r.err, "bad.gguf")) << r.err;
  }
  const CliRun missing = fptq("info " + quoted((dir / "nope.gguf").string()));
  EXPECT_NE(missing.status, 0);
  EXPECT_EQ(missing.err.rfind("fptq: error: ", 0), 0u) << missing.err;
}

TEST_F(FptqCli, BadOptionValues) {
  const auto wiki = quoted(testing::shared_data("text/wikitext-2-raw-test.txt").string());
  EXPECT_NE(fptq("perplexity " + stories() + " -f " + wiki + " --protocol nope").status, 0);
  const CliRun no_text = fptq("perplexity " + stories() + " -f /nonexistent/file.txt");
  EXPECT_NE(no_text.status, 0);
  EXPECT_TRUE(contains(no_text.err, "fptq: error: text file '/nonexistent/file.txt': no such file")) << no_text.err;
}

}  // namespace
}  // namespace fptq
