#include "storage/writer_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace headevo::storage {
namespace {

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "?";
  return name;
}

// The holder's self-description, or "" when the file is empty or unreadable.
std::string ReadHolder(int fd) {
  char buffer[512] = {};
  const ssize_t n = pread(fd, buffer, sizeof(buffer) - 1, 0);
  if (n <= 0) return "";
  return std::string(absl::StripTrailingAsciiWhitespace(std::string(buffer, n)));
}

void WriteHolder(int fd) {
  const std::string holder = absl::StrCat("pid ", getpid(), " host ", HostName(), " since ",
                                          static_cast<long long>(std::time(nullptr)), "\n");
  // Best effort: the flock is the lock; the text only improves the next error message.
  if (ftruncate(fd, 0) == 0) {
    [[maybe_unused]] ssize_t written = pwrite(fd, holder.data(), holder.size(), 0);
  }
}

}  // namespace

std::string WriterLockPath(const std::string& database_path) {
  return absl::StrCat(database_path, ".lock");
}

absl::StatusOr<std::unique_ptr<WriterLock>> WriterLock::Acquire(const std::string& database_path) {
  const std::string lock_path = WriterLockPath(database_path);
  const int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot create the writer lock ", lock_path, ": ", std::strerror(errno)));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    const std::string holder = ReadHolder(fd);
    close(fd);
    if (error == EWOULDBLOCK) {
      return absl::FailedPreconditionError(absl::StrCat(
          "database ", database_path, " is already open for writing",
          holder.empty() ? "" : absl::StrCat(" by ", holder), " (lock ", lock_path,
          "); only one coordinator may write a database: stop the other one, or open this "
          "one read-only (queries and `headevo backup` never need the lock)"));
    }
    return absl::UnavailableError(
        absl::StrCat("cannot lock ", lock_path, ": ", std::strerror(error)));
  }
  WriteHolder(fd);
  return std::unique_ptr<WriterLock>(new WriterLock(lock_path, fd));
}

WriterLock::~WriterLock() {
  // Closing the descriptor releases the flock.
  close(fd_);
}

}  // namespace headevo::storage
