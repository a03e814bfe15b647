// A real Ctrl-C (SIGINT) or kill -9 during `fptq quantize` of a synthetic
// model: the previous output is untouched, nothing partial appears at the
// output path, and --resume finishes with the bytes of an uninterrupted run.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "cli_run.h"

namespace fptq::clitest {
namespace {

namespace fs = std::filesystem;

pid_t spawn(const std::vector<std::string>& args, const fs::path& err) {
  const pid_t pid = ::fork();
  if (pid == 0) {
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
    std::vector<std::string> a{bin, "quantize", model, "--calib", "random", "--samples", "2",
                               "--seqlen", "64", "--threads", "1", "-o", out.string()};
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

}  // namespace
}  // namespace fptq::clitest
