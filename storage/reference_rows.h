// Rows of reference_models: the dense model and the hand-made baselines a search trains beside
// its candidates (headevo.v1.Reference). Like job_rows.h, every function runs inside the
// caller's Transaction and opens none; on error the caller rolls back.
#ifndef HEADEVO_STORAGE_REFERENCE_ROWS_H_
#define HEADEVO_STORAGE_REFERENCE_ROWS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "headevo/v1/candidate.pb.h"
#include "storage/job_types.h"
#include "storage/sqlite_db.h"

namespace headevo::storage {

// Writes the reference model as PENDING and returns its id. InvalidArgument for an empty kind,
// role or genome (no heads): the worker could not build the model.
absl::StatusOr<int64_t> InsertReference(Database& db, int64_t search_id,
                                        const NewReference& reference);

// The search's reference models by id, with their job ids. The search is not checked.
absl::StatusOr<std::vector<headevo::v1::Reference>> LoadReferencesOfSearch(Database& db,
                                                                           int64_t search_id);
// NotFound "reference model N not found".
absl::StatusOr<headevo::v1::Reference> LoadReference(Database& db, int64_t reference_id);
// The genome its job hands to a worker. DataLoss when the stored bytes do not parse.
absl::StatusOr<headevo::v1::Genome> LoadReferenceGenome(Database& db, int64_t reference_id);

// PENDING or RUNNING; a DONE reference keeps its state (as SetCandidateState).
absl::Status SetReferenceState(Database& db, int64_t reference_id,
                               headevo::v1::CandidateState state);
// DONE with the result's metrics. Per-head statistics, growth records and a checkpoint of a
// reference model are not kept: it has no heads in the lineage and nothing breeds from it.
absl::Status WriteReferenceResult(Database& db, int64_t reference_id,
                                  const headevo::v1::Metrics& metrics);
// FAILED with `error`.
absl::Status FailReference(Database& db, int64_t reference_id, const std::string& error);

}  // namespace headevo::storage

#endif  // HEADEVO_STORAGE_REFERENCE_ROWS_H_
