// fptq compare and fptq perplexity --kl-base give the same PPL and KLD for
// the same quantized file, text, windows and engine (stories260K, seconds).
// compare --emulate once ran its quantized models without their activation
// quantizers (the F32 path on dequantized weights: a W4A16 figure), so its
// KLD matched `perplexity --f32`, not `perplexity --emulate`.
#include <cstdio>
#include <string>

#include "cli_run.h"

namespace fptq {
namespace {

using namespace clitest;

// "| fptq | ... | 70.8029 ± 14.5369 | +0.0709 | 0.23269 ± 0.01896 | ..." ->
// the PPL and the mean-KLD cells.
std::pair<std::string, std::string> fptq_row_cells(const std::string& out) {
  const size_t at = out.find("| fptq |");
  if (at == std::string::npos) return {};
  const std::string row = out.substr(at, out.find('\n', at) - at);
  std::vector<std::string> cells;
  size_t p = 1;
  while (p < row.size()) {
    const size_t q = row.find('|', p);
    if (q == std::string::npos) break;
    std::string c = row.substr(p, q - p);
    c.erase(0, c.find_first_not_of(' '));
    c.erase(c.find_last_not_of(' ') + 1);
    cells.push_back(c);
    p = q + 1;
  }
  if (cells.size() < 6) return {};
  return {cells[3], cells[5]};  // "PPL ± stderr", "mean KLD ± stderr"
}

// perplexity's "PPL = x ± y" and "mean KLD = x ± y", reformatted as compare
// prints them ("{:.4f} ± {:.4f}", "{:.5f} ± {:.5f}").
std::pair<std::string, std::string> perplexity_cells(const std::string& out) {
  double ppl = 0, ppl_se = 0, kld = 0, kld_se = 0;
  const size_t a = out.find("PPL = "), b = out.find("mean KLD = ");
  if (a == std::string::npos || b == std::string::npos) return {};
  if (std::sscanf(out.c_str() + a, "PPL = %lf \xC2\xB1 %lf", &ppl, &ppl_se) != 2) return {};
  if (std::sscanf(out.c_str() + b, "mean KLD = %lf \xC2\xB1 %lf", &kld, &kld_se) != 2) return {};
  char p[64], k[64];
  std::snprintf(p, sizeof p, "%.4f \xC2\xB1 %.4f", ppl, ppl_se);
  std::snprintf(k, sizeof k, "%.5f \xC2\xB1 %.5f", kld, kld_se);
  return {p, k};
}

TEST(CompareKlAgreement, CompareMatchesPerplexityOnEachEngine) {
  FPTQ_REQUIRE_CLI();
  testing::TempDir dir;
  const std::string window = " -f " + wiki() + " -c 128 --chunks 3 -t 2";
  const std::string base = quoted((dir / "fp.klb").string());
  const CliRun fp = fptq("perplexity " + stories() + window + " --f32 -q --kl-base " + base);
  ASSERT_EQ(fp.status, 0) << fp.err;
  std::pair<std::string, std::string> by_engine[2];
  for (int emulate = 0; emulate < 2; ++emulate) {
    SCOPED_TRACE(emulate ? "--emulate" : "integer engine");
    const auto out = dir / (emulate ? "emu" : "int");
    const CliRun c = fptq("compare " + stories() + window +
                          " --schemes fptq --calib random --samples 4 --seqlen 128 -o " +
                          quoted(out.string()) + (emulate ? " --emulate" : ""));
    ASSERT_EQ(c.status, 0) << c.err;
    const auto cmp = fptq_row_cells(c.out);
    ASSERT_FALSE(cmp.second.empty()) << c.out;
    const std::string q = quoted((out / "stories260K.fptq.gguf").string());
    const CliRun p = fptq("perplexity " + q + window + " -q --kl-base " + base +
                          (emulate ? " --emulate" : ""));
    ASSERT_EQ(p.status, 0) << p.err;
    const auto ppl = perplexity_cells(p.out);
    ASSERT_FALSE(ppl.second.empty()) << p.out;
    EXPECT_EQ(cmp.first, ppl.first) << c.out << p.out;
    EXPECT_EQ(cmp.second, ppl.second) << c.out << p.out;
    by_engine[emulate] = cmp;
    // Without the activation quantizers the figure differs: the check above
    // can tell an --emulate run that skipped them.
    const CliRun bare = fptq("perplexity " + q + window + " -q --f32 --kl-base " + base);
    ASSERT_EQ(bare.status, 0) << bare.err;
    EXPECT_NE(perplexity_cells(bare.out).second, ppl.second) << bare.out;
  }
  // The emulation is exact: both engines give the same figures.
  EXPECT_EQ(by_engine[0], by_engine[1]);
  EXPECT_FALSE(contains(fp.err, "note: the KL base is recorded with")) << fp.err;
}

TEST(CompareKlAgreement, BaseRecordedWithQuantizedActivationsIsNamed) {
  // A base recorded on an engine that quantizes activations is not the FP
  // reference compare uses: perplexity says so (and not under --f32).
  FPTQ_REQUIRE_CLI();
  testing::TempDir dir;
  const std::string window = " -f " + wiki() + " -c 128 --chunks 1 -t 2";
  ASSERT_EQ(fptq("compare " + stories() + window +
                 " --schemes fptq --calib random --samples 2 --seqlen 128 -o " +
                 quoted(dir.path().string()))
                .status,
            0);
  const std::string q = quoted((dir / "stories260K.fptq.gguf").string());
  const CliRun i = fptq("perplexity " + q + window + " -q --kl-base " + quoted((dir / "i.klb").string()));
  ASSERT_EQ(i.status, 0) << i.err;
  EXPECT_TRUE(contains(i.err, "note: the KL base is recorded with 21 activation point(s) quantized"))
      << i.err;
  const CliRun f =
      fptq("perplexity " + q + window + " -q --f32 --kl-base " + quoted((dir / "f.klb").string()));
  ASSERT_EQ(f.status, 0) << f.err;
  EXPECT_FALSE(contains(f.err, "note: the KL base")) << f.err;
}

}  // namespace
}  // namespace fptq
