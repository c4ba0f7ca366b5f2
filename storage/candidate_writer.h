// Writes one new candidate and its heads after checking it against what is stored. Runs inside
// the caller's write Transaction and opens none: on error the caller rolls back whatever was
// written so far.
//
// The checks below are the only ones a candidate's rows get when the caller writes a batch
// with foreign key enforcement off (SqliteStore does for large batches, and the job it writes
// beside names only this candidate and its search): every reference written (search, parent,
// carried, source, grown and pruned heads) is checked here, or names a row this call wrote.
#ifndef HEADEVO_STORAGE_CANDIDATE_WRITER_H_
#define HEADEVO_STORAGE_CANDIDATE_WRITER_H_

#include <cstdint>
#include <unordered_map>
#include <unordered_set>

#include "absl/status/statusor.h"
#include "headevo/v1/candidate.pb.h"
#include "storage/candidate_reader.h"
#include "storage/sqlite_db.h"

namespace headevo::storage {

// What InsertCandidate read of stored rows, kept across the candidates of one write
// transaction: a stored candidate's search and heads and a stored head never change, so a
// search, a parent that several children share and the parent's heads are read once per batch
// instead of once per child. Use a fresh one per transaction: a row read in a transaction that
// rolled back must not be trusted after it.
struct LineageCache {
  std::unordered_set<int64_t> searches;  // known to exist
  std::unordered_map<int64_t, int64_t> search_of_candidate;
  std::unordered_map<int64_t, std::unordered_map<int64_t, StoredHead>> heads_of_candidate;
  std::unordered_map<int64_t, StoredHead> heads;  // by id, read one at a time
};

// Checks, in order, returning the first failure:
//   - id is 0, generation >= 0, genome.num_layers > 0;
//   - the search exists (NotFound "search N not found");
//   - parent_id, if not 0, is a candidate of the same search;
//   - every head: layer in [0, num_layers), offsets non-empty, sorted, unique; no head id twice;
//     a head with an id exists in the same search with the same layer and offsets (its other
//     fields and origin in the input are ignored, extra_key_width included); a head with id 0
//     has extra_key_width >= 0 and origin INITIAL or SAMPLED with a source_head_id that is 0
//     or a head of the same search, or origin GROWN with a source_head_id naming a head of the
//     parent with the same layer and offsets;
//   - mutation.pruned_head_ids: only with a parent, each a head of the parent, none twice, none
//     still in the genome.
// All but the search check fail with InvalidArgument naming the offending slot or head id.
//
// Then writes the candidate (state PENDING), inserts heads with id 0 (created by this
// candidate), records every slot in candidate_heads (INHERITED for heads with an id) and the
// pruned ids in order. Returns the candidate as LoadCandidate would read it back: ids filled
// in, carried heads as stored with origin INHERITED, added_head_slots = the new heads' slots,
// and result fields (metrics, head_stats, checkpoint_sha256, error) cleared.
// `cache` is read and filled (see LineageCache).
absl::StatusOr<headevo::v1::Candidate> InsertCandidate(Database& db,
                                                       const headevo::v1::Candidate& input,
                                                       LineageCache& cache);

}  // namespace headevo::storage

#endif  // HEADEVO_STORAGE_CANDIDATE_WRITER_H_
