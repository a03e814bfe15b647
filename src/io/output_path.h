// Checks on a path a command is about to write, made before any slow work:
// the output must not be one of the inputs (whatever the spelling: "./m",
// a symlink or a hard link to it, or a file inside an input model folder),
// must not be a directory, and its folder must exist.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace fptq::io {

// Throws fptq::Error with one line: "<what> '<out>' is the input model
// '<model>'" (or "is the input file '<f>'" for one of `other_inputs`, e.g.
// calibration texts or a stats file) "...: choose another path", "<what>
// '<out>' is a directory", or "<what> '<out>': folder '<dir>' does not
// exist". `what` names the option, e.g. "-o/--output". Empty paths (an
// option not given) are skipped.
// Also rejects an existing path that is not a regular file (a device, FIFO,
// socket: core/atomic_file.h) unless `append` (a log the command appends to,
// which may be /dev/stdout or a pipe and is never replaced).
void check_output_path(const std::string& out, std::string_view what, const std::string& model,
                       const std::vector<std::string>& other_inputs = {}, bool append = false);

// One output option of a command: its path and the option's name.
struct OutputOption {
  std::string path;
  std::string_view what;
};

// check_output_path for every output of one command, and no two of them may
// name the same file (whatever the spelling): "<what1> '<a>' and <what2>
// '<b>' are the same file: give each output its own path".
void check_output_paths(const std::vector<OutputOption>& outs, const std::string& model,
                        const std::vector<std::string>& other_inputs = {});

}  // namespace fptq::io
