#include "core/signal_cleanup.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstring>

namespace fptq {
namespace {

struct Slot {
  std::atomic<int> state{0};  // 0 free, 1 being written, 2 live
  bool is_dir = false;
  char path[PATH_MAX] = {};
};

Slot g_slots[SignalCleanup::kMaxCleanupPaths];
std::atomic<bool> g_installed{false};

// linux_dirent64 as the getdents64 system call fills it.
struct Dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

// Removes the entries of the folder open as `fd` (subfolders up to `depth`
// levels), system calls only.
void remove_entries(int fd, int depth) {
  alignas(8) char buf[2048];
  for (;;) {
    const long n = ::syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<Dirent64*>(buf + off);
      off += d->d_reclen;
      if (std::strcmp(d->d_name, ".") == 0 || std::strcmp(d->d_name, "..") == 0) continue;
      if (::unlinkat(fd, d->d_name, 0) == 0 || depth == 0) continue;
      const int sub = ::openat(fd, d->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0) continue;
      remove_entries(sub, depth - 1);
      ::close(sub);
      ::unlinkat(fd, d->d_name, AT_REMOVEDIR);
    }
  }
}

// Removes a folder and what it holds (at most 4 levels deep).
void remove_dir(const char* path) {
  const int fd = ::open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) {
    remove_entries(fd, 3);
    ::close(fd);
  }
  ::rmdir(path);
}

void remove_registered() {
  for (Slot& s : g_slots) {
    if (s.state.load(std::memory_order_acquire) != 2) continue;
    if (s.is_dir) {
      remove_dir(s.path);
    } else {
      ::unlink(s.path);
    }
  }
}

void write_err(const char* msg) {
  size_t len = std::strlen(msg);
  while (len > 0) {
    const ssize_t n = ::write(2, msg, len);
    if (n <= 0) return;
    msg += n;
    len -= size_t(n);
  }
}

extern "C" void on_fatal_signal(int sig) {
  remove_registered();
  if (sig == SIGBUS) {
    write_err(
        "\nfptq: error: an input file was truncated or changed while fptq was reading it "
        "(SIGBUS on a mapped page); the output was not written. Run again on an unchanged file.\n");
    ::_exit(1);
  }
  struct sigaction sa {};
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  ::sigaction(sig, &sa, nullptr);
  ::raise(sig);
}

}  // namespace

void install_signal_cleanup() {
  if (g_installed.exchange(true)) return;
  struct sigaction sa {};
  sa.sa_handler = on_fatal_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&sa.sa_mask, sig);
  sigaddset(&sa.sa_mask, SIGBUS);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGBUS}) ::sigaction(sig, &sa, nullptr);
}

SignalCleanup::SignalCleanup(const std::string& path, bool is_dir) {
  if (path.empty() || path.size() >= PATH_MAX) return;
  for (int i = 0; i < kMaxCleanupPaths; ++i) {
    int expected = 0;
    if (!g_slots[i].state.compare_exchange_strong(expected, 1)) continue;
    std::memcpy(g_slots[i].path, path.c_str(), path.size() + 1);
    g_slots[i].is_dir = is_dir;
    g_slots[i].state.store(2, std::memory_order_release);
    slot_ = i;
    return;
  }
}

SignalCleanup::~SignalCleanup() {
  if (slot_ >= 0) g_slots[slot_].state.store(0, std::memory_order_release);
}

SignalCleanup& SignalCleanup::operator=(SignalCleanup&& o) noexcept {
  if (this != &o) {
    if (slot_ >= 0) g_slots[slot_].state.store(0, std::memory_order_release);
    slot_ = o.slot_;
    o.slot_ = -1;
  }
  return *this;
}

}  // namespace fptq
