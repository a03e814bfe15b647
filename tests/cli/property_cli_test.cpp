// The hostile-option property suite: for every command, every option the
// command's --help lists (and the model path), generated hostile values:
// numbers 0, -1, NaN, ±Inf, 1e300, 2^31, 2^63, 2^64; paths "", a FIFO with no
// writer, a directory, a character device (root only: our own node of
// /dev/zero), a symlink to the input, the input itself, a read-only file
// system, a missing folder. Each case runs on stories260K with a minimal
// valid invocation around the one hostile option, under `ulimit -v 4000000`
// (4 GB) and a timeout, and must:
//   - end by exit, not by a signal (no crash, no allocator abort, no hang);
//   - when refused (non-zero), print one error line (fptq's or CLI11's),
//     create or change no file in the work folder;
//   - when accepted, change no input;
//   - leave nothing in TMPDIR.
// Prints every accepted case, and "[property] <command>: N cases, R refused,
// A accepted" per command.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "refusal.h"

namespace fptq {
namespace {

namespace fs = std::filesystem;
using clitest::contains;
using clitest::quoted;
using clitest::read_file;

// The address-space bound of every case (4 GB, in KiB for `ulimit -v`);
// none under AddressSanitizer, whose shadow memory reserves terabytes of
// address space (the sanitizer reports any overflow itself).
#if defined(__SANITIZE_ADDRESS__)
const std::string kAddressLimit = "";
#else
const std::string kAddressLimit = "ulimit -v 4000000 && ";
#endif

// Seconds a case may run: the valid ones finish in well under a second on
// stories260K; a case still running after this is a hang.
constexpr int kTimeoutSeconds = 60;

struct Option {
  std::string short_name, long_name;  // "-o" / "--output" ("" when absent)
  std::string type;                   // INT, UINT, FLOAT, TEXT ("" for a flag)
};

// The options a command's --help lists (not -h).
std::vector<Option> help_options(const std::string& command) {
  const clitest::CliRun r = clitest::fptq(command + " --help");
  std::vector<Option> out;
  static const std::regex line(R"(^  (?:(-\w),)?(--[\w-]+)(?: ((?:INT|UINT|FLOAT|TEXT)\b\S*))?)");
  std::istringstream in(r.out);
  std::string l;
  bool in_options = false;
  while (std::getline(in, l)) {
    if (l.rfind("Options:", 0) == 0) in_options = true;
    std::smatch m;
    if (!in_options || !std::regex_search(l, m, line) || m[2] == "--help") continue;
    const std::string t = m[3];
    out.push_back({m[1], m[2], t.substr(0, t.find_first_of(":= "))});
  }
  return out;
}

struct Command {
  std::string name;
  std::vector<std::string> positionals;                   // model first
  std::vector<std::pair<std::string, std::string>> base;  // option, value ("" = flag)
};

// Minimal valid invocations, each fast on stories260K.
std::vector<Command> commands() {
  const std::string mmlu = testing::shared_data("mmlu").string();
  const std::pair<std::string, std::string> calib[] = {
      {"--calib", "random"}, {"--samples", "2"}, {"--seqlen", "16"}};
  auto with_calib = [&](std::vector<std::pair<std::string, std::string>> b) {
    b.insert(b.end(), std::begin(calib), std::end(calib));
    return b;
  };
  return {
      {"info", {"model.gguf"}, {}},
      {"tokenize", {"model.gguf", "Once upon a time"}, {}},
      {"generate", {"model.gguf"}, {{"-p", "Once"}, {"-n", "4"}}},
      {"perplexity", {"model.gguf"}, {{"-f", "story.txt"}, {"-c", "16"}, {"-q", ""}}},
      {"calibrate", {"model.gguf"}, with_calib({{"-o", "out.json"}, {"-q", ""}})},
      {"quantize", {"model.gguf"}, with_calib({{"-o", "out.gguf"}, {"-q", ""}})},
      {"mmlu",
       {"model.gguf"},
       {{"--data", mmlu}, {"--limit", "1"}, {"--subjects", "anatomy"}, {"--shots", "0"}}},
      {"compare",
       {"model.gguf"},
       with_calib({{"-f", "story.txt"}, {"-c", "16"}, {"--schemes", "fptq"}})},
      {"bench",
       {"model.gguf"},
       {{"-p", "8"}, {"-n", "2"}, {"-r", "1"}, {"-t", "1"}, {"--warmup", "0"}}},
      {"report", {"model.gguf", "q.gguf"}, {{"-o", "r.html"}}},
      {"sensitivity",
       {"model.gguf"},
       {{"-f", "story.txt"}, {"--quantized", "q.gguf"}, {"--chunks", "1"}, {"-c", "16"}}},
  };
}

const std::vector<std::string> kNumbers = {"0",
                                           "-1",
                                           "nan",
                                           "inf",
                                           "-inf",
                                           "1e300",
                                           "2147483648",
                                           "9223372036854775808",
                                           "18446744073709551616"};

class PropertyCli : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    FPTQ_REQUIRE_CLI();
    FPTQ_REQUIRE_FILE(testing::shared_data("mmlu"));
    fs::copy_file(testing::shared_data("models/stories260K.gguf"), work_ / "model.gguf");
    std::ofstream(work_ / "story.txt")
        << "Once upon a time, there was a little girl named Lily. She loved to play outside in "
           "the park. One day, she saw a big red ball under a tree. She ran to the ball and "
           "kicked it high in the sky. Her friend Tom came to play with her, and they laughed.";
    const clitest::CliRun q =
        clitest::fptq("quantize " + quoted((work_ / "model.gguf").string()) + " --scheme fptq " +
                      clitest::kCalib + " -o " + quoted((work_ / "q.gguf").string()));
    ASSERT_EQ(q.status, 0) << q.err;
    fs::create_symlink("model.gguf", work_ / "link.gguf");
    fs::create_directory(work_ / "subdir");
    fs::create_directory(work_ / "tmp");
    ASSERT_EQ(::mkfifo((work_ / "fifo").c_str(), 0600), 0);
    paths_ = {"", "fifo", "subdir", "link.gguf", "model.gguf", "/proc/fptq-property", "nodir/x"};
    if (::geteuid() == 0 &&
        ::mknod((work_ / "chardev").c_str(), S_IFCHR | 0666, makedev(1, 5)) == 0)
      paths_.push_back("chardev");
    before_ = clitest::hashes(work_.path());
  }

  struct Outcome {
    bool ok = true;
    bool refused = false;
  };

  // Runs one case; reports every broken property as a test failure.
  Outcome run_case(const std::vector<std::string>& args) {
    std::string cmdline;
    for (const std::string& a : args) cmdline += " " + quoted(a);
    SCOPED_TRACE("fptq" + cmdline);
    const auto bin = testing::build_dir() / "bin" / "fptq";
    const std::string sh = "cd " + quoted(work_.path().string()) + " && " + kAddressLimit +
                           "TMPDIR=" + quoted((work_ / "tmp").string()) + " timeout -s KILL " +
                           std::to_string(kTimeoutSeconds) + " " + quoted(bin.string()) + cmdline +
                           " </dev/null >" + quoted((logs_ / "out").string()) + " 2>" +
                           quoted((logs_ / "err").string());
    const int raw = std::system(sh.c_str());
    const std::string err = read_file(logs_ / "err");
    Outcome o;
    const int status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    // timeout(1) exits 128 + signal when the command died of one (137: the
    // KILL of a hang).
    if (status < 0 || status >= 128) {
      ADD_FAILURE() << (status == 137 ? "hang (killed after the timeout)" : "ended by a signal")
                    << ", status " << status << "\n"
                    << err;
      o.ok = false;
    }
    if (contains(err, "internal error") || contains(err, "terminate called") ||
        contains(err, "AddressSanitizer") || contains(err, "runtime error:")) {
      ADD_FAILURE() << "internal failure on user input\n" << err;
      o.ok = false;
    }
    auto after = clitest::hashes(work_.path());
    if (status != 0) {
      o.refused = true;
      size_t lines = 0;
      std::istringstream in(err);
      for (std::string l; std::getline(in, l);)
        if (l.rfind("fptq: error: ", 0) == 0 || is_cli11_error(l)) ++lines;
      if (lines != 1) {
        ADD_FAILURE() << "expected one error line, got " << lines << "\n" << err;
        o.ok = false;
      }
      if (after != before_) {
        ADD_FAILURE() << "a refused command created or changed files\n" << err;
        o.ok = false;
      }
    } else {
      std::printf("[property] accepted: fptq%s\n", cmdline.c_str());
      for (const auto& [name, h] : before_) {
        const auto it = after.find(name);
        if (it == after.end() || it->second != h) {
          ADD_FAILURE() << "input '" << name << "' changed or removed\n" << err;
          o.ok = false;
        }
      }
    }
    std::error_code ec;
    if (fs::directory_iterator(work_ / "tmp", ec) != fs::directory_iterator()) {
      ADD_FAILURE() << "files left in TMPDIR\n" << err;
      o.ok = false;
    }
    restore();
    return o;
  }

  // CLI11's parse errors: "--opt: ...", "OPT: ..." or its fixed sentences.
  static bool is_cli11_error(const std::string& l) {
    return (l.rfind("--", 0) == 0 && contains(l, ":")) ||
           l.rfind("The following argument", 0) == 0 || l.rfind("Could not convert", 0) == 0 ||
           contains(l, " is required") || l.rfind("MODEL", 0) == 0 || l.rfind("-", 0) == 0;
  }

  // Puts the work folder back as SetUp left it (an accepted case may write
  // its outputs; a broken one anything).
  void restore() {
    std::vector<fs::path> extra;
    for (const auto& e : fs::recursive_directory_iterator(work_.path())) {
      const std::string rel = fs::relative(e.path(), work_.path()).string();
      if (!before_.count(rel)) extra.push_back(e.path());
    }
    std::error_code ec;
    for (const auto& p : extra) fs::remove_all(p, ec);
    if (clitest::hashes(work_.path()) != before_) {
      // A broken case changed an input: rebuild from scratch.
      TearDown();
      for (const auto& e : fs::directory_iterator(work_.path())) fs::remove_all(e.path(), ec);
      SetUp();
    }
  }

  testing::TempDir work_, logs_;
  std::vector<std::string> paths_;
  std::map<std::string, std::string> before_;
};

TEST_P(PropertyCli, HostileOptionValues) {
  const std::string name = GetParam();
  Command cmd;
  for (const Command& c : commands())
    if (c.name == name) cmd = c;
  ASSERT_EQ(cmd.name, name);
  const std::vector<Option> options = help_options(name);
  ASSERT_FALSE(options.empty() && name != "info") << "no options parsed from --help";
  int cases = 0, refused = 0, broken = 0;
  auto run = [&](const std::vector<std::string>& args) {
    const Outcome o = run_case(args);
    ++cases;
    refused += o.refused;
    broken += !o.ok;
  };
  auto base_without = [&](const Option& skip) {
    std::vector<std::string> args = {name};
    args.insert(args.end(), cmd.positionals.begin(), cmd.positionals.end());
    for (const auto& [opt, value] : cmd.base) {
      if (opt == skip.short_name || opt == skip.long_name) continue;
      args.push_back(opt);
      if (!value.empty()) args.push_back(value);
    }
    return args;
  };
  // The model path.
  for (const std::string& p : paths_) {
    std::vector<std::string> args = base_without({});
    args[1] = p;
    run(args);
  }
  for (const Option& o : options) {
    if (o.type.empty()) continue;  // a flag takes no value
    const std::string flag = o.long_name;
    for (const std::string& v : o.type == "TEXT" ? paths_ : kNumbers) {
      std::vector<std::string> args = base_without(o);
      args.push_back(flag);
      args.push_back(v);
      run(args);
    }
  }
  std::printf("[property] %s: %d cases, %d refused, %d accepted, %d broken\n", name.c_str(), cases,
              refused, cases - refused, broken);
}

INSTANTIATE_TEST_SUITE_P(EveryCommand, PropertyCli,
                         ::testing::Values("info", "tokenize", "generate", "perplexity",
                                           "calibrate", "quantize", "mmlu", "compare", "bench",
                                           "report", "sensitivity"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fptq
