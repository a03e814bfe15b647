#include "io/output_path.h"

#include <filesystem>
#include <system_error>

#include "core/error.h"

namespace fptq::io {
namespace fs = std::filesystem;

namespace {

// True when a and b name the same existing file (same device and inode).
bool same_file(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  const bool eq = fs::equivalent(a, b, ec);
  return !ec && eq;
}

// The input `in` (a file, or a model folder and the files in it) that `out`
// names, or "" when none.
std::string clash(const fs::path& out, const std::string& in) {
  if (in.empty()) return "";
  if (same_file(out, in)) return in;
  std::error_code ec;
  if (fs::is_directory(in, ec)) {
    for (const auto& e : fs::directory_iterator(in, ec))
      if (same_file(out, e.path())) return e.path().string();
  }
  return "";
}

}  // namespace

void check_output_path(const std::string& out, std::string_view what, const std::string& model,
                       const std::vector<std::string>& other_inputs) {
  if (out.empty()) return;
  const fs::path o(out);
  std::error_code ec;
  if (fs::is_directory(o, ec)) fail("{} '{}' is a directory", what, out);
  if (const std::string in = clash(o, model); !in.empty())
    fail("{} '{}' is the input model '{}': choose another path", what, out, in);
  for (const std::string& f : other_inputs) {
    if (const std::string in = clash(o, f); !in.empty())
      fail("{} '{}' is the input file '{}': choose another path", what, out, in);
  }
  const fs::path parent = o.parent_path().empty() ? fs::path(".") : o.parent_path();
  if (!fs::is_directory(parent, ec))
    fail("{} '{}': folder '{}' does not exist", what, out, parent.string());
}

}  // namespace fptq::io
