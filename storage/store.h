// The lineage store: searches, candidates, heads, head statistics and lineage links in one
// SQLite file. Every method that writes is one transaction (BEGIN IMMEDIATE): it happens
// whole or not at all. Errors come back as absl::Status naming the problem; SQLite codes and
// exceptions never cross this boundary.
//
// Thread safety: a Store is used by one thread at a time.
#ifndef HEADEVO_STORAGE_STORE_H_
#define HEADEVO_STORAGE_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "headevo/v1/candidate.pb.h"
#include "headevo/v1/search_service.pb.h"

namespace headevo::storage {

struct StoreOptions {
  // Open without the right to write (queries from the CLI, dashboards).
  bool read_only = false;
  // How long a statement waits on another connection's lock before failing, in ms.
  int busy_timeout_ms = 5000;
};

struct SearchRecord {
  int64_t id = 0;
  std::string name;
  std::string config_toml;  // the config exactly as the user wrote it
  uint64_t seed = 0;
  headevo::v1::SearchState state = headevo::v1::SEARCH_STATE_RUNNING;
};

// One row of a head's appearance in a candidate, for lineage checks and queries.
struct CandidateHeadRow {
  int64_t candidate_id = 0;
  int64_t head_id = 0;
  int32_t slot = 0;                  // index in the candidate's genome
  headevo::v1::HeadOrigin origin{};  // INHERITED, SAMPLED or INITIAL in this candidate
};

class Store {
 public:
  virtual ~Store() = default;

  // Opens (creating if absent, unless read_only) the database at `path` (":memory:" works),
  // applies pending schema migrations, and refuses a file written by a newer headevo.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path,
                                                     const StoreOptions& options = {});

  // Creates a search; returns its id (ids start at 1 and increase).
  virtual absl::StatusOr<int64_t> CreateSearch(const SearchRecord& search) = 0;
  // NotFound names the id when there is no such search.
  virtual absl::StatusOr<SearchRecord> GetSearch(int64_t search_id) = 0;
  virtual absl::Status SetSearchState(int64_t search_id, headevo::v1::SearchState state) = 0;

  // Writes a new candidate (state PENDING) with its genome, mutation and parent link, and
  // every head it carries. Heads with id 0 are new: they are inserted and given ids. Heads with
  // an id must already exist in the same search (inherited). The returned candidate is the
  // input with candidate id and all head ids filled in (mutation.pruned_head_ids untouched).
  // One transaction for a whole batch: a generation's candidates land together or not at all.
  virtual absl::StatusOr<std::vector<headevo::v1::Candidate>> InsertCandidates(
      const std::vector<headevo::v1::Candidate>& candidates) = 0;

  // Records an evaluation: metrics, per-head statistics, state DONE. FailedPrecondition if the
  // candidate already has a result (a result is recorded exactly once).
  virtual absl::Status RecordResult(const headevo::v1::EvaluationResult& result) = 0;
  // Marks a candidate FAILED with the error text.
  virtual absl::Status RecordFailure(int64_t candidate_id, const std::string& error) = 0;

  // A candidate with genome, mutation, metrics and head stats as stored.
  virtual absl::StatusOr<headevo::v1::Candidate> GetCandidate(int64_t candidate_id) = 0;
  // All candidates of a search ordered by id.
  virtual absl::StatusOr<std::vector<headevo::v1::Candidate>> ListCandidates(
      int64_t search_id) = 0;
  // Every (candidate, head) appearance in a search, ordered by candidate id then slot.
  virtual absl::StatusOr<std::vector<CandidateHeadRow>> ListCandidateHeads(
      int64_t search_id) = 0;
  // A head as first written (layer, offsets, origin, sampler, source head).
  virtual absl::StatusOr<headevo::v1::Head> GetHead(int64_t head_id) = 0;
  // The candidate and its ancestors up to the root, child first.
  virtual absl::StatusOr<std::vector<headevo::v1::Candidate>> Ancestors(int64_t candidate_id) = 0;
};

}  // namespace headevo::storage

#endif  // HEADEVO_STORAGE_STORE_H_
