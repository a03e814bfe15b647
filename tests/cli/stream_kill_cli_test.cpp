// A real Ctrl-C (SIGINT) or kill -9 during `fptq quantize` of a synthetic
// model: the previous output is untouched, nothing partial appears at the
// output path, and --resume finishes with the bytes of an uninterrupted run.
// The chaos tests go further: kill -9 at random moments again and again
// (each --resume killed in turn), the disk full (RLIMIT_FSIZE) at two sizes,
// and the input replaced while it is read. Each run ends in a clear error or
// a correct resume, never a wrong file.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cli_run.h"

namespace fptq::clitest {
namespace {

namespace fs = std::filesystem;

// `file_limit` > 0: the child's RLIMIT_FSIZE in bytes, with SIGXFSZ ignored,
// so that writing past it fails with EFBIG as on a full disk.
pid_t spawn(const std::vector<std::string>& args, const fs::path& err, rlim_t file_limit = 0) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (file_limit > 0) {
      ::signal(SIGXFSZ, SIG_IGN);
      const struct rlimit lim = {file_limit, file_limit};
      if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) ::_exit(125);
    }
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    if (!::freopen("/dev/null", "w", stdout) || !::freopen(err.c_str(), "w", stderr)) ::_exit(126);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

int wait_status(pid_t pid, bool* signaled = nullptr) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (signaled) *signaled = WIFSIGNALED(status);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int fptq_status(const std::vector<std::string>& args) {
  return wait_status(spawn(args, "/dev/null"));
}

// Waits until the run has committed at least one block (state.json exists).
bool wait_for_state(const fs::path& state, pid_t pid) {
  for (int i = 0; i < 6000; ++i) {
    if (fs::exists(state)) return true;
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return false;  // finished first
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(StreamKill, SigintAndSigkillThenResume) {
  FPTQ_REQUIRE_CLI();
  const fs::path synth = testing::build_dir() / "bin" / "fptq-synth-llama";
  if (!fs::exists(synth)) GTEST_SKIP() << "fptq-synth-llama not built";
  const std::string bin = (testing::build_dir() / "bin" / "fptq").string();
  testing::TempDir dir;
  const std::string model = (dir / "m.gguf").string();
  ASSERT_EQ(fptq_status({synth.string(), "-o", model, "--layers", "6", "--dim", "256", "--ffn",
                         "704", "--heads", "8", "--vocab", "512"}),
            0);
  auto args = [&](const fs::path& out, bool resume) {
    std::vector<std::string> a{bin,         "quantize", model,       "--calib", "random",
                               "--samples", "2",        "--seqlen",  "64",      "--threads",
                               "1",         "-o",       out.string()};
    if (resume) a.push_back("--resume");
    return a;
  };
  const fs::path ref = dir / "ref.gguf";
  ASSERT_EQ(wait_status(spawn(args(ref, false), dir / "ref.err")), 0) << read_file(dir / "ref.err");
  const std::string want = read_file(ref);

  for (int sig : {SIGINT, SIGKILL}) {
    SCOPED_TRACE(sig);
    const fs::path out = dir / "out.gguf";
    { std::ofstream(out, std::ios::binary) << "previous"; }
    const pid_t pid = spawn(args(out, false), dir / "run.err");
    if (!wait_for_state(dir / "out.gguf.fptq-partial" / "state.json", pid)) {
      wait_status(pid);
      GTEST_SKIP() << "the run finished before it could be interrupted";
    }
    ::kill(pid, sig);
    bool signaled = false;
    const int st = wait_status(pid, &signaled);
    if (sig == SIGINT) {
      EXPECT_EQ(st, 1);
      EXPECT_TRUE(contains(read_file(dir / "run.err"), "--resume")) << read_file(dir / "run.err");
    } else {
      EXPECT_TRUE(signaled);
    }
    EXPECT_EQ(read_file(out), "previous");
    for (const auto& e : fs::directory_iterator(dir.path()))  // nothing partial next to it
      EXPECT_TRUE(e.path().filename().string().find(".tmp") == std::string::npos) << e.path();
    ASSERT_EQ(wait_status(spawn(args(out, true), dir / "resume.err")), 0)
        << read_file(dir / "resume.err");
    EXPECT_TRUE(contains(read_file(dir / "resume.err"), "resuming from"))
        << read_file(dir / "resume.err");
    EXPECT_TRUE(read_file(out) == want);
    EXPECT_FALSE(fs::exists(dir / "out.gguf.fptq-partial"));
  }
}

// A 4-layer synthetic model whose default quantization takes a few seconds,
// the command for it, and the bytes of an uninterrupted run.
class StreamChaos : public ::testing::Test {
 protected:
  void SetUp() override {
    FPTQ_REQUIRE_CLI();
    const fs::path synth = testing::build_dir() / "bin" / "fptq-synth-llama";
    if (!fs::exists(synth)) GTEST_SKIP() << "fptq-synth-llama not built";
    ASSERT_EQ(fptq_status({synth.string(), "-o", model_.string(), "--layers", "4", "--dim", "256",
                           "--ffn", "768", "--heads", "4", "--vocab", "1024"}),
              0);
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(wait_status(spawn(args(dir_ / "ref.gguf", false), dir_ / "ref.err")), 0)
        << read_file(dir_ / "ref.err");
    run_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    want_ = read_file(dir_ / "ref.gguf");
    ASSERT_FALSE(want_.empty());
  }

  std::vector<std::string> args(const fs::path& out, bool resume) const {
    std::vector<std::string> a{bin_,        "quantize", model_.string(), "--calib", "random",
                               "--samples", "2",        "--seqlen",      "64",      "--threads",
                               "1",         "-o",       out.string()};
    if (resume) a.push_back("--resume");
    return a;
  }

  // Only the expected files are left in the folder: the inputs, the
  // reference, logs, and `out` (when given).
  void expect_only_inputs_and(const std::string& out) const {
    for (const auto& e : fs::directory_iterator(dir_.path())) {
      const std::string name = e.path().filename().string();
      const bool expected = name == "m.gguf" || name == "other.gguf" || name == "ref.gguf" ||
                            name.ends_with(".err") || name == out;
      EXPECT_TRUE(expected) << "left behind: " << e.path();
    }
  }

  testing::TempDir dir_;
  const fs::path model_ = dir_ / "m.gguf";
  const std::string bin_ = (testing::build_dir() / "bin" / "fptq").string();
  double run_seconds_ = 0;
  std::string want_;
};

// kill -9 at seeded random moments of each run, the next run resuming what
// the last one left: the output never appears before the last run finishes,
// and then it has the bytes of the uninterrupted run.
TEST_F(StreamChaos, SigkillAtRandomMomentsThenResume) {
  const fs::path out = dir_ / "out.gguf";
  std::mt19937 rng(20261203);
  std::uniform_real_distribution<double> at(0.02, 0.9);
  int kills = 0, resumes = 0;
  for (int round = 0; round < 8; ++round) {
    const double delay = at(rng) * run_seconds_;
    const pid_t pid = spawn(args(out, round > 0), dir_ / "run.err");
    std::this_thread::sleep_for(std::chrono::duration<double>(delay));
    ::kill(pid, SIGKILL);
    bool signaled = false;
    const int st = wait_status(pid, &signaled);
    const std::string err = read_file(dir_ / "run.err");
    if (!signaled) {  // finished before the kill: it must have succeeded
      ASSERT_EQ(st, 0) << err;
      break;
    }
    ++kills;
    if (contains(err, "resuming from")) ++resumes;
    EXPECT_FALSE(fs::exists(out)) << "an output appeared from a killed run (round " << round << ")";
  }
  if (!fs::exists(out)) {
    ASSERT_EQ(wait_status(spawn(args(out, true), dir_ / "last.err")), 0)
        << read_file(dir_ / "last.err");
  }
  std::printf("%d kill(s), %d of them in resumed runs\n", kills, resumes);
  EXPECT_GE(kills, 1);
  EXPECT_TRUE(read_file(out) == want_) << "the resumed output differs from the uninterrupted run";
  EXPECT_FALSE(fs::exists(dir_ / "out.gguf.fptq-partial"));
  expect_only_inputs_and("out.gguf");
}

// A full disk (writes beyond RLIMIT_FSIZE fail with EFBIG), early (the first
// saved block) and late (the weights): exit 1 with one line naming the file
// and the cause, no output; once there is room, --resume finishes with the
// bytes of the uninterrupted run.
TEST_F(StreamChaos, DiskFullThenResume) {
  for (rlim_t limit : {rlim_t(4096), rlim_t(want_.size() * 3 / 4)}) {
    SCOPED_TRACE("file size limit " + std::to_string(limit));
    const fs::path out = dir_ / "out.gguf";
    fs::remove_all(dir_ / "out.gguf.fptq-partial");
    const int st = wait_status(spawn(args(out, false), dir_ / "full.err", limit));
    const std::string err = read_file(dir_ / "full.err");
    EXPECT_EQ(st, 1) << err;
    EXPECT_TRUE(contains(err, "fptq: error: ") && contains(err, "File too large")) << err;
    EXPECT_FALSE(fs::exists(out));
    ASSERT_EQ(wait_status(spawn(args(out, true), dir_ / "resume.err")), 0)
        << read_file(dir_ / "resume.err");
    EXPECT_TRUE(read_file(out) == want_);
    EXPECT_FALSE(fs::exists(dir_ / "out.gguf.fptq-partial"));
    expect_only_inputs_and("out.gguf");
    fs::remove(out);
  }
}

// The input replaced (another model renamed over its path) while quantize
// reads it: the run keeps reading the file it opened, so the output is the
// original model's; a --resume of a run interrupted before the swap refuses
// the new file.
TEST_F(StreamChaos, InputReplacedWhileQuantizing) {
  const fs::path synth = testing::build_dir() / "bin" / "fptq-synth-llama";
  ASSERT_EQ(
      fptq_status({synth.string(), "-o", (dir_ / "other.gguf").string(), "--layers", "4", "--dim",
                   "256", "--ffn", "768", "--heads", "4", "--vocab", "1024", "--seed", "7"}),
      0);
  const std::string other = read_file(dir_ / "other.gguf");
  ASSERT_NE(other, read_file(model_));
  const std::string original = read_file(model_);
  const fs::path out = dir_ / "out.gguf";
  const pid_t pid = spawn(args(out, false), dir_ / "run.err");
  ASSERT_TRUE(wait_for_state(dir_ / "out.gguf.fptq-partial" / "state.json", pid))
      << read_file(dir_ / "run.err");
  {
    std::ofstream(dir_ / "swap.tmp", std::ios::binary) << other;
    fs::rename(dir_ / "swap.tmp", model_);
  }
  ASSERT_EQ(wait_status(pid), 0) << read_file(dir_ / "run.err");
  EXPECT_TRUE(read_file(out) == want_) << "the output mixes the two models";
  fs::remove(out);

  // Interrupted with the original input, resumed with the other one.
  { std::ofstream(model_, std::ios::binary | std::ios::trunc) << original; }
  const pid_t pid2 = spawn(args(out, false), dir_ / "run2.err");
  ASSERT_TRUE(wait_for_state(dir_ / "out.gguf.fptq-partial" / "state.json", pid2));
  ::kill(pid2, SIGKILL);
  wait_status(pid2);
  {
    std::ofstream(dir_ / "swap.tmp", std::ios::binary) << other;
    fs::rename(dir_ / "swap.tmp", model_);
  }
  const int st = wait_status(spawn(args(out, true), dir_ / "resume.err"));
  const std::string err = read_file(dir_ / "resume.err");
  EXPECT_EQ(st, 1) << err;
  EXPECT_TRUE(contains(err, "is from another input, options or calibration data")) << err;
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace fptq::clitest
