// Writes one new candidate and its heads after checking it against what is stored. Runs inside
// the caller's write Transaction and opens none: on error the caller rolls back whatever was
// written so far.
#ifndef HEADEVO_STORAGE_CANDIDATE_WRITER_H_
#define HEADEVO_STORAGE_CANDIDATE_WRITER_H_

#include "absl/status/statusor.h"
#include "headevo/v1/candidate.pb.h"
#include "storage/sqlite_db.h"

namespace headevo::storage {

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
absl::StatusOr<headevo::v1::Candidate> InsertCandidate(Database& db,
                                                       const headevo::v1::Candidate& input);

}  // namespace headevo::storage

#endif  // HEADEVO_STORAGE_CANDIDATE_WRITER_H_
