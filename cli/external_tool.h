// Running a plotting program (gnuplot, Graphviz's dot) as a child process: text in on stdin,
// text out from stdout. The report command draws its figures this way instead of writing SVG
// by hand, so the figures get those tools' axes, legends and layout.
//
// Thread-compatible: no shared state, but `scratch_dir` files are named after the tool, so two
// concurrent calls must not share a scratch directory.
#ifndef HEADEVO_CLI_EXTERNAL_TOOL_H_
#define HEADEVO_CLI_EXTERNAL_TOOL_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace headevo::cli {

// A program the report needs, and the Debian package that provides it (for the error message).
struct ExternalTool {
  std::string program;  // "gnuplot": a name looked up in $PATH, or a path
  std::string package;  // "gnuplot-nox"
};

// The program's path, found as execvp would. NotFound when it is absent, with a message naming
// the program and the package to install: "gnuplot not found in PATH: install the Debian
// package gnuplot-nox (apt-get install gnuplot-nox)".
absl::StatusOr<std::string> FindTool(const ExternalTool& tool);

// Runs `tool` with `args`, feeding `input` on stdin, and returns what it wrote to stdout.
// stdin, stdout and stderr go through files in `scratch_dir` (which must exist and be writable;
// the files are removed afterwards), so a large output can never deadlock a pipe.
// Errors: NotFound as FindTool; Internal naming the program, its exit status and the end of its
// stderr when it fails or dies; the I/O error when the scratch files cannot be written.
absl::StatusOr<std::string> RunTool(const ExternalTool& tool, const std::vector<std::string>& args,
                                    const std::string& input, const std::string& scratch_dir);

}  // namespace headevo::cli

#endif  // HEADEVO_CLI_EXTERNAL_TOOL_H_
