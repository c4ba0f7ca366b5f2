// Writes the outcome of a candidate's evaluation. Runs inside the caller's write Transaction
// and opens none.
#ifndef HEADEVO_STORAGE_RESULT_WRITER_H_
#define HEADEVO_STORAGE_RESULT_WRITER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "headevo/v1/candidate.pb.h"
#include "storage/sqlite_db.h"

namespace headevo::storage {

// Writes metrics, checkpoint_sha256, head_stats and growth, sets state DONE and clears any
// error.
// NotFound if the candidate does not exist; FailedPrecondition "candidate N already has a
// result" if it is DONE (a candidate marked FAILED still accepts its late result: the
// evaluation happened, and dropping it would lose work). InvalidArgument, naming the entry
// ("growth[1]"), for the facts only the stored genome can tell: a head_stats entry or growth
// record naming a head that is not in the candidate's genome or giving it another layer, a
// growth record for a head the candidate inherited, or a WIDEN record for a head the genome
// does not have GROWN from the source the record names. Nothing is written then.
//
// The records' own shape (known growth kinds, finite numbers, widths >= 0, ids > 0, each head
// once, a NEW_HEAD without a source) is the caller's check, made once where the result enters
// the system (server/checks/request_checks.h: CheckReportResult, CheckHeadRecords); it is not
// repeated here. The schema still refuses a head reported twice or a NaN growth number
// (PRIMARY KEY, NOT NULL) as FailedPrecondition, so such a result is never half-stored.
// Also records the checkpoint the result names (if any), the candidate's rung-0 entry in
// rung_results, and marks the candidate's rung-0 job DONE if it has one that is not. `now_ms`
// stamps them; nullopt leaves those times NULL.
absl::Status WriteResult(Database& db, const headevo::v1::EvaluationResult& result,
                         std::optional<int64_t> now_ms);

// A promotion's result (multi-fidelity): the candidate, DONE at rung - 1, moves to `rung`:
// its metrics, checkpoint and head statistics become this rung's, and the rung's result is
// added to its learning curve (rung_results). Also records the checkpoint. NotFound for an
// unknown candidate; FailedPrecondition unless it is DONE at rung - 1; InvalidArgument for
// growth records (heads grow only when training starts) or head statistics that do not match
// the genome. Nothing is written then. The job is the caller's to finish.
absl::Status WritePromotionResult(Database& db, const headevo::v1::EvaluationResult& result,
                                  int rung, std::optional<int64_t> now_ms);

// Sets state FAILED and the error text, and marks the candidate's unfinished job FAILED.
// NotFound / FailedPrecondition as WriteResult.
absl::Status WriteFailure(Database& db, int64_t candidate_id, const std::string& error,
                          std::optional<int64_t> now_ms);

}  // namespace headevo::storage

#endif  // HEADEVO_STORAGE_RESULT_WRITER_H_
