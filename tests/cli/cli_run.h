// Running build/bin/fptq from the CLI tests: status, stdout and stderr of one
// invocation, plus the shared paths the tests pass to it.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "testing/testing.h"

namespace fptq::clitest {

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Single-quotes an argument for /bin/sh.
inline std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct CliRun {
  int status = -1;
  std::string out, err;
};

// Runs bin/fptq with `args`; `env` (for example "FPTQ_ISA=ref") is set for
// that one process when not empty.
inline CliRun fptq(const std::string& args, const std::string& env = "") {
  testing::TempDir dir;
  const auto bin = testing::build_dir() / "bin" / "fptq";
  const std::string cmd = (env.empty() ? "" : "env " + env + " ") + quoted(bin.string()) + " " + args + " >" +
                          quoted((dir / "out").string()) + " 2>" + quoted((dir / "err").string());
  const int raw = std::system(cmd.c_str());
  CliRun r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = read_file(dir / "out");
  r.err = read_file(dir / "err");
  return r;
}

inline bool contains(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}

inline std::string stories() {
  return quoted(testing::shared_data("models/stories260K.gguf").string());
}
inline std::string wiki() {
  return quoted(testing::shared_data("text/wikitext-2-raw-test.txt").string());
}

}  // namespace fptq::clitest

#define FPTQ_REQUIRE_CLI()                                                                    \
  do {                                                                                        \
    if (!std::filesystem::exists(fptq::testing::build_dir() / "bin" / "fptq"))                \
      GTEST_SKIP() << "bin/fptq not built";                                                   \
    FPTQ_REQUIRE_FILE(fptq::testing::shared_data("models/stories260K.gguf"));                 \
  } while (0)
