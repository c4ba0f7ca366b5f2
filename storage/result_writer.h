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
// evaluation happened, and dropping it would lose work). InvalidArgument if a head_stats entry
// names a head that is not in the candidate's genome, names one twice, or gives another layer;
// likewise if a growth record does, or names a head the candidate inherited, has a kind other
// than WIDEN or NEW_HEAD, a non-finite number or a negative width, or (WIDEN) a head that is
// not GROWN from the source it names, or (NEW_HEAD) a source. Nothing is written then.
// Also records the checkpoint the result names (if any) and marks the candidate's job DONE if
// it has one that is not. `now_ms` stamps both; nullopt leaves those times NULL.
absl::Status WriteResult(Database& db, const headevo::v1::EvaluationResult& result,
                         std::optional<int64_t> now_ms);

// Sets state FAILED and the error text, and marks the candidate's unfinished job FAILED.
// NotFound / FailedPrecondition as WriteResult.
absl::Status WriteFailure(Database& db, int64_t candidate_id, const std::string& error,
                          std::optional<int64_t> now_ms);

}  // namespace headevo::storage

#endif  // HEADEVO_STORAGE_RESULT_WRITER_H_
