// Child processes for the multi-process tests (tests/cli/cluster_test.cc, netns_test.cc): a
// long-running child whose stdout and stderr go to a log file, a command run to completion
// with its output captured, a free loopback port and a bounded poll.
//
// A command line is argv: argv[0] is a path or a name looked up in PATH. To run a command in
// another context, put the wrapper first: Prefixed({"ip", "netns", "exec", "ns1"}, {binary,
// "serve"}) runs `ip netns exec ns1 BINARY serve`, and since `ip netns exec` execs the command
// in its own process, the child's pid is the command's (signals reach it directly).
//
// Not thread-safe: use each object from one thread. fork() here is followed at once by exec in
// the child, so it is safe in a test process that has threads.
#ifndef HEADEVO_TESTS_TESTUTIL_CHILD_PROCESS_H_
#define HEADEVO_TESTS_TESTUTIL_CHILD_PROCESS_H_

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace headevo::testing {

// The whole file, or "" when it cannot be read.
inline std::string Slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A port nothing listens on now on 127.0.0.1 (the kernel's pick), so a restarted coordinator
// can take the same address its workers know.
inline int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t size = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  close(fd);
  return ntohs(address.sin_port);
}

// Polls `done` every 20 ms for up to `timeout`; whether it became true (asked once more at
// the end, so a slow poll still gets its last look).
inline bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

// `prefix` then `command`.
inline std::vector<std::string> Prefixed(std::vector<std::string> prefix,
                                         const std::vector<std::string>& command) {
  prefix.insert(prefix.end(), command.begin(), command.end());
  return prefix;
}

namespace internal {

// argv as execvp() takes it, pointing into `argv` (which must outlive the result). Built
// before fork(), so the child allocates nothing (another thread may hold malloc's lock).
inline std::vector<char*> ExecArgs(std::vector<std::string>& argv) {
  std::vector<char*> pointers;
  for (std::string& a : argv) pointers.push_back(a.data());
  pointers.push_back(nullptr);
  return pointers;
}

// In the child after fork(): exec, or say why not and exit 127 (the shell's "not found").
[[noreturn]] inline void ExecOrExit(const std::vector<char*>& pointers) {
  execvp(pointers[0], pointers.data());
  static const char kMessage[] = "exec failed: cannot execute the command\n";
  (void)!write(2, kMessage, sizeof(kMessage) - 1);
  _exit(127);
}

// The exit code of a waitpid() status; 128 + N for death by signal N (as the shell says).
inline int ExitCode(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace internal

// Runs argv to completion, stdout and stderr together into `*output` (when not null). Returns
// its exit code (127 when it cannot be executed), or -1 when it ran past `timeout` (it is then
// killed with SIGKILL).
inline int RunCommand(std::vector<std::string> argv, std::string* output = nullptr,
                      std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  const std::vector<char*> exec_args = internal::ExecArgs(argv);
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return -1;
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(pipe_fds[1], 1);
    dup2(pipe_fds[1], 2);
    internal::ExecOrExit(exec_args);
  }
  close(pipe_fds[1]);
  std::string text;
  const auto end = std::chrono::steady_clock::now() + timeout;
  bool timed_out = pid < 0;
  while (!timed_out) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    pollfd readable = {pipe_fds[0], POLLIN, 0};
    const int ready = left.count() <= 0 ? 0 : poll(&readable, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      timed_out = true;
      break;
    }
    char buffer[4096];
    const ssize_t n = read(pipe_fds[0], buffer, sizeof(buffer));
    if (n <= 0) break;  // EOF: the command (and whatever inherited its output) is done
    text.append(buffer, static_cast<size_t>(n));
  }
  close(pipe_fds[0]);
  if (output != nullptr) *output = text;
  if (pid < 0) return -1;
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  return timed_out ? -1 : internal::ExitCode(status);
}

// One long-running child process, its stdout and stderr appended to a log file. Killed with
// SIGKILL (and reaped) when the object goes away.
class ChildProcess {
 public:
  // Starts argv in `dir` (its working directory), logging to dir/log_name.
  ChildProcess(const std::filesystem::path& dir, const std::string& log_name,
               std::vector<std::string> argv)
      : log_(dir / log_name) {
    const std::vector<char*> exec_args = internal::ExecArgs(argv);
    const int log = open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    pid_ = fork();
    if (pid_ == 0) {
      if (log < 0 || chdir(dir.c_str()) != 0) _exit(127);
      dup2(log, 1);
      dup2(log, 2);
      internal::ExecOrExit(exec_args);
    }
    if (log >= 0) close(log);
  }
  ~ChildProcess() { Kill(SIGKILL); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Sends the signal; after SIGKILL or SIGTERM waits for the process to exit and reaps it.
  void Kill(int signal_number) {
    if (pid_ <= 0) return;
    kill(pid_, signal_number);
    if (signal_number == SIGKILL || signal_number == SIGTERM) Reap();
  }
  // Sends the signal and returns (SIGSTOP, SIGCONT, or SIGTERM without waiting).
  void Signal(int signal_number) {
    if (pid_ > 0) kill(pid_, signal_number);
  }
  // Waits for the process to exit; its exit code, or -1 when it did not exit in time.
  int Wait(std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (pid_ > 0 && std::chrono::steady_clock::now() < end) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        return internal::ExitCode(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }
  std::string Log() const { return Slurp(log_); }
  bool LogContains(const std::string& text) const { return Log().find(text) != std::string::npos; }

 private:
  void Reap() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = 0;
  }

  std::filesystem::path log_;
  pid_t pid_ = 0;
};

}  // namespace headevo::testing

#endif  // HEADEVO_TESTS_TESTUTIL_CHILD_PROCESS_H_
