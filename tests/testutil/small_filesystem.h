// A small filesystem that a test can fill: a tmpfs of a given size mounted on a fresh
// directory, for tests of what happens when the disk is full (tests/cli/full_disk_test.cc,
// tests/server/checkpoint_*_test.cc). Mounting needs root (CAP_SYS_ADMIN); where it fails,
// unavailable() says why and the test skips with that reason.
//
// Not thread-safe. Whatever runs on the filesystem (child processes, open files) must be gone
// before the object is destroyed: the destructor unmounts (lazily, should something still hold
// it) and removes the directory.
#ifndef HEADEVO_TESTS_TESTUTIL_SMALL_FILESYSTEM_H_
#define HEADEVO_TESTS_TESTUTIL_SMALL_FILESYSTEM_H_

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>

namespace headevo::testing {

class SmallFilesystem {
 public:
  // Mounts a tmpfs of `bytes` (rounded up to pages by the kernel).
  explicit SmallFilesystem(int64_t bytes) {
    std::string pattern = ::testing::TempDir() + "headevo_tmpfs_XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      unavailable_ = "mkdtemp failed: " + std::string(std::strerror(errno));
      return;
    }
    path_ = pattern;
    const std::string options = "size=" + std::to_string(bytes) + ",mode=0755";
    if (::mount("tmpfs", path_.c_str(), "tmpfs", 0, options.c_str()) != 0) {
      unavailable_ = "cannot mount a " + std::to_string(bytes) + "-byte tmpfs on " +
                     path_.string() + " (" + std::strerror(errno) +
                     "): the full-disk tests need root and mount(2)";
      return;
    }
    mounted_ = true;
  }
  ~SmallFilesystem() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  SmallFilesystem(const SmallFilesystem&) = delete;
  SmallFilesystem& operator=(const SmallFilesystem&) = delete;

  // Empty when mounted; otherwise why not, for GTEST_SKIP().
  const std::string& unavailable() const { return unavailable_; }
  const std::filesystem::path& path() const { return path_; }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

  // Bytes an unprivileged writer may still write there (statvfs); -1 on error.
  int64_t FreeBytes() const {
    struct statvfs info = {};
    if (::statvfs(path_.c_str(), &info) != 0) return -1;
    return static_cast<int64_t>(info.f_bavail) * static_cast<int64_t>(info.f_frsize);
  }

  // Writes a file `name` of `bytes` bytes (real pages: tmpfs does not allocate the holes of a
  // sparse file), stopping early when the filesystem is full. Returns the bytes written.
  int64_t Fill(const std::string& name, int64_t bytes) const {
    const int fd = ::open(File(name).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return 0;
    const std::string block(64 * 1024, 'f');
    int64_t written = 0;
    while (written < bytes) {
      const size_t want = static_cast<size_t>(
          std::min<int64_t>(bytes - written, static_cast<int64_t>(block.size())));
      const ssize_t n = ::write(fd, block.data(), want);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      written += n;
    }
    ::close(fd);
    return written;
  }

 private:
  std::filesystem::path path_;
  std::string unavailable_;
  bool mounted_ = false;
};

}  // namespace headevo::testing

#endif  // HEADEVO_TESTS_TESTUTIL_SMALL_FILESYSTEM_H_
