// Helpers shared by the tests: where data lives, temporary folders.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace fptq::testing {

// ../shared (FPTQ_SHARED_DIR); shared/data/... paths are built from it.
std::filesystem::path shared_dir();
std::filesystem::path shared_data(const std::string& rel);  // shared_dir()/data/rel
// models/ (FPTQ_MODELS_DIR), where scripts/fetch_model.sh puts SmolLM2.
std::filesystem::path models_dir();
// The SmolLM2 GGUF, or an empty path if it has not been fetched.
std::filesystem::path smollm2_path();
// The build folder (FPTQ_BUILD_DIR): bin/fptq lives there.
std::filesystem::path build_dir();
std::filesystem::path source_dir();

// Runs `python3 SOURCE_DIR/script args` with its output in `log`. 0 when it
// succeeded; otherwise its exit status, and *why says what happened: 77 or
// 127 mean python3 or a package the script imports is missing (callers skip),
// anything else is a failure of the script.
int run_python_tool(const std::string& script, const std::string& args,
                    const std::filesystem::path& log, std::string* why);

// A fresh empty folder under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace fptq::testing

// Skips the current test when a data file is absent (a user's machine without
// ../shared); CI always has it.
#define FPTQ_REQUIRE_FILE(p)                                            \
  do {                                                                  \
    if (!std::filesystem::exists(p)) GTEST_SKIP() << "missing " << (p); \
  } while (0)
