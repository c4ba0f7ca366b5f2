// Group commit for a store opened with StoreOptions::Durability::kGroup: its transactions are
// committed without an fsync (SQLite's synchronous=NORMAL, still atomic and consistent after a
// crash), and a caller that must not answer before its writes survive a power cut waits here
// for one fsync of the WAL that covers them. Many callers share one fsync: while one is
// running, the others queue behind it and the next one covers them all.
//
// Tickets: Mark() (on the thread that wrote, after its writes returned) hands out a ticket that
// stands for every write made on the connection so far; WaitDurable(ticket) returns once an
// fsync that began after that ticket was handed out has finished. Correct because a write()
// that returned before fsync() began is covered by it, and in WAL mode a commit is nothing but
// frames appended to "<db>-wal" (checkpoints sync the database file themselves).
//
// Errors: a failed fsync is sticky (DataLoss): after one, the kernel may have dropped the
// pages it could not write, so no later sync can vouch for them; every wait fails until the
// store is reopened (SQLite's recovery then reads what the WAL really holds).
//
// Thread safety: Mark() from the store's one thread (it reads no shared state but an atomic);
// WaitDurable() from any thread, while the store is in use.
#ifndef HEADEVO_STORAGE_GROUP_SYNC_H_
#define HEADEVO_STORAGE_GROUP_SYNC_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

#include "absl/status/status.h"

namespace headevo::storage {

class GroupSync {
 public:
  // `wal_path`: the WAL file ("<db>-wal"), opened at the first sync and kept open.
  explicit GroupSync(std::string wal_path);
  ~GroupSync();
  GroupSync(const GroupSync&) = delete;
  GroupSync& operator=(const GroupSync&) = delete;

  // A ticket for everything written so far. `changed`: whether anything was written since the
  // last ticket (if not, the last ticket is handed out again and costs no fsync).
  uint64_t Mark(bool changed);
  // Returns once everything `ticket` stands for is on disk (at once if it already is).
  absl::Status WaitDurable(uint64_t ticket);
  // How many fsyncs ran, for benchmarks: tickets / syncs is the group size.
  uint64_t syncs() const { return syncs_.load(std::memory_order_relaxed); }

 private:
  // fdatasync of the WAL (and, the first time, of its directory, so the file's name is durable).
  absl::Status SyncWal();

  const std::string wal_path_;
  int wal_fd_ = -1;  // touched only by the thread running a sync (syncing_)
  std::atomic<uint64_t> marks_{0};
  std::atomic<uint64_t> syncs_{0};
  std::mutex mu_;
  std::condition_variable synced_;
  bool syncing_ = false;  // guarded by mu_
  uint64_t durable_ = 0;  // guarded by mu_: tickets up to this one are on disk
  absl::Status failed_;   // guarded by mu_: the sticky error of a failed fsync
};

}  // namespace headevo::storage

#endif  // HEADEVO_STORAGE_GROUP_SYNC_H_
