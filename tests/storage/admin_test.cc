// The operator's side of the store: ListWorkers (who holds which job) and DeleteSearch (a
// search and every row of it go in one transaction; the other searches stay exactly as they
// were; the file stays consistent).
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/storage/candidate_builders.h"
#include "tests/storage/storage_test_util.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace headevo::testing {
namespace {

using headevo::v1::Candidate;
using headevo::v1::EvaluationResult;
using storage::DeletedSearch;
using storage::WorkerStatus;

constexpr int64_t kLeaseMs = 1000;

// What the store holds of a search, per table: the tables a deletion must empty of it.
const char* const kTables[] = {"searches",     "candidates",       "heads",       "candidate_heads",
                               "pruned_heads", "head_stats",       "head_growth", "checkpoints",
                               "jobs",         "reference_models", "events"};

std::string RowsOfSearchSql(const std::string& table, int64_t search_id) {
  const std::string id = absl::StrCat(search_id);
  if (table == "searches") return "SELECT count(*) FROM searches WHERE id = " + id;
  if (table == "candidates" || table == "heads" || table == "jobs" || table == "reference_models" ||
      table == "events") {
    return absl::StrCat("SELECT count(*) FROM ", table, " WHERE search_id = ", id);
  }
  return absl::StrCat("SELECT count(*) FROM ", table,
                      " WHERE candidate_id IN (SELECT id FROM candidates WHERE search_id = ", id,
                      ")");
}

std::string Sha(char c) { return std::string(64, c); }

storage::NewJob JobWithSeed(uint64_t seed, const std::string& parent_sha = "") {
  storage::NewJob job;
  job.training.set_seed(seed);
  job.training.set_steps(50);
  job.parent_checkpoint_sha256 = parent_sha;
  job.max_attempts = 3;
  return job;
}

EvaluationResult ResultFor(const Candidate& c, double val_loss, const std::string& sha) {
  EvaluationResult result;
  result.mutable_metrics()->set_val_loss(val_loss);
  result.mutable_metrics()->set_train_loss(val_loss + 0.5);
  result.mutable_metrics()->set_connections(6);
  result.set_checkpoint_sha256(sha);
  for (const auto& head : c.genome().heads()) {
    auto* stats = result.add_head_stats();
    stats->set_head_id(head.id());
    stats->set_layer(head.layer());
    stats->set_entropy(0.5);
  }
  return result;
}

// The grown copy of `parent`'s head at `slot`, `width` columns wider.
headevo::v1::Head Grow(const Candidate& parent, int slot, int width) {
  headevo::v1::Head head = parent.genome().heads(slot);
  head.set_source_head_id(head.id());
  head.set_id(0);
  head.set_origin(headevo::v1::HEAD_ORIGIN_GROWN);
  head.set_sampler(headevo::v1::SAMPLER_GROWTH);
  head.set_extra_key_width(head.extra_key_width() + width);
  head.set_sampler_params("grown");
  return head;
}

storage::NewReference Dense() {
  storage::NewReference reference;
  reference.kind = "dense";
  reference.description = "dense attention";
  reference.role = "baseline";
  reference.genome.set_num_layers(1);
  reference.genome.add_heads()->set_layer(0);
  reference.job.training.set_seed(99);
  reference.job.training.mutable_model()->set_attention(headevo::v1::ATTENTION_KIND_DENSE);
  reference.job.max_attempts = 2;
  return reference;
}

class AdminTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    ASSERT_OK_AND_ASSIGN(worker_, store_->RegisterWorker({0, "host-a", "cuda:0", 80, 0, 0}, 100));
    ASSERT_OK_AND_ASSIGN(other_, store_->CreateSearch({0, "other", "[model]\n", 8}));
  }

  // Leases the next job of `search_id` and completes it with `result`; returns the job id.
  int64_t LeaseAndComplete(int64_t search_id, EvaluationResult result, int64_t now_ms) {
    absl::StatusOr<std::optional<storage::Lease>> lease =
        store_->LeaseJob({worker_, now_ms, kLeaseMs, search_id});
    EXPECT_TRUE(lease.ok() && lease->has_value()) << lease.status();
    if (!lease.ok() || !lease->has_value()) return 0;
    result.set_candidate_id((*lease)->request.candidate_id());
    EXPECT_OK(store_->CompleteJob((*lease)->job_id, (*lease)->attempt, result, now_ms + 1));
    return (*lease)->job_id;
  }

  // A finished search with a row in every table: a root and a child (one head carried, one
  // grown, one pruned and replaced) with jobs, results, statistics, growth and checkpoints, a
  // reference model with its job, and an event. Checkpoints are Sha(c) and Sha(c + 1).
  void Populate(int64_t search_id, char c) {
    ASSERT_OK_AND_ASSIGN(
        std::vector<Candidate> roots,
        store_->InsertCandidatesWithJobs({MakeRoot(search_id)}, {JobWithSeed(1)}, 100));
    const Candidate root = roots.front();
    LeaseAndComplete(search_id, ResultFor(root, 1.5, Sha(c)), 200);
    ASSERT_OK_AND_ASSIGN(std::vector<Candidate> children,
                         store_->InsertCandidatesWithJobs(
                             {MakeCandidate(search_id, 1, root.id(), 2,
                                            {Carry(root, 0), Grow(root, 1, 4),
                                             NewHead(1, {-6}, headevo::v1::HEAD_ORIGIN_SAMPLED)},
                                            {root.genome().heads(2).id()}, "grew")},
                             {JobWithSeed(2, Sha(c))}, 300));
    const Candidate child = children.front();
    EvaluationResult result = ResultFor(child, 1.25, Sha(static_cast<char>(c + 1)));
    headevo::v1::HeadGrowth& g = *result.add_growth();
    g.set_head_id(child.genome().heads(1).id());
    g.set_source_head_id(child.genome().heads(1).source_head_id());
    g.set_layer(child.genome().heads(1).layer());
    g.set_kind(headevo::v1::GROWTH_KIND_WIDEN);
    g.set_added_key_width(4);
    g.set_scale(0.5);
    g.set_predicted_loss_change(-0.25);
    g.set_measured_loss_change(-0.2);
    LeaseAndComplete(search_id, result, 400);
    ASSERT_OK(store_->InsertReferencesWithJobs(search_id, {Dense()}, 500).status());
    ASSERT_OK(store_->AppendEvent({0, search_id, 600, "search_started", "started"}).status());
    ASSERT_OK(store_->SetSearchState(search_id, headevo::v1::SEARCH_STATE_DONE));
  }

  std::map<std::string, int64_t> RowsOf(int64_t search_id) {
    std::map<std::string, int64_t> rows;
    for (const char* table : kTables) {
      absl::StatusOr<int64_t> n = store_->database().QueryInt64(RowsOfSearchSql(table, search_id));
      EXPECT_TRUE(n.ok()) << n.status();
      rows[table] = n.value_or(-1);
    }
    return rows;
  }

  // Everything the store answers about a search, as text: equal texts, nothing changed.
  std::string Describe(int64_t search_id) {
    std::string out;
    absl::StatusOr<storage::SearchRecord> search = store_->GetSearch(search_id);
    if (!search.ok()) return search.status().ToString();
    absl::StrAppend(&out, search->name, " ", search->state, " ", search->config_toml, "\n");
    absl::StatusOr<std::vector<Candidate>> candidates = store_->ListCandidates(search_id);
    if (!candidates.ok()) return candidates.status().ToString();
    for (const Candidate& c : *candidates) {
      absl::StrAppend(&out, c.ShortDebugString(), "\n");
      for (const auto& head : c.genome().heads()) {
        absl::StatusOr<storage::HeadHistory> history = store_->GetHeadHistory(head.id());
        if (!history.ok()) return history.status().ToString();
        absl::StrAppend(&out, " head ", head.id(), " appearances ", history->appearances.size(),
                        " prunings ", history->prunings.size(), " growth ", history->growth.size(),
                        "\n");
      }
    }
    absl::StatusOr<std::vector<storage::JobRecord>> jobs = store_->ListJobs(search_id);
    if (!jobs.ok()) return jobs.status().ToString();
    for (const auto& j : *jobs) {
      absl::StrAppend(&out, "job ", j.id, " ", j.candidate_id, " ", j.reference_id, " ",
                      storage::JobStateName(j.state), " ", j.attempt, "\n");
    }
    absl::StatusOr<std::vector<headevo::v1::Reference>> refs = store_->ListReferences(search_id);
    if (!refs.ok()) return refs.status().ToString();
    for (const auto& r : *refs) absl::StrAppend(&out, r.ShortDebugString(), "\n");
    absl::StatusOr<std::vector<storage::CheckpointRecord>> ckpts =
        store_->ListCheckpoints(search_id);
    if (!ckpts.ok()) return ckpts.status().ToString();
    for (const auto& k : *ckpts)
      absl::StrAppend(&out, "checkpoint ", k.sha256, " ", k.candidate_id, "\n");
    absl::StatusOr<std::vector<storage::EventRecord>> events =
        store_->ListEvents(search_id, 0, 1000);
    if (!events.ok()) return events.status().ToString();
    for (const auto& e : *events) absl::StrAppend(&out, "event ", e.id, " ", e.kind, "\n");
    return out;
  }

  void ExpectFileConsistent() {
    ASSERT_OK_AND_ASSIGN(std::string integrity,
                         store_->database().QueryText("PRAGMA integrity_check"));
    EXPECT_EQ(integrity, "ok");
    ASSERT_OK_AND_ASSIGN(int64_t dangling, store_->database().QueryInt64(
                                               "SELECT count(*) FROM pragma_foreign_key_check"));
    EXPECT_EQ(dangling, 0);
    ASSERT_OK_AND_ASSIGN(int64_t foreign_keys,
                         store_->database().QueryInt64("PRAGMA foreign_keys"));
    EXPECT_EQ(foreign_keys, 1) << "foreign keys are back on after a delete";
  }

  int64_t worker_ = 0;
  int64_t other_ = 0;
};

TEST_F(AdminTest, DeleteSearchRemovesEveryRowOfItAndNothingOfTheOtherSearch) {
  Populate(search_id_, 'a');
  Populate(other_, 'c');
  const std::map<std::string, int64_t> deleted_before = RowsOf(search_id_);
  for (const auto& [table, rows] : deleted_before) {
    EXPECT_GT(rows, 0) << "the test fills every table; " << table << " is empty";
  }
  const std::map<std::string, int64_t> other_before = RowsOf(other_);
  const std::string other_described = Describe(other_);
  ASSERT_OK_AND_ASSIGN(storage::WorkerRecord worker_before, store_->GetWorker(worker_));

  ASSERT_OK_AND_ASSIGN(DeletedSearch deleted, store_->DeleteSearch(search_id_));
  EXPECT_EQ(deleted.candidates, 2);
  EXPECT_EQ(deleted.reference_models, 1);
  EXPECT_EQ(deleted.dropped_checkpoints, (std::vector<std::string>{Sha('a'), Sha('b')}));

  for (const auto& [table, rows] : RowsOf(search_id_)) EXPECT_EQ(rows, 0) << table;
  EXPECT_EQ(RowsOf(other_), other_before);
  EXPECT_EQ(Describe(other_), other_described);
  ASSERT_OK_AND_ASSIGN(storage::WorkerRecord worker_after, store_->GetWorker(worker_));
  EXPECT_EQ(worker_after.last_seen_ms, worker_before.last_seen_ms) << "workers stay";
  EXPECT_TRUE(IsError(store_->GetSearch(search_id_).status(), absl::StatusCode::kNotFound,
                      absl::StrCat("search ", search_id_)));
  ExpectFileConsistent();

  // Ids are never handed out again.
  ASSERT_OK_AND_ASSIGN(int64_t next, store_->CreateSearch({0, "next", "[model]\n", 9}));
  EXPECT_GT(next, other_);
}

TEST_F(AdminTest, UnknownOrActiveSearchIsRefusedAndDeletesNothing) {
  Populate(other_, 'c');
  const std::map<std::string, int64_t> before = RowsOf(other_);
  EXPECT_TRUE(IsError(store_->DeleteSearch(999).status(), absl::StatusCode::kNotFound,
                      "search 999 not found"));
  for (headevo::v1::SearchState state :
       {headevo::v1::SEARCH_STATE_RUNNING, headevo::v1::SEARCH_STATE_PAUSED}) {
    ASSERT_OK(store_->SetSearchState(other_, state));
    EXPECT_TRUE(IsError(store_->DeleteSearch(other_).status(),
                        absl::StatusCode::kFailedPrecondition, "stop it first"));
    EXPECT_EQ(RowsOf(other_), before);
  }
  for (headevo::v1::SearchState state :
       {headevo::v1::SEARCH_STATE_FAILED, headevo::v1::SEARCH_STATE_STOPPED}) {
    ASSERT_OK_AND_ASSIGN(int64_t id, store_->CreateSearch({0, "gone", "[model]\n", 1}));
    ASSERT_OK(store_->SetSearchState(id, state));
    EXPECT_OK(store_->DeleteSearch(id).status()) << state;
  }
  ExpectFileConsistent();
}

TEST_F(AdminTest, ReadOnlyStoreRefusesToDelete) {
  TempDir dir;
  const std::string path = dir.File("admin.db");
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<storage::Store> writer, storage::Store::Open(path));
    ASSERT_OK_AND_ASSIGN(int64_t id, writer->CreateSearch({0, "s", "[model]\n", 1}));
    ASSERT_OK(writer->SetSearchState(id, headevo::v1::SEARCH_STATE_DONE));
  }
  storage::StoreOptions options;
  options.read_only = true;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<storage::Store> reader, storage::Store::Open(path, options));
  EXPECT_TRUE(IsError(reader->DeleteSearch(1).status(), absl::StatusCode::kFailedPrecondition,
                      "read-only"));
  EXPECT_OK(reader->GetSearch(1).status());
}

TEST_F(AdminTest, ACheckpointAnotherSearchNamesIsKeptAndHandedToIt) {
  Populate(search_id_, 'a');  // Sha('a'), Sha('b')
  Populate(other_, 'b');      // Sha('b') again (identical weights), Sha('c')
  ASSERT_OK_AND_ASSIGN(std::vector<storage::CheckpointRecord> before,
                       store_->ListCheckpoints(other_));
  ASSERT_EQ(before.size(), 1u) << "the shared row belongs to the first search's candidate";

  ASSERT_OK_AND_ASSIGN(DeletedSearch deleted, store_->DeleteSearch(search_id_));
  EXPECT_EQ(deleted.dropped_checkpoints, std::vector<std::string>{Sha('a')});
  ASSERT_OK_AND_ASSIGN(std::vector<storage::CheckpointRecord> after,
                       store_->ListCheckpoints(other_));
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[0].sha256, Sha('b'));
  EXPECT_EQ(after[1].sha256, Sha('c'));
  ExpectFileConsistent();
}

TEST_F(AdminTest, ARowOutsideTheSearchNamingItsRowsRefusesTheWholeDelete) {
  Populate(search_id_, 'a');
  Populate(other_, 'c');
  // A candidate of the other search whose parent is in the deleted one: the store never writes
  // this, but a delete must not leave it dangling.
  ASSERT_OK_AND_ASSIGN(int64_t foreign_parent,
                       store_->database().QueryInt64(absl::StrCat(
                           "SELECT min(id) FROM candidates WHERE search_id = ", search_id_)));
  ASSERT_OK(store_->database().Exec(
      absl::StrCat("UPDATE candidates SET parent_id = ", foreign_parent,
                   " WHERE id = (SELECT max(id) FROM candidates WHERE search_id = ", other_, ")"),
      "test"));
  const std::map<std::string, int64_t> before = RowsOf(search_id_);
  EXPECT_TRUE(IsError(store_->DeleteSearch(search_id_).status(),
                      absl::StatusCode::kFailedPrecondition, "nothing was deleted"));
  EXPECT_EQ(RowsOf(search_id_), before);
  ASSERT_OK_AND_ASSIGN(int64_t foreign_keys, store_->database().QueryInt64("PRAGMA foreign_keys"));
  EXPECT_EQ(foreign_keys, 1);
}

TEST_F(AdminTest, ListWorkersShowsEachWorkerWithTheJobItHoldsNow) {
  ASSERT_OK_AND_ASSIGN(int64_t idle, store_->RegisterWorker({0, "host-b", "cpu", 0, 0, 0}, 150));
  ASSERT_OK(
      store_->InsertCandidatesWithJobs({MakeRoot(search_id_)}, {JobWithSeed(1)}, 100).status());
  ASSERT_OK_AND_ASSIGN(std::optional<storage::Lease> lease,
                       store_->LeaseJob({worker_, 250, kLeaseMs, 0}));
  ASSERT_TRUE(lease.has_value());

  ASSERT_OK_AND_ASSIGN(std::vector<WorkerStatus> workers, store_->ListWorkers());
  ASSERT_EQ(workers.size(), 2u);
  EXPECT_EQ(workers[0].worker.id, worker_);
  EXPECT_EQ(workers[0].worker.name, "host-a");
  EXPECT_EQ(workers[0].worker.device, "cuda:0");
  EXPECT_EQ(workers[0].worker.memory_bytes, 80);
  EXPECT_EQ(workers[0].worker.registered_ms, 100);
  EXPECT_EQ(workers[0].worker.last_seen_ms, 250);
  ASSERT_EQ(workers[0].leased_jobs.size(), 1u);
  EXPECT_EQ(workers[0].leased_jobs[0].id, lease->job_id);
  EXPECT_EQ(workers[0].leased_jobs[0].candidate_id, lease->request.candidate_id());
  EXPECT_EQ(workers[0].leased_jobs[0].reference_id, 0);
  EXPECT_EQ(workers[0].leased_jobs[0].search_id, search_id_);
  EXPECT_EQ(workers[0].leased_jobs[0].attempt, 1);
  EXPECT_EQ(workers[0].leased_jobs[0].lease_expires_ms, 250 + kLeaseMs);
  EXPECT_EQ(workers[1].worker.id, idle);
  EXPECT_TRUE(workers[1].leased_jobs.empty());

  // Once reported, the job is no longer held; a reference model's job shows its reference.
  ASSERT_OK_AND_ASSIGN(Candidate c, store_->GetCandidate(lease->request.candidate_id()));
  ASSERT_OK(
      store_->CompleteJob(lease->job_id, lease->attempt, ResultFor(c, 1.0, ""), 300).status());
  ASSERT_OK_AND_ASSIGN(auto refs, store_->InsertReferencesWithJobs(search_id_, {Dense()}, 400));
  ASSERT_OK_AND_ASSIGN(std::optional<storage::Lease> ref_lease,
                       store_->LeaseJob({idle, 450, kLeaseMs, 0}));
  ASSERT_TRUE(ref_lease.has_value());
  ASSERT_OK_AND_ASSIGN(workers, store_->ListWorkers());
  EXPECT_TRUE(workers[0].leased_jobs.empty());
  ASSERT_EQ(workers[1].leased_jobs.size(), 1u);
  EXPECT_EQ(workers[1].leased_jobs[0].reference_id, refs[0].id());
  EXPECT_EQ(workers[1].leased_jobs[0].candidate_id, 0);
}

}  // namespace
}  // namespace headevo::testing
