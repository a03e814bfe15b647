#include "io/output_path.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "core/atomic_file.h"
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
                       const std::vector<std::string>& other_inputs, bool append) {
  if (out.empty()) return;
  const fs::path o(out);
  std::error_code ec;
  if (fs::is_directory(o, ec)) fail("{} '{}' is a directory", what, out);
  if (!append) require_replaceable(out, what);
  if (const std::string in = clash(o, model); !in.empty())
    fail("{} '{}' is the input model '{}': choose another path", what, out, in);
  for (const std::string& f : other_inputs) {
    if (const std::string in = clash(o, f); !in.empty())
      fail("{} '{}' is the input file '{}': choose another path", what, out, in);
  }
  const fs::path parent = o.parent_path().empty() ? fs::path(".") : o.parent_path();
  if (!fs::is_directory(parent, ec))
    fail("{} '{}': folder '{}' does not exist", what, out, parent.string());
  if (append) {
    // A FIFO nobody reads would block the open forever: refuse it now.
    struct stat st {};
    if (::stat(out.c_str(), &st) == 0 && S_ISFIFO(st.st_mode)) {
      const int fd = ::open(out.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd < 0) fail("{} '{}' is a FIFO that nobody reads", what, out);
      ::close(fd);
    }
    return;
  }
  // The folder must take a new file (the atomic write creates one there):
  // a read-only or pseudo file system fails here, before any work is done.
  std::string probe = (parent / ".fptq-probe-XXXXXX").string();
  const int fd = ::mkstemp(probe.data());
  if (fd < 0)
    fail("{} '{}': cannot create a file in folder '{}': {}", what, out, parent.string(),
         std::strerror(errno));
  ::close(fd);
  ::unlink(probe.c_str());
}

void check_output_paths(const std::vector<OutputOption>& outs, const std::string& model,
                        const std::vector<std::string>& other_inputs) {
  for (const OutputOption& o : outs) check_output_path(o.path, o.what, model, other_inputs);
  for (size_t i = 0; i < outs.size(); ++i)
    for (size_t j = i + 1; j < outs.size(); ++j) {
      const std::string &a = outs[i].path, &b = outs[j].path;
      if (a.empty() || b.empty()) continue;
      std::error_code ea, eb;
      const fs::path ca = fs::weakly_canonical(fs::absolute(a), ea);
      const fs::path cb = fs::weakly_canonical(fs::absolute(b), eb);
      if (same_file(a, b) || (!ea && !eb && ca == cb))
        fail("{} '{}' and {} '{}' are the same file: give each output its own path", outs[i].what,
             a, outs[j].what, b);
    }
}

}  // namespace fptq::io
