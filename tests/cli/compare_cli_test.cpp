// fptq compare on stories260K, few samples and windows: one markdown table,
// FP row first, one row per scheme, the shared calibration stated.
#include "cli_run.h"

namespace fptq {
namespace {

using namespace clitest;

TEST(CompareCli, TableOnStories) {
  FPTQ_REQUIRE_CLI();
  testing::TempDir dir;
  const CliRun r = fptq("compare " + stories() + " -f " + wiki() +
                        " --calib random --samples 4 --seqlen 128 -c 128 --chunks 2 -t 2"
                        " --schemes fptq,w4a8-naive,w4a16-rtn,w8a8-smoothquant -o " +
                        quoted(dir.path().string()));
  ASSERT_EQ(r.status, 0) << r.err;
  const size_t header = r.out.find("| scheme |");
  ASSERT_NE(header, std::string::npos) << r.out;
  const size_t fp = r.out.find("| FP |"), fptq_row = r.out.find("| fptq |");
  ASSERT_NE(fp, std::string::npos);
  EXPECT_LT(header, fp);
  EXPECT_LT(fp, fptq_row);
  for (const char* s : {"| w4a8-naive |", "| w4a16-rtn |", "| w8a8-smoothquant |"})
    EXPECT_TRUE(contains(r.out, s)) << s;
  EXPECT_TRUE(contains(r.out, "calibration: 4 × 128 tokens from random")) << r.out;
  EXPECT_TRUE(contains(r.out, "2 windows, 126 predictions scored")) << r.out;
  // -o keeps the quantized files.
  EXPECT_TRUE(std::filesystem::exists(dir / "stories260K.fptq.gguf"));
  EXPECT_TRUE(std::filesystem::exists(dir / "stories260K.w8a8-smoothquant.gguf"));
  const CliRun bad = fptq("compare " + stories() + " -f " + wiki() + " --schemes fptq,nope -t 2 --calib random");
  EXPECT_EQ(bad.status, 1);
  EXPECT_TRUE(contains(bad.err, "fptq: error: ")) << bad.err;
}

TEST(CompareCli, ScaleRuleAndThresholdsReachEveryScheme) {
  // Default thresholds put every stories260K point below v0 = 15 (static);
  // v0 = 4, v1 = 8 must move some into LAE / dynamic, and the header states
  // the rule and thresholds used.
  FPTQ_REQUIRE_CLI();
  const std::string base = "compare " + stories() + " -f " + wiki() +
                           " --calib random --samples 4 --seqlen 128 -c 128 --chunks 1 -t 2"
                           " --schemes fptq";
  const CliRun def = fptq(base);
  ASSERT_EQ(def.status, 0) << def.err;
  EXPECT_TRUE(contains(def.out, "scale rule per recipe; policy v0 = per recipe, v1 = per recipe"))
      << def.out;
  const CliRun r = fptq(base + " --scale-rule absmax7 --v0 4 --v1 8");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "scale rule absmax7; policy v0 = 4, v1 = 8")) << r.out;
  auto row = [](const std::string& out) {
    const size_t at = out.find("| fptq |");
    return at == std::string::npos ? std::string() : out.substr(at, out.find('\n', at) - at);
  };
  ASSERT_FALSE(row(def.out).empty()) << def.out;
  EXPECT_TRUE(contains(row(def.out), "| 20 / 0 / 0 / 0 |")) << row(def.out);
  EXPECT_FALSE(contains(row(r.out), "| 20 / 0 / 0 / 0 |")) << row(r.out);
  EXPECT_NE(row(def.out), row(r.out));
  EXPECT_NE(fptq(base + " --scale-rule nope").status, 0);
}

}  // namespace
}  // namespace fptq
