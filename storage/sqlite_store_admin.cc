// SqliteStore: what an operator asks of the whole file: the workers and the jobs they hold,
// and deleting a search.
#include <map>
#include <utility>

#include "storage/search_deletion.h"
#include "storage/sqlite_store.h"

namespace headevo::storage {

absl::StatusOr<std::vector<WorkerStatus>> SqliteStore::ListWorkers() {
  absl::StatusOr<Transaction> txn = BeginRead();
  if (!txn.ok()) return txn.status();
  absl::StatusOr<Statement> workers = db_->Prepare(
      "SELECT id, name, device, memory_bytes, registered_ms, last_seen_ms FROM workers "
      "ORDER BY id");
  if (!workers.ok()) return workers.status();
  std::vector<WorkerStatus> listed;
  std::map<int64_t, size_t> index_of;
  absl::Status status = workers->ForEachRow([&](const Statement& row) {
    WorkerStatus& w = listed.emplace_back();
    w.worker.id = row.ColumnInt64(0);
    w.worker.name = row.ColumnText(1);
    w.worker.device = row.ColumnText(2);
    w.worker.memory_bytes = row.ColumnInt64(3);
    w.worker.registered_ms = row.ColumnInt64(4);
    w.worker.last_seen_ms = row.ColumnInt64(5);
    index_of[w.worker.id] = listed.size() - 1;
  });
  if (!status.ok()) return status;
  // The partial index jobs_leased holds only LEASED jobs: cheap however many jobs finished.
  absl::StatusOr<Statement> jobs = db_->Prepare(
      "SELECT id, candidate_id, reference_id, search_id, attempt, max_attempts, worker_id, "
      "lease_expires_ms, created_ms FROM jobs WHERE state = 'LEASED' ORDER BY id");
  if (!jobs.ok()) return jobs.status();
  status = jobs->ForEachRow([&](const Statement& row) {
    JobRecord job;
    job.id = row.ColumnInt64(0);
    job.candidate_id = row.ColumnIdOrZero(1);
    job.reference_id = row.ColumnIdOrZero(2);
    job.search_id = row.ColumnInt64(3);
    job.state = JobState::kLeased;
    job.attempt = row.ColumnInt(4);
    job.max_attempts = row.ColumnInt(5);
    job.worker_id = row.ColumnIdOrZero(6);
    job.lease_expires_ms = row.ColumnInt64(7);
    job.created_ms = row.ColumnInt64(8);
    auto it = index_of.find(job.worker_id);
    if (it != index_of.end()) listed[it->second].leased_jobs.push_back(std::move(job));
  });
  if (!status.ok()) return status;
  return listed;
}

absl::StatusOr<DeletedSearch> SqliteStore::DeleteSearch(int64_t search_id) {
  if (options_.read_only) return BeginWrite().status();  // says the store is read-only
  ForeignKeysOff foreign_keys_off(*db_);
  if (!foreign_keys_off.status().ok()) return foreign_keys_off.status();
  absl::StatusOr<Transaction> txn = BeginWrite();
  if (!txn.ok()) return txn.status();
  absl::StatusOr<DeletedSearch> deleted = DeleteSearchRows(*db_, search_id);
  if (!deleted.ok()) return deleted.status();
  if (absl::Status s = txn->Commit(); !s.ok()) return s;
  return deleted;
}

}  // namespace headevo::storage
