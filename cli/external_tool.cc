#include "cli/external_tool.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

extern char** environ;

namespace headevo::cli {
namespace {

namespace fs = std::filesystem;

bool IsExecutableFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

absl::StatusOr<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InternalError(absl::StrCat("cannot read ", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The last `max_chars` bytes of `text`, for error messages.
std::string Tail(const std::string& text, size_t max_chars) {
  if (text.size() <= max_chars) return text;
  return "..." + text.substr(text.size() - max_chars);
}

// Removes the scratch files however RunTool returns.
struct ScratchFiles {
  fs::path in, out, err;
  ~ScratchFiles() {
    std::error_code ignored;
    for (const fs::path& p : {in, out, err}) fs::remove(p, ignored);
  }
};

}  // namespace

absl::StatusOr<std::string> FindTool(const ExternalTool& tool) {
  if (tool.program.find('/') != std::string::npos) {
    if (IsExecutableFile(tool.program)) return tool.program;
  } else {
    const char* path = std::getenv("PATH");
    for (absl::string_view dir : absl::StrSplit(path != nullptr ? path : "/usr/bin:/bin", ':')) {
      const std::string candidate = absl::StrCat(dir.empty() ? "." : dir, "/", tool.program);
      if (IsExecutableFile(candidate)) return candidate;
    }
  }
  return absl::NotFoundError(absl::StrCat(tool.program,
                                          " not found in PATH: install the Debian package ",
                                          tool.package, " (apt-get install ", tool.package, ")"));
}

absl::StatusOr<std::string> RunTool(const ExternalTool& tool, const std::vector<std::string>& args,
                                    const std::string& input, const std::string& scratch_dir) {
  absl::StatusOr<std::string> path = FindTool(tool);
  if (!path.ok()) return path.status();
  const std::string stem = fs::path(tool.program).filename().string();
  ScratchFiles files{fs::path(scratch_dir) / (".headevo-" + stem + ".in"),
                     fs::path(scratch_dir) / (".headevo-" + stem + ".out"),
                     fs::path(scratch_dir) / (".headevo-" + stem + ".err")};
  {
    std::ofstream in(files.in, std::ios::binary | std::ios::trunc);
    in << input;
    if (!in.flush()) {
      return absl::PermissionDeniedError(absl::StrCat("cannot write ", files.in.string()));
    }
  }

  std::vector<std::string> argv_strings = {*path};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, files.in.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, files.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_addopen(&actions, 2, files.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    return absl::InternalError(absl::StrCat("cannot start ", *path, ": ", std::strerror(spawned)));
  }
  int wait_status = 0;
  while (waitpid(pid, &wait_status, 0) < 0) {
    if (errno != EINTR) {
      return absl::InternalError(
          absl::StrCat("waiting for ", tool.program, ": ", std::strerror(errno)));
    }
  }
  if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0) {
    absl::StatusOr<std::string> err = ReadFile(files.err);
    const std::string how = WIFEXITED(wait_status)
                                ? absl::StrCat("exit status ", WEXITSTATUS(wait_status))
                                : absl::StrCat("signal ", WTERMSIG(wait_status));
    return absl::InternalError(
        absl::StrCat(tool.program, " failed (", how, "): ", err.ok() ? Tail(*err, 600) : ""));
  }
  return ReadFile(files.out);
}

}  // namespace headevo::cli
