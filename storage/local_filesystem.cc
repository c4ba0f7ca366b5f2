#include "storage/local_filesystem.h"

#include <sys/vfs.h>

#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace headevo::storage {

std::string NetworkFilesystemName(uint64_t magic) {
  // Values from linux/magic.h and the filesystems' own headers.
  switch (magic) {
    case 0x6969:
      return "nfs";
    case 0x517B:
      return "smb";
    case 0xFF534D42:
      return "cifs";
    case 0xFE534D42:
      return "smb2";
    case 0x5346414F:
      return "afs";
    case 0x00C36400:
      return "ceph";
    case 0x01021997:
      return "9p";
    case 0x0BD00BD0:
      return "lustre";
    case 0x47504653:
      return "gpfs";
    case 0x013111A8:
      return "ibrix";
    case 0x19830326:
      return "fhgfs/beegfs";
    default:
      return "";
  }
}

absl::Status RequireLocalFilesystem(const std::string& database_path) {
  std::error_code ec;
  std::filesystem::path directory = std::filesystem::absolute(database_path, ec).parent_path();
  if (ec) return absl::OkStatus();
  struct statfs info {};
  if (statfs(directory.c_str(), &info) != 0) return absl::OkStatus();
  const std::string name = NetworkFilesystemName(static_cast<uint32_t>(info.f_type));
  if (name.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "database ", database_path, " is on a network filesystem (", name,
      "); SQLite's write-ahead log needs shared memory on a local disk. Put the database on a "
      "local disk (checkpoints may stay on the shared filesystem) and copy it elsewhere with "
      "`headevo backup`"));
}

}  // namespace headevo::storage
