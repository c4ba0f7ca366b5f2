// Text for `headevo candidate`, `workers` and `delete`: one candidate whole, the workers and
// what they hold, and what a deletion removes (or would remove).
//
// The contract of cli/formatting.h holds: pure (no I/O, no clock), any thread, NaN and missing
// values print as "nan" or "-", the text ends with a newline. Times are shown in UTC.
#ifndef HEADEVO_CLI_RECORD_FORMAT_H_
#define HEADEVO_CLI_RECORD_FORMAT_H_

#include <cstdint>
#include <string>

#include "headevo/v1/candidate.pb.h"
#include "headevo/v1/search_service.pb.h"

namespace headevo::cli {

// A candidate in full: a header (id, search, generation, parent, state), its mutation, its
// metrics once DONE ("-" before), checkpoint and error; then one table row per head (slot, head
// id, layer, origin, k, offsets, sampler, and the four statistics where recorded, "-" before);
// the heads pruned from the parent; and the growth records, one line each.
std::string FormatCandidateDetail(const headevo::v1::Candidate& candidate);

// One row per worker: id, name, device, memory, registered and last heard (UTC), and the jobs
// it holds ("job 12: candidate #34, attempt 1, lease until 2026-... UTC"; "idle" for none).
// No workers: a line saying how to start one.
std::string FormatWorkerTable(const headevo::v1::ListWorkersResponse& response);

// What `headevo delete SEARCH` without --yes prints: the search (name, state, candidates,
// reference models) and everything that would go with it, and to add --yes; first, for a
// RUNNING or PAUSED search, that it must be stopped before.
std::string FormatDeletionPlan(const headevo::v1::SearchSummary& search);
// "deleted search 3: 16 candidates, 4 checkpoint files".
std::string FormatDeleted(int64_t search_id, const headevo::v1::DeleteSearchResponse& response);

}  // namespace headevo::cli

#endif  // HEADEVO_CLI_RECORD_FORMAT_H_
