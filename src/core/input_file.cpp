#include "core/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace fptq {

namespace {

// `text`: a NUL byte ends the read with an error as soon as it is seen (so
// /dev/zero fails on its first block, not after the bound).
std::string read_all(const std::string& path, std::string_view what, uint64_t max_bytes,
                     bool text) {
  if (path.empty()) fail("{}: no file name given", what);
  // O_NONBLOCK: opening a FIFO that has no writer returns at once (a plain
  // open would wait for one forever); reads are made blocking again below.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) fail("{} '{}': no such file", what, path);
    fail("{} '{}': cannot open for reading: {}", what, path, std::strerror(err));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail("{} '{}': cannot stat: {}", what, path, std::strerror(errno));
  if (S_ISDIR(st.st_mode)) fail("{} '{}' is a directory, not a file", what, path);
  if (S_ISREG(st.st_mode) && uint64_t(st.st_size) > max_bytes)
    fail("{} '{}' is {} bytes, larger than the {} byte limit", what, path, uint64_t(st.st_size),
         max_bytes);
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0)
    fail("{} '{}': cannot read: {}", what, path, std::strerror(errno));
  std::string s;
  if (S_ISREG(st.st_mode)) s.reserve(size_t(st.st_size));
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("{} '{}': read error: {}", what, path, std::strerror(errno));
    }
    if (text)
      if (const void* nul = std::memchr(buf, 0, size_t(n)))
        fail("{} '{}' is not a text file: it holds a NUL byte at offset {}", what, path,
             s.size() + size_t(static_cast<const char*>(nul) - buf));
    if (s.size() + size_t(n) > max_bytes)
      fail("{} '{}' holds more than the {} byte limit", what, path, max_bytes);
    s.append(buf, size_t(n));
  }
  return s;
}

}  // namespace

std::string read_input_file(const std::string& path, std::string_view what, uint64_t max_bytes) {
  return read_all(path, what, max_bytes, false);
}

std::string read_text_input(const std::string& path, std::string_view what, uint64_t max_bytes) {
  return read_all(path, what, max_bytes, true);
}

}  // namespace fptq
