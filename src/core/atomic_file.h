// Atomic replacement of a small file: the bytes go to a temporary file in the
// target's folder, which is flushed and renamed over the target, so readers
// see either the old file or the complete new one, never a partial write.
#pragma once

#include <string>
#include <string_view>

namespace fptq {

// Throws fptq::Error ("<what> '<path>' is a character device: fptq writes
// regular files only ...") when `path` exists and is not a regular file (or a
// symlink to one): a device, FIFO, socket or directory must never be replaced
// by a rename. Every atomic writer calls it right before its rename; commands
// call it (through io::check_output_path) before any slow work.
void require_replaceable(const std::string& path, std::string_view what = "output");

// Throws fptq::Error naming `path` on any failure (the temporary is removed
// and an existing target is left untouched).
void write_file_atomic(const std::string& path, std::string_view bytes);

}  // namespace fptq
