// fptq report / fptq sensitivity on stories260K through the binary: the HTML
// page is written, self-contained, and holds the overview and every layer;
// the JSON holds the same points; the sensitivity ranking is printed and
// written, read back by the report, and --keep-table / --auto-keep run.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/cli_run.h"

namespace fptq {
namespace {

using namespace clitest;

TEST(ReportCli, QuantizedFileReportAndSensitivity) {
  FPTQ_REQUIRE_CLI();
  testing::TempDir dir;
  const std::string q = quoted((dir / "q.gguf").string());
  ASSERT_EQ(fptq("quantize " + stories() + " --calib random --samples 4 --seqlen 64 -q -t 2 -o " + q +
                 " --v0 0.5 --v1 3")
                .status,
            0);
  const std::string sens = quoted((dir / "sens.json").string());
  CliRun s = fptq("sensitivity " + stories() + " -f " + wiki() + " --quantized " + q +
                  " -c 64 --chunks 2 -t 2 --json " + sens + " --keep-table 0,2 --random-draws 1 "
                  "--auto-keep 0.0001 -o " + quoted((dir / "kept.gguf").string()));
  ASSERT_EQ(s.status, 0) << s.err;
  EXPECT_TRUE(contains(s.out, "| 1 | blk.")) << s.out;
  EXPECT_TRUE(contains(s.out, "most sensitive | 2 |")) << s.out;
  EXPECT_TRUE(contains(s.out, "random (seed 1) | 2 |")) << s.out;
  EXPECT_TRUE(contains(s.out, "fptq quantize arguments:")) << s.out;
  // The auto-kept model was written and evaluated.
  EXPECT_TRUE(contains(s.out, "written ")) << s.out;
  EXPECT_TRUE(std::filesystem::exists(dir / "kept.gguf"));
  const auto sj = nlohmann::json::parse(read_file(dir / "sens.json"));
  EXPECT_EQ(sj.at("format"), "fptq-sensitivity");
  EXPECT_EQ(sj.at("ranking").size(), 5u * 4u);  // stories260K: 5 blocks × 4 points

  const std::string html = (dir / "r.html").string();
  const CliRun r = fptq("report " + stories() + " " + q + " -o " + quoted(html) + " --json " +
                        quoted((dir / "r.json").string()) + " --calib random --probe-samples 2 "
                        "--probe-seqlen 64 -t 2 --sensitivity " + sens + " -f " + wiki() +
                        " -c 64 --chunks 2");
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string page = read_file(html);
  EXPECT_TRUE(contains(page, "<!DOCTYPE html>"));
  EXPECT_FALSE(contains(page, "<script"));
  EXPECT_TRUE(contains(page, "id=\"overview-chart\"><svg"));
  EXPECT_TRUE(contains(page, "id=\"sensitivity\""));
  EXPECT_TRUE(contains(page, "Baseline: FP vs quantized"));
  for (int l = 0; l < 5; ++l)
    EXPECT_TRUE(contains(page, "id=\"blk." + std::to_string(l) + ".ffn_down_in\"")) << l;
  const auto j = nlohmann::json::parse(read_file(dir / "r.json"));
  EXPECT_EQ(j.at("points").size(), 20u);
  EXPECT_TRUE(j.at("points")[0].contains("kld_alone"));
  EXPECT_TRUE(j.contains("baseline"));

  // Bad input: one line, non-zero, no file.
  const CliRun bad = fptq("report " + stories() + " -o " + quoted((dir / "x.html").string()));
  EXPECT_NE(bad.status, 0);
  EXPECT_TRUE(contains(bad.err, "give the quantized model")) << bad.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "x.html"));
  const CliRun bad2 = fptq("report " + stories() + " " + q + " -o " + quoted((dir / "x.txt").string()));
  EXPECT_NE(bad2.status, 0);
  EXPECT_TRUE(contains(bad2.err, "must end in .html")) << bad2.err;
  // Output paths are checked before the probe: a missing folder, the JSON
  // over an input (the --sensitivity file it reads), --top 0 (an empty row list).
  const CliRun bad3 = fptq("report " + stories() + " " + q + " --calib random -o " +
                           quoted((dir / "no" / "x.html").string()));
  EXPECT_NE(bad3.status, 0);
  EXPECT_TRUE(contains(bad3.err, "does not exist")) << bad3.err;
  const CliRun bad4 = fptq("report " + stories() + " " + q + " --calib random -o " +
                           quoted((dir / "y.html").string()) + " --sensitivity " + sens +
                           " --json " + sens);
  EXPECT_NE(bad4.status, 0);
  EXPECT_TRUE(contains(bad4.err, "--json")) << bad4.err;
  EXPECT_TRUE(std::filesystem::exists(dir / "sens.json"));
  const CliRun bad5 = fptq("report " + stories() + " " + q + " --calib random --top 0 -o " +
                           quoted((dir / "z.html").string()));
  EXPECT_NE(bad5.status, 0);
  EXPECT_TRUE(contains(bad5.err, "--top")) << bad5.err;
  for (const char* f : {"y.html", "z.html"}) EXPECT_FALSE(std::filesystem::exists(dir / f)) << f;
  // sensitivity checks its outputs before ranking too.
  const CliRun bad6 = fptq("sensitivity " + stories() + " -f " + wiki() + " --quantized " + q +
                           " -c 64 --chunks 1 --json " + quoted((dir / "no" / "s.json").string()));
  EXPECT_NE(bad6.status, 0);
  EXPECT_TRUE(contains(bad6.err, "--json")) << bad6.err;
  EXPECT_FALSE(contains(bad6.err, "ranking")) << bad6.err;  // failed before the ranking ran
  const CliRun bad7 = fptq("sensitivity " + stories() + " -f " + wiki() + " --quantized " + q +
                           " -c 64 --chunks 1 --ranking " + sens + " --auto-keep 0.1 -o " + q);
  EXPECT_NE(bad7.status, 0);
  EXPECT_TRUE(contains(bad7.err, "-o/--output")) << bad7.err;
}

}  // namespace
}  // namespace fptq
