// SQLite's WAL mode keeps its index in shared memory mapped from "<db>-shm", which needs a
// filesystem with working mmap and byte-range locks on one host. Network filesystems (NFS,
// SMB, Lustre, ...) break that silently and can corrupt the database, so the store refuses
// them where statfs can tell.
#ifndef HEADEVO_STORAGE_LOCAL_FILESYSTEM_H_
#define HEADEVO_STORAGE_LOCAL_FILESYSTEM_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace headevo::storage {

// The name of the network filesystem whose statfs f_type is `magic` ("nfs", "cifs", ...), or
// "" for any other type (local, or one we cannot tell apart, like FUSE).
std::string NetworkFilesystemName(uint64_t magic);

// FailedPrecondition "database <path> is on a network filesystem (nfs) ..." when the directory
// that holds (or will hold) `database_path` is on one. OK when it is local or cannot be
// examined (the open that follows reports a missing directory better).
absl::Status RequireLocalFilesystem(const std::string& database_path);

}  // namespace headevo::storage

#endif  // HEADEVO_STORAGE_LOCAL_FILESYSTEM_H_
