// One answer on every machine (docs/numerics.md): through the fptq binary,
// every instruction set this host can run (FPTQ_ISA=ref always, avx2 and
// avx512vnni where the CPU has them) gives
//  - byte-identical `fptq quantize` files for every scheme, the default
//    recipe, text / data-free / --stats calibration, --threads 1 and 2;
//  - byte-identical `fptq perplexity --kl-base` records (the log-probabilities
//    of every scored token) of a quantized file on the integer engine and
//    under --emulate, and the same printed digits;
//  - the same greedy text from `generate`, the same `mmlu`, `compare` and
//    `sensitivity` output (lines naming the ISA or a duration aside).
// The quantized-file records must also differ from the FP record, so the
// comparison is not vacuous.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli_run.h"
#include "kernels/dispatch.h"

namespace fptq {
namespace {

namespace fs = std::filesystem;
using clitest::quoted;
using clitest::read_file;

std::vector<std::string> runnable_isas() {
  std::vector<std::string> out;
  for (kernels::Isa isa : {kernels::Isa::Ref, kernels::Isa::Avx2, kernels::Isa::Avx512Vnni})
    if (kernels::isa_supported(isa)) out.push_back(kernels::isa_name(isa));
  return out;
}

// stdout without the lines that legitimately name the ISA or a duration.
std::string stable_lines(const std::string& s) {
  std::istringstream in(s);
  std::string line, out;
  while (std::getline(in, line)) {
    if (clitest::contains(line, "ISA") || clitest::contains(line, "time") ||
        clitest::contains(line, " s/") || clitest::contains(line, "tok/s"))
      continue;
    out += line + "\n";
  }
  return out;
}

class CrossIsaCli : public ::testing::Test {
 protected:
  void SetUp() override {
    FPTQ_REQUIRE_CLI();
    isas_ = runnable_isas();
  }

  // Runs `args` once per ISA; returns stdout of each; every run must succeed.
  std::vector<std::string> per_isa(const std::string& args) {
    std::vector<std::string> out;
    for (const std::string& isa : isas_) {
      const auto r = clitest::fptq(args, "FPTQ_ISA=" + isa);
      EXPECT_EQ(r.status, 0) << "FPTQ_ISA=" << isa << " " << args << "\n" << r.err;
      out.push_back(r.out);
    }
    return out;
  }

  // Runs `args` + `flag FILE` once per ISA (and extra variants); returns the
  // files' bytes.
  std::vector<std::string> files_per_isa(const std::string& args, const std::string& flag,
                                         const std::string& ext) {
    std::vector<std::string> out;
    for (const std::string& isa : isas_) {
      const fs::path f = dir_ / ("r" + std::to_string(runs_++) + ext);
      const auto r = clitest::fptq(args + " " + flag + " " + quoted(f.string()), "FPTQ_ISA=" + isa);
      EXPECT_EQ(r.status, 0) << "FPTQ_ISA=" << isa << " " << args << "\n" << r.err;
      out.push_back(read_file(f));
      EXPECT_FALSE(out.back().empty()) << f;
    }
    return out;
  }

  void expect_all_equal(const std::vector<std::string>& v, const std::string& what) {
    for (size_t i = 1; i < v.size(); ++i)
      EXPECT_TRUE(v[0] == v[i]) << what << ": FPTQ_ISA=" << isas_[i] << " differs from "
                                << isas_[0] << "\n--- " << isas_[0] << ":\n"
                                << v[0].substr(0, 2000) << "\n--- " << isas_[i] << ":\n"
                                << v[i].substr(0, 2000);
  }

  // A quantized stories260K (ref ISA) shared by the evaluation tests.
  std::string quantized(const std::string& scheme) {
    const fs::path f = dir_ / ("q-" + scheme + ".gguf");
    if (!fs::exists(f)) {
      const auto r = clitest::fptq("quantize " + clitest::stories() + " --scheme " + scheme +
                                       " --calib random --samples 4 --seqlen 64 -q -o " +
                                       quoted(f.string()),
                                   "FPTQ_ISA=ref");
      EXPECT_EQ(r.status, 0) << r.err;
    }
    return quoted(f.string());
  }

  std::vector<std::string> isas_;
  testing::TempDir dir_;
  int runs_ = 0;
};

TEST_F(CrossIsaCli, QuantizeEverySchemeSameBytes) {
  for (const std::string scheme :
       {"fptq-plus", "fptq-plus-gptq", "fptq", "fptq-gptq", "w4a8-naive", "w4a8-dynamic",
        "w8a8-smoothquant", "w4a16-rtn", "w4a16-gptq", "fptq+isolate", "fptq-plus+nl",
        "fptq-plus+grid", "fptq-plus-actgroup"}) {
    const auto files = files_per_isa("quantize " + clitest::stories() + " --scheme " + scheme +
                                         " --calib random --samples 4 --seqlen 64 --seed 5 -q",
                                     "-o", ".gguf");
    expect_all_equal(files, "quantize --scheme " + scheme);
  }
}

TEST_F(CrossIsaCli, QuantizeDefaultRecipeEveryCalibrationAndThreadCount) {
  // The default recipe (no --scheme), text calibration, two thread counts.
  for (const char* t : {"1", "2"}) {
    const auto text = files_per_isa("quantize " + clitest::stories() + " --calib " +
                                        clitest::wiki() + " --samples 4 --seqlen 128 -q -t " + t,
                                    "-o", ".gguf");
    expect_all_equal(text, std::string("quantize --calib text -t ") + t);
    if (std::string(t) == "2") {
      const auto t1 = files_per_isa("quantize " + clitest::stories() + " --calib " +
                                        clitest::wiki() + " --samples 4 --seqlen 128 -q -t 1",
                                    "-o", ".gguf");
      EXPECT_TRUE(t1[0] == text[0]) << "--threads 1 and 2 differ";
    }
  }
  // Statistics calibrated under each ISA are the same bytes, and quantizing
  // from them too.
  const auto stats = files_per_isa(
      "calibrate " + clitest::stories() + " --calib random --samples 4 --seqlen 64 -q", "-o",
      ".json");
  expect_all_equal(stats, "calibrate --calib random");
  const fs::path st = dir_ / "stats.json";
  {
    std::ofstream o(st, std::ios::binary);
    o << stats[0];
  }
  for (const std::string scheme : {"fptq-plus", "fptq"}) {
    const auto files = files_per_isa("quantize " + clitest::stories() + " --scheme " + scheme +
                                         " --stats " + quoted(st.string()) + " -q",
                                     "-o", ".gguf");
    expect_all_equal(files, "quantize --stats --scheme " + scheme);
  }
}

TEST_F(CrossIsaCli, PerplexityRecordsSameBitsOnEveryEngine) {
  for (const std::string scheme :
       {"fptq-plus", "fptq", "w8a8-smoothquant", "fptq-plus+nl", "fptq-plus-actgroup"}) {
    const std::string q = quantized(scheme);
    const std::string args = "perplexity " + q + " -f " + clitest::wiki() + " -c 128 --chunks 3";
    std::vector<std::string> records = files_per_isa(args, "--kl-base", ".klbase");
    const std::vector<std::string> emulated = files_per_isa(args + " --emulate", "--kl-base", ".klbase");
    expect_all_equal(records, scheme + ": perplexity --kl-base (integer engine)");
    expect_all_equal(emulated, scheme + ": perplexity --kl-base --emulate");
    EXPECT_TRUE(records[0] == emulated[0]) << scheme << ": integer engine and --emulate differ";
    const auto printed = per_isa(args);
    std::vector<std::string> stable;
    for (const std::string& p : printed) stable.push_back(stable_lines(p));
    expect_all_equal(stable, scheme + ": perplexity output");
    const auto fp = files_per_isa("perplexity " + clitest::stories() + " -f " + clitest::wiki() +
                                      " -c 128 --chunks 3 --f32",
                                  "--kl-base", ".klbase");
    expect_all_equal(fp, "perplexity --f32 --kl-base");
    EXPECT_FALSE(fp[0] == records[0]) << scheme << ": the quantized record equals FP's";
  }
}

TEST_F(CrossIsaCli, GenerateMmluCompareSensitivitySameOutput) {
  const std::string q = quantized("fptq-plus");
  for (const std::string em : {"", " --emulate"}) {
    const auto text = per_isa("generate " + q + " -p 'Once upon a time' -n 48" + em);
    expect_all_equal(text, "generate" + em);
    EXPECT_GT(text[0].size(), 40u);
  }
  const std::string mmlu = quoted(testing::shared_data("mmlu").string());
  std::vector<std::string> mm;
  for (const std::string& o :
       per_isa("mmlu " + q + " --data " + mmlu + " --subjects astronomy,virology --limit 6 --shots 1"))
    mm.push_back(stable_lines(o));
  expect_all_equal(mm, "mmlu");
  EXPECT_TRUE(clitest::contains(mm[0], "average (all questions) | 12 |")) << mm[0];
  std::vector<std::string> cmp;
  for (const std::string& o :
       per_isa("compare " + clitest::stories() + " --schemes fptq,fptq-plus -f " + clitest::wiki() +
               " --chunks 2 -c 64 --calib random --samples 2 --seqlen 64"))
    cmp.push_back(stable_lines(o));
  expect_all_equal(cmp, "compare");
  EXPECT_TRUE(clitest::contains(cmp[0], "| fptq-plus |")) << cmp[0];
  std::vector<std::string> sens;
  for (const std::string& o : per_isa("sensitivity " + clitest::stories() + " --quantized " + q +
                                      " -f " + clitest::wiki() + " --chunks 1 -c 64"))
    sens.push_back(stable_lines(o));
  expect_all_equal(sens, "sensitivity");
}

}  // namespace
}  // namespace fptq
