// Error handling for fptq.
//
// fptq::Error is the one error type for bad input (malformed files, bad
// options, unsupported models). It is thrown where the problem is found, with
// a one-line message naming the file / tensor / key and the numbers, and is
// turned into a message and a non-zero exit only in src/cli.
//
// FPTQ_CHECK is for internal invariants (programming errors): it prints the
// condition and location and aborts.
#pragma once

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <utility>

namespace fptq {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws fptq::Error with a fmt-formatted message.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

namespace detail {
[[noreturn]] inline void check_failed(const char* cond, const char* file, int line,
                                      const std::string& msg) {
  std::fprintf(stderr, "fptq: internal error: CHECK(%s) failed at %s:%d %s\n", cond, file, line,
               msg.c_str());
  std::abort();
}
}  // namespace detail

}  // namespace fptq

#define FPTQ_CHECK(cond)                                                      \
  do {                                                                        \
    if (!(cond)) ::fptq::detail::check_failed(#cond, __FILE__, __LINE__, ""); \
  } while (0)

#define FPTQ_CHECK_MSG(cond, ...)                                                   \
  do {                                                                              \
    if (!(cond))                                                                    \
      ::fptq::detail::check_failed(#cond, __FILE__, __LINE__, fmt::format(__VA_ARGS__)); \
  } while (0)
