// fptq perplexity --kl-base: record on the FP model, compare a quantized one
// (integer engine and --emulate), refuse a mismatched run with one line.
#include "cli_run.h"

namespace fptq {
namespace {

using namespace clitest;

TEST(PerplexityKlCli, RecordThenCompare) {
  FPTQ_REQUIRE_CLI();
  testing::TempDir dir;
  const std::string q = quoted((dir / "q.gguf").string()), base = quoted((dir / "b.klb").string());
  ASSERT_EQ(fptq("quantize " + stories() + " --calib random --samples 4 --seqlen 128 -q -t 2 -o " + q)
                .status,
            0);
  const CliRun rec = fptq("perplexity " + stories() + " -f " + wiki() +
                          " -c 128 --chunks 3 -t 2 --f32 --kl-base " + base);
  ASSERT_EQ(rec.status, 0) << rec.err;
  EXPECT_TRUE(contains(rec.out, "KL base written")) << rec.out;
  for (const char* mode : {"", " --emulate"}) {
    const CliRun cmp = fptq("perplexity " + q + " -f " + wiki() + " -c 128 -t 2 --kl-base " + base + mode);
    ASSERT_EQ(cmp.status, 0) << cmp.err;
    EXPECT_TRUE(contains(cmp.out, "mean KLD = ")) << cmp.out;
    EXPECT_TRUE(contains(cmp.out, "top-1 agreement = ")) << cmp.out;
    EXPECT_TRUE(contains(cmp.out, "189 scored")) << cmp.out;  // 3 windows × 63
  }
  // The FP model against its own base: zero KL, full agreement.
  const CliRun self = fptq("perplexity " + stories() + " -f " + wiki() + " -c 128 -t 2 --kl-base " + base);
  ASSERT_EQ(self.status, 0) << self.err;
  EXPECT_TRUE(contains(self.out, "mean KLD = 0.000000")) << self.out;
  EXPECT_TRUE(contains(self.out, "top-1 agreement = 100.00%")) << self.out;
  const CliRun bad = fptq("perplexity " + q + " -f " + wiki() + " -c 256 -t 2 --kl-base " + base);
  EXPECT_EQ(bad.status, 1);
  EXPECT_TRUE(contains(bad.err, "fptq: error: KL base was recorded with ctx 128")) << bad.err;
  EXPECT_TRUE(bad.out.empty());
}

}  // namespace
}  // namespace fptq
