#include "core/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace fptq {

namespace {

const char* file_kind(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

}  // namespace

void require_replaceable(const std::string& path, std::string_view what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return;  // absent (or a dangling link): a new file
  if (S_ISREG(st.st_mode)) return;
  fail("{} '{}' is {}: fptq writes regular files only (it would replace it); choose a file path",
       what, path, file_kind(st.st_mode));
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  namespace fs = std::filesystem;
  if (path.empty()) fail("cannot write a file with an empty name");
  require_replaceable(path);
  const fs::path target(path);
  std::string name = target.filename().string();
  name.insert(0, 1, '.');
  name.append(".tmpXXXXXX");
  std::string tmpl = target.parent_path().empty() ? name : (target.parent_path() / name).string();
  const int fd = ::mkstemp(tmpl.data());
  if (fd < 0) fail("{}: cannot create a temporary file next to it: {}", path, std::strerror(errno));
  auto cleanup_fail = [&](const char* what) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmpl.c_str());
    fail("{}: {} failed: {}", path, what, std::strerror(err));
  };
  size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      cleanup_fail("write");
    }
    off += size_t(n);
  }
  // mkstemp creates 0600; give the file the usual permissions (umask applies).
  const mode_t mask = ::umask(0);
  ::umask(mask);
  if (::fchmod(fd, 0666 & ~mask) != 0) cleanup_fail("chmod");
  if (::fsync(fd) != 0) cleanup_fail("fsync");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmpl.c_str());
    fail("{}: close failed: {}", path, std::strerror(err));
  }
  try {
    require_replaceable(path);
  } catch (...) {
    ::unlink(tmpl.c_str());
    throw;
  }
  if (std::rename(tmpl.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmpl.c_str());
    fail("{}: rename failed: {}", path, std::strerror(err));
  }
}

}  // namespace fptq
