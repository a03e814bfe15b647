// check_output_path: an output that is an input under another spelling
// (./, symlink, hard link, a file of an input model folder), a directory, or
// in a missing folder is refused with a one-line message; a new path is fine.
#include "io/output_path.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "testing/testing.h"

namespace fptq::io {
namespace {
namespace fs = std::filesystem;

std::string error_of(const std::string& out, const std::string& model,
                     const std::vector<std::string>& others = {}) {
  try {
    check_output_path(out, "-o", model, others);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(OutputPath, RefusesTheInputUnderAnySpelling) {
  testing::TempDir d;
  const std::string m = (d / "m.gguf").string();
  std::ofstream(m) << "model";
  fs::create_symlink(m, d / "link.gguf");
  fs::create_hard_link(m, d / "hard.gguf");
  fs::create_directory(d / "hf");
  std::ofstream(d / "hf" / "config.json") << "{}";
  for (const std::string& out : {m, (d / "." / "m.gguf").string(), (d / "link.gguf").string(),
                                 (d / "hard.gguf").string(), (d / "hf" / ".." / "m.gguf").string()}) {
    EXPECT_EQ(error_of(out, m), "-o '" + out + "' is the input model '" + m + "': choose another path");
    EXPECT_EQ(error_of(out, "other.gguf", {"calib.txt", m}),
              "-o '" + out + "' is the input file '" + m + "': choose another path");
  }
  const std::string cfg = (d / "hf" / "config.json").string();
  EXPECT_EQ(error_of(cfg, (d / "hf").string()),
            "-o '" + cfg + "' is the input model '" + cfg + "': choose another path");
}

TEST(OutputPath, RefusesDirectoriesAndMissingFolders) {
  testing::TempDir d;
  EXPECT_EQ(error_of(d.path().string(), "m.gguf"), "-o '" + d.path().string() + "' is a directory");
  const std::string missing = (d / "nope" / "x.gguf").string();
  EXPECT_EQ(error_of(missing, "m.gguf"),
            "-o '" + missing + "': folder '" + (d / "nope").string() + "' does not exist");
  EXPECT_EQ(error_of((d / "new.gguf").string(), (d / "in.gguf").string(), {"random"}), "");
  EXPECT_EQ(error_of("", "x"), "");
  EXPECT_EQ(error_of("relative-new.gguf", "m.gguf"), "");
}

}  // namespace
}  // namespace fptq::io
