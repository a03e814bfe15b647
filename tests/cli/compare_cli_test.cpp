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

}  // namespace
}  // namespace fptq
