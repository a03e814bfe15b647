// Reading a whole input file (a text, a JSON or CSV file, a stats or KL-base
// file) with the checks every input needs: a directory is named as one, a
// FIFO without a writer reads as empty instead of blocking forever, a pipe
// with a writer (`-f <(zcat wiki.gz)`) still streams, and nothing larger
// than `max_bytes` is read (a regular file is measured before reading; a
// pipe or a device such as /dev/zero is stopped at the bound). Every failure
// is an fptq::Error naming the file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace fptq {

// The bound on a text input (calibration text, evaluation text, prompt
// file): 1 GiB, twice WikiText-103's training split.
inline constexpr uint64_t kMaxTextBytes = uint64_t(1) << 30;

// The contents of `path`; `what` names it in messages ("calibration text").
std::string read_input_file(const std::string& path, std::string_view what, uint64_t max_bytes);

// A text input (at most kMaxTextBytes): as read_input_file, and a NUL byte
// is refused as "not a text file" (a model or other binary given as text,
// or a device such as /dev/zero).
std::string read_text_input(const std::string& path, std::string_view what,
                            uint64_t max_bytes = kMaxTextBytes);

}  // namespace fptq
