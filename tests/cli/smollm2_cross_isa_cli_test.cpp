// The numerics contract (docs/numerics.md) on the real default model: under
// every FPTQ_ISA this host runs (ref always), `fptq quantize` of
// SmolLM2-135M writes the same bytes (the default recipe and the paper's
// fptq), and the default file's perplexity records (integer engine and
// --emulate) and greedy text are the same. Slow: ref runs the 135M model on
// scalar kernels.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "cli_run.h"
#include "kernels/dispatch.h"

namespace fptq {
namespace {

namespace fs = std::filesystem;
using clitest::read_file;

TEST(SmolLM2CrossIsaCli, SameFilesRecordsAndTextOnEveryIsa) {
  FPTQ_REQUIRE_CLI();
  FPTQ_REQUIRE_FILE(testing::smollm2_path());
  std::vector<std::string> isas;
  for (kernels::Isa isa : {kernels::Isa::Ref, kernels::Isa::Avx2, kernels::Isa::Avx512Vnni})
    if (kernels::isa_supported(isa)) isas.push_back(kernels::isa_name(isa));
  const std::string model = clitest::quoted(testing::smollm2_path().string());
  const testing::TempDir dir;
  const struct {
    std::string name, args;
  } runs[] = {
      {"default", "--calib random --samples 1 --seqlen 64"},
      {"fptq", "--scheme fptq --calib random --samples 2 --seqlen 128"},
  };
  std::string default_file;
  for (const auto& run : runs) {
    std::string first;
    for (const std::string& isa : isas) {
      const fs::path f = dir / (run.name + "-" + isa + ".gguf");
      const auto r = clitest::fptq("quantize " + model + " " + run.args + " -q -o " +
                                       clitest::quoted(f.string()),
                                   "FPTQ_ISA=" + isa);
      ASSERT_EQ(r.status, 0) << isa << "\n" << r.err;
      const std::string bytes = read_file(f);
      ASSERT_GT(bytes.size(), 1000000u);
      if (first.empty()) {
        first = bytes;
        if (run.name == "default") default_file = f.string();
      } else {
        EXPECT_TRUE(bytes == first) << run.name << ": FPTQ_ISA=" << isa << " differs from "
                                    << isas[0];
      }
    }
  }
  const std::string wiki = clitest::wiki();
  std::string record, text;
  for (const std::string& isa : isas)
    for (const std::string em : {"", " --emulate"}) {
      const fs::path kb = dir / ("kl-" + isa + (em.empty() ? "" : "-em") + ".bin");
      const auto r = clitest::fptq("perplexity " + clitest::quoted(default_file) + " -f " + wiki +
                                       " -c 128 --chunks 1" + em + " --kl-base " +
                                       clitest::quoted(kb.string()),
                                   "FPTQ_ISA=" + isa);
      ASSERT_EQ(r.status, 0) << isa << em << "\n" << r.err;
      const std::string bytes = read_file(kb);
      ASSERT_FALSE(bytes.empty());
      if (record.empty()) record = bytes;
      EXPECT_TRUE(bytes == record) << "perplexity record: FPTQ_ISA=" << isa << em
                                   << " differs from " << isas[0];
      const auto g = clitest::fptq("generate " + clitest::quoted(default_file) +
                                       " -p 'The capital of France is' -n 12" + em,
                                   "FPTQ_ISA=" + isa);
      ASSERT_EQ(g.status, 0) << g.err;
      if (text.empty()) text = g.out;
      EXPECT_EQ(g.out, text) << "generate: FPTQ_ISA=" << isa << em;
    }
  EXPECT_GT(text.size(), 20u);
}

}  // namespace
}  // namespace fptq
