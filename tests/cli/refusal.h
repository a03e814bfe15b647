// The refusal harness of the CLI tests that feed fptq hostile input: copies
// of stories260K with edited metadata or tensors, a work folder whose every
// file is hashed before and after a run, and expect_refused(): the run exits
// non-zero (not by a signal) with exactly one error line naming the problem
// and creates or changes no file. Each case prints "[bad-input] <case> ->
// <message>" (the table of the issues' notes).
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cli_run.h"
#include "core/sha256.h"
#include "io/gguf_reader.h"
#include "io/gguf_writer.h"

namespace fptq::clitest {

namespace fs = std::filesystem;

// The smallest calibration the commands accept, for cases refused before it.
inline const std::string kCalib = "--calib random --samples 2 --seqlen 16 -q";

// A copy of stories260K with edits: `md` may change any KV value, `tensor`
// any tensor's type and bytes (ne stays).
using MdEdit = std::function<void(const std::string& key, io::Value& v)>;
using TensorEdit =
    std::function<void(const std::string& name, io::GgmlType& type, std::vector<uint8_t>& bytes)>;

// `extra` keys are added after the file's own.
inline void write_variant(const fs::path& dst, const MdEdit& md, const TensorEdit& tensor,
                          const std::vector<std::pair<std::string, io::Value>>& extra = {}) {
  const auto src = io::read_gguf(testing::shared_data("models/stories260K.gguf").string());
  io::GgufWriter w(src->alignment);
  for (const auto& [key, value] : src->metadata.items()) {
    if (key == "general.alignment") continue;  // mirrored by the writer
    io::Value v = value;
    if (md) md(key, v);
    w.add(key, v);
  }
  for (const auto& [key, value] : extra) w.add(key, value);
  for (const io::TensorInfo& t : src->tensors) {
    io::GgmlType type = t.type;
    std::vector<uint8_t> bytes(t.data, t.data + t.nbytes);
    if (tensor) tensor(t.name, type, bytes);
    w.add_tensor(t.name, type, t.ne, std::move(bytes));
  }
  w.write(dst.string());
}

inline void set_f32(std::vector<uint8_t>& bytes, size_t i, float v) {
  std::memcpy(&bytes[4 * i], &v, 4);
}

// Every file and folder under `dir` with its sha256, except the resume state
// of the streaming pipeline (<output>.fptq-partial/, kept on failure so that
// --resume can continue; see quant/stream_quantize.h).
inline std::map<std::string, std::string> hashes(const fs::path& dir) {
  std::map<std::string, std::string> h;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string rel = fs::relative(e.path(), dir).string();
    const std::string top = rel.substr(0, rel.find('/'));
    if (top.size() > 13 && top.compare(top.size() - 13, 13, ".fptq-partial") == 0) continue;
    // Only regular files are read (a FIFO would block); the others by kind.
    h[rel] = e.is_symlink()          ? "link"
             : e.is_regular_file()   ? sha256_hex(read_file(e.path()))
             : e.is_directory()      ? "dir"
             : e.is_fifo()           ? "fifo"
             : e.is_character_file() ? "char"
             : e.is_socket()         ? "socket"
                                     : "other";
  }
  return h;
}

struct Case {
  std::string name;         // what is wrong, for the report
  std::string args;         // fptq arguments (run in the work folder)
  std::string message;      // must appear in the error line
  std::string prefix = {};  // shell prefix, e.g. "ulimit -f 64;"
};

class RefusalCli : public ::testing::Test {
 protected:
  void SetUp() override {
    FPTQ_REQUIRE_CLI();
    const fs::path stories = testing::shared_data("models/stories260K.gguf");
    fs::copy_file(stories, work_ / "model.gguf");
    fs::create_symlink("model.gguf", work_ / "link.gguf");
    fs::create_hard_link(work_ / "model.gguf", work_ / "hard.gguf");
    fs::create_directory(work_ / "subdir");
    std::ofstream(work_ / "empty.txt");
    std::ofstream(work_ / "short.txt") << "Once upon a time.";
    std::ofstream(work_ / "story.txt")
        << "Once upon a time, there was a little girl named Lily. She loved to play outside in "
           "the park. One day, she saw a big red ball under a tree. She ran to the ball and "
           "kicked it high in the sky. Her friend Tom came to play with her, and they laughed.";
  }

  CliRun run(const Case& c) {
    const auto bin = testing::build_dir() / "bin" / "fptq";
    const std::string cmd = "cd " + quoted(work_.path().string()) + " && " + c.prefix + " " +
                            quoted(bin.string()) + " " + c.args + " >" +
                            quoted((logs_ / "out").string()) + " 2>" +
                            quoted((logs_ / "err").string());
    const int raw = std::system(cmd.c_str());
    CliRun r;
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    r.out = read_file(logs_ / "out");
    r.err = read_file(logs_ / "err");
    return r;
  }

  // The case is refused: non-zero exit (not a signal), an error line naming
  // the problem, no file created or changed in the work folder.
  void expect_refused(const Case& c) {
    SCOPED_TRACE(c.name + ": fptq " + c.args);
    const auto before = hashes(work_.path());
    const CliRun r = run(c);
    EXPECT_GT(r.status, 0) << "exit status (-1: killed by a signal)\n" << r.err;
    EXPECT_FALSE(clitest::contains(r.err, "AddressSanitizer") ||
                 clitest::contains(r.err, "runtime error:"))
        << "sanitizer report\n"
        << r.err;
    EXPECT_NE(r.status, 0);
    // The error line: fptq's "fptq: error: ..." or CLI11's "--option: ...".
    std::string line;
    size_t lines = 0;
    for (size_t pos = 0; pos < r.err.size();) {
      size_t nl = r.err.find('\n', pos);
      if (nl == std::string::npos) nl = r.err.size();
      const std::string l = r.err.substr(pos, nl - pos);
      if (l.rfind("fptq: error: ", 0) == 0 ||
          (l.rfind("--", 0) == 0 && clitest::contains(l, ":"))) {
        line = l;
        ++lines;
      }
      pos = nl + 1;
    }
    EXPECT_EQ(lines, 1u) << r.err;
    EXPECT_TRUE(clitest::contains(line, c.message)) << "expected '" << c.message << "' in:\n"
                                                    << r.err;
    EXPECT_EQ(hashes(work_.path()), before) << "files created or changed\n" << r.err;
    std::printf("[bad-input] %s -> %s\n", c.name.c_str(), line.c_str());
  }

  testing::TempDir work_, logs_;
};

}  // namespace fptq::clitest
