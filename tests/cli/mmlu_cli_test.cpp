// fptq mmlu on stories260K with a tiny --limit: the category table, the same
// output on a second run, one-line errors.
#include "cli_run.h"

namespace fptq {
namespace {

using namespace clitest;

TEST(MmluCli, TinyRunIsDeterministic) {
  FPTQ_REQUIRE_CLI();
  FPTQ_REQUIRE_FILE(testing::shared_data("mmlu"));
  const std::string args = "mmlu " + stories() + " --data " +
                           quoted(testing::shared_data("mmlu").string()) +
                           " --limit 2 --subjects anatomy,philosophy,sociology,astronomy -t 2";
  const CliRun a = fptq(args), b = fptq(args);
  ASSERT_EQ(a.status, 0) << a.err;
  for (const char* row : {"| humanities | 2 |", "| STEM | 2 |", "| social sciences | 2 |",
                          "| other | 2 |", "| average (all questions) | 8 |"})
    EXPECT_TRUE(contains(a.out, row)) << row << "\n" << a.out;
  EXPECT_TRUE(contains(a.err, "[4/4]")) << a.err;  // progress per subject
  // Identical apart from the timing line.
  auto table = [](const std::string& s) { return s.substr(0, s.find("tokens run:")); };
  EXPECT_EQ(table(a.out), table(b.out));
  const CliRun bad = fptq("mmlu " + stories() + " --data /nonexistent --limit 1 -t 2");
  EXPECT_EQ(bad.status, 1);
  EXPECT_TRUE(contains(bad.err, "fptq: error: ")) << bad.err;
}

}  // namespace
}  // namespace fptq
