// Temporary files and folders that must not outlive the process, even when
// it dies of a signal: Ctrl-C / SIGTERM / SIGHUP (the command is abandoned) or
// SIGBUS (a mapped input was truncated or rewritten under us). The handlers
// installed by install_signal_cleanup() remove every registered path with
// async-signal-safe calls only, then:
//   SIGINT / SIGTERM / SIGHUP: re-raise with the default action (the usual
//     exit status of a killed process);
//   SIGBUS: print one line naming the cause and exit with status 1.
// A command that stops gracefully on SIGINT (StopOnSignal in cli/) replaces
// the SIGINT/SIGTERM handlers for its duration; its destructors clean up.
#pragma once

#include <string>

namespace fptq {

// Installs the handlers (once per process; later calls do nothing).
void install_signal_cleanup();

// Registers `path` (a file, or a folder and what it holds) for removal on a
// fatal signal for the object's lifetime. Up to kMaxCleanupPaths at once;
// beyond that, registration is skipped (the path is still removed by its
// owner's normal cleanup). Does not remove anything itself.
class SignalCleanup {
 public:
  static constexpr int kMaxCleanupPaths = 64;
  SignalCleanup() = default;
  explicit SignalCleanup(const std::string& path, bool is_dir);
  ~SignalCleanup();
  SignalCleanup(const SignalCleanup&) = delete;
  SignalCleanup& operator=(const SignalCleanup&) = delete;
  SignalCleanup(SignalCleanup&& o) noexcept : slot_(o.slot_) { o.slot_ = -1; }
  SignalCleanup& operator=(SignalCleanup&& o) noexcept;

 private:
  int slot_ = -1;
};

}  // namespace fptq
