// fptq quantize --auto-keep / --auto-keep-bpw / --keep-as / --act-clip on
// stories260K through the binary: kept layers become Q8_0 weights with
// per-token activations, a budget the plain quantization meets keeps
// nothing, --act-clip lowers (never raises) the static scales and is recorded
// in the file, and bad values give one clear error and no output.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "cli/cli_run.h"

namespace fptq {
namespace {

using namespace clitest;
using nlohmann::json;

// Static points on stories260K need low thresholds.
const std::string kCalib = " --calib random --samples 4 --seqlen 64 -q --v0 0.5 --v1 3";
const std::string kEval = " --eval-ctx 64 --eval-chunks 2";

TEST(RepairCli, AutoKeepBpwAsQ8KeepsQ8WeightsAndDynamicPoints) {
  FPTQ_REQUIRE_CLI();
  testing::TempDir dir;
  const CliRun r = fptq("quantize " + stories() + kCalib + kEval + " -f " + wiki() +
                        " --auto-keep-bpw 8 --keep-as q8_0 -t 2 -o " +
                        quoted((dir / "k.gguf").string()) + " --report " +
                        quoted((dir / "k.json").string()));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "kept as q8_0:")) << r.out;
  EXPECT_TRUE(contains(r.out, "bits/weight")) << r.out;
  const json j = json::parse(read_file(dir / "k.json"));
  const json& ak = j.at("auto_keep");
  const int64_t k = ak.at("k").get<int64_t>();
  ASSERT_GT(k, 0) << ak.dump();
  EXPECT_LT(k, 20) << ak.dump();  // 5 blocks × 4 points; not all fit in 8 bits
  EXPECT_LE(ak.at("result").at("bpw_linear").get<double>(), 8.5);
  std::set<std::string> kept;
  for (const auto& p : ak.at("kept")) kept.insert(p.get<std::string>());
  EXPECT_EQ(int64_t(kept.size()), k);
  std::map<std::string, std::string> mode;
  for (const auto& p : j.at("points")) mode[p.at("point")] = p.at("run_mode");
  // stories260K: K = 64 (IQ4_NL / Q8_0 blocks fit) except ffn_down (K = 172: F16 fallback).
  int n_q8 = 0, n_q4 = 0;
  std::map<std::string, std::string> kept_type;  // point -> type of its kept consumers
  for (const auto& t : j.at("tensors")) {
    const std::string name = t.at("name");
    if (name.rfind("blk.", 0) != 0 || name.find("norm") != std::string::npos) continue;
    const bool down = name.find("ffn_down") != std::string::npos;
    const std::string point = name.substr(0, name.find('.', 4)) +
                              (name.find("attn_output") != std::string::npos ? ".attn_out_in"
                               : name.find("attn_") != std::string::npos     ? ".attn_qkv_in"
                               : down                                        ? ".ffn_down_in"
                                                                             : ".ffn_gate_up_in");
    const bool is_kept = t.at("kept_q8").get<bool>();
    EXPECT_EQ(is_kept, kept.count(point) == 1) << name;
    EXPECT_EQ(t.at("type"), down ? "F16" : is_kept ? "Q8_0" : "IQ4_NL") << name;
    if (!down) (is_kept ? n_q8 : n_q4)++;
    if (is_kept) kept_type[point] = t.at("type");
  }
  EXPECT_GT(n_q8, 0);
  EXPECT_GT(n_q4, 0);
  for (const auto& p : kept) EXPECT_EQ(mode.at(p), kept_type.at(p) == "Q8_0" ? "dynamic" : "fp") << p;
  // No twin is left next to the output.
  EXPECT_FALSE(std::filesystem::exists(dir / "k.gguf.fptq-twin.gguf"));
  EXPECT_FALSE(std::filesystem::exists(dir / "k.gguf.fptq-twin-q8.gguf"));
}

TEST(RepairCli, AutoKeepWithABudgetAlreadyMetKeepsNothing) {
  FPTQ_REQUIRE_CLI();
  testing::TempDir dir;
  const std::string plain = (dir / "p.gguf").string(), kept = (dir / "k.gguf").string();
  ASSERT_EQ(fptq("quantize " + stories() + kCalib + " -o " + quoted(plain)).status, 0);
  const CliRun r = fptq("quantize " + stories() + kCalib + kEval + " -f " + wiki() +
                        " --auto-keep 1000 -o " + quoted(kept));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "kept as q8_0: 0 layer input(s)")) << r.out;
  EXPECT_TRUE(contains(r.out, "| none | 0 |")) << r.out;
  EXPECT_EQ(read_file(plain), read_file(kept));  // nothing kept: the plain file, byte for byte
}

TEST(RepairCli, ActClipLowersStaticScalesAndIsRecorded) {
  FPTQ_REQUIRE_CLI();
  testing::TempDir dir;
  const std::string plain = (dir / "p.gguf").string(), clip = (dir / "c.gguf").string();
  ASSERT_EQ(fptq("quantize " + stories() + kCalib + " -o " + quoted(plain) + " --report " +
                 quoted((dir / "p.json").string()))
                .status,
            0);
  const CliRun r = fptq("quantize " + stories() + kCalib + " --act-clip 99 -t 2 -o " + quoted(clip) +
                        " --report " + quoted((dir / "c.json").string()));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "act-clip: static scales of")) << r.out;
  const json p = json::parse(read_file(dir / "p.json")), c = json::parse(read_file(dir / "c.json"));
  ASSERT_EQ(p.at("points").size(), c.at("points").size());
  int n_static = 0, n_lower = 0;
  for (size_t i = 0; i < p.at("points").size(); ++i) {
    const double a = p.at("points")[i].at("static_scale"), b = c.at("points")[i].at("static_scale");
    EXPECT_EQ(p.at("points")[i].at("run_mode"), c.at("points")[i].at("run_mode"));
    if (a == 0) {
      EXPECT_EQ(b, 0.0);
      continue;
    }
    ++n_static;
    EXPECT_GT(b, 0.0);
    EXPECT_LE(b, a) << i;
    n_lower += b < a;
  }
  EXPECT_GT(n_static, 0);
  EXPECT_GT(n_lower, 0);
  EXPECT_EQ(c.at("act_clip").at("percentile"), 99.0);
  const CliRun info = fptq("info " + quoted(clip));
  ASSERT_EQ(info.status, 0) << info.err;
  EXPECT_TRUE(contains(info.out, "p99 of |x| after LAE (--act-clip)")) << info.out;
  EXPECT_FALSE(contains(fptq("info " + quoted(plain)).out, "--act-clip"));
  // Deterministic: the same run gives the same bytes.
  const std::string again = (dir / "c2.gguf").string();
  ASSERT_EQ(fptq("quantize " + stories() + kCalib + " --act-clip 99 -t 1 -o " + quoted(again)).status, 0);
  EXPECT_EQ(read_file(clip), read_file(again));
}

TEST(RepairCli, BadValuesGiveOneErrorAndNoOutput) {
  FPTQ_REQUIRE_CLI();
  testing::TempDir dir;
  const std::string out = (dir / "x.gguf").string();
  const std::pair<std::string, std::string> cases[] = {
      {" --auto-keep -0.5 -f " + wiki(), "--auto-keep -0.5: the budget must be"},
      {" --auto-keep-bpw -1 -f " + wiki(), "--auto-keep-bpw -1: the budget must be"},
      {" --act-clip 0", "--act-clip 0: the percentile must be in (0, 100]"},
      {" --act-clip 100.5", "--act-clip 100.5: the percentile must be in (0, 100]"},
      {" --act-clip 99 --scheme w4a8-dynamic", "scheme 'w4a8-dynamic' has no static activation points"},
      {" --act-clip 99 --scheme w4a16-rtn", "scheme 'w4a16-rtn' has no static activation points"},
      {" --auto-keep 0.1", "give -f/--eval-text TEXT"},
      {" --keep-as int4 --auto-keep 0.1 -f " + wiki(), "--keep-as"},
  };
  for (const auto& [args, msg] : cases) {
    const CliRun r = fptq("quantize " + stories() + kCalib + args + " -o " + quoted(out));
    EXPECT_NE(r.status, 0) << args;
    EXPECT_TRUE(contains(r.err, msg)) << args << "\n" << r.err;
    EXPECT_FALSE(std::filesystem::exists(out)) << args;
    EXPECT_FALSE(std::filesystem::exists(out + ".fptq-twin.gguf")) << args;
  }
}

}  // namespace
}  // namespace fptq

namespace fptq {
namespace {

using namespace clitest;

TEST(RepairCli, SensitivityKeepTableAsQ8) {
  FPTQ_REQUIRE_CLI();
  testing::TempDir dir;
  const std::string q = quoted((dir / "q.gguf").string());
  ASSERT_EQ(fptq("quantize " + stories() + kCalib + " -o " + q).status, 0);
  const CliRun s = fptq("sensitivity " + stories() + " -f " + wiki() + " --quantized " + q +
                        " -c 64 --chunks 2 -t 2 --keep-table 0,2 --random-draws 1 --keep-as q8_0");
  ASSERT_EQ(s.status, 0) << s.err;
  EXPECT_TRUE(contains(s.out, "| kept as Q8_0 |")) << s.out;
  EXPECT_TRUE(contains(s.out, "most sensitive | 2 |")) << s.out;
  EXPECT_TRUE(contains(s.out, "random (seed 1) | 2 |")) << s.out;
  EXPECT_TRUE(contains(s.err, "all-Q8_0 twin")) << s.err;
}

}  // namespace
}  // namespace fptq
