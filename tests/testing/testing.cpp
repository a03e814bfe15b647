#include "testing/testing.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>

namespace fptq::testing {
namespace fs = std::filesystem;

static fs::path env_or(const char* name, const fs::path& dflt) {
  const char* v = std::getenv(name);
  return v && *v ? fs::path(v) : dflt;
}

fs::path source_dir() { return env_or("FPTQ_SOURCE_DIR", FPTQ_DEFAULT_SOURCE_DIR); }
fs::path build_dir() { return env_or("FPTQ_BUILD_DIR", FPTQ_DEFAULT_BUILD_DIR); }
fs::path shared_dir() { return env_or("FPTQ_SHARED_DIR", FPTQ_DEFAULT_SHARED_DIR); }
fs::path shared_data(const std::string& rel) { return shared_dir() / "data" / rel; }
fs::path models_dir() { return env_or("FPTQ_MODELS_DIR", FPTQ_DEFAULT_MODELS_DIR); }
fs::path smollm2_path() {
  fs::path p = models_dir() / "SmolLM2-135M-Instruct.Q4_1.gguf";
  return fs::exists(p) ? p : fs::path();
}

int run_python_tool(const std::string& script, const std::string& args, const fs::path& log,
                    std::string* why) {
  const fs::path path = source_dir() / script;
  const std::string cmd =
      "python3 '" + path.string() + "' " + args + " > '" + log.string() + "' 2>&1";
  const int rc = std::system(cmd.c_str());
  const int status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  if (status == 0) return 0;
  std::ifstream in(log);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  *why = (status == 77 || status == 127
              ? "python3 or a package it needs is unavailable: "
              : script + " failed (status " + std::to_string(status) + "): ") +
         text;
  return status;
}

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  fs::path base = fs::temp_directory_path();
  for (;;) {
    path_ = base / ("fptq-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    if (fs::create_directory(path_)) break;
  }
}
TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

}  // namespace fptq::testing
