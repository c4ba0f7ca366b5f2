// The read side of the SearchService as plain functions of a Store: the coordinator answers
// RPCs with them (under its lock), and the CLI answers the same questions offline from a
// read-only database (`headevo lineage 42 --db headevo.db`). One implementation, so online and
// offline answers cannot drift apart.
//
// Requests are assumed checked (server/checks/request_checks.h). Errors are the store's: NotFound
// names the unknown search, candidate or head.
#ifndef HEADEVO_SERVER_ENGINE_SEARCH_QUERIES_H_
#define HEADEVO_SERVER_ENGINE_SEARCH_QUERIES_H_

#include "absl/status/statusor.h"
#include "headevo/v1/search_service.pb.h"
#include "storage/store.h"

namespace headevo::server {

absl::StatusOr<headevo::v1::ListCandidatesResponse> QueryCandidates(
    storage::Store& store, const headevo::v1::ListCandidatesRequest& request);
// Ancestors with genomes (the candidate first), and the subtree when asked.
absl::StatusOr<headevo::v1::GetLineageResponse> QueryLineage(
    storage::Store& store, const headevo::v1::GetLineageRequest& request);
absl::StatusOr<headevo::v1::GetHeadHistoryResponse> QueryHeadHistory(storage::Store& store,
                                                                      int64_t head_id);
absl::StatusOr<headevo::v1::GetParetoFrontResponse> QueryParetoFront(storage::Store& store,
                                                                     int64_t search_id);
// The best `count` (0: 1) DONE candidates, whole, best first. NotFound also when the search
// has no evaluated candidate yet.
absl::StatusOr<headevo::v1::ExportedPopulation> QueryBest(storage::Store& store,
                                                         const headevo::v1::ExportBestRequest& request);
// A summary from what the database alone says (no coordinator): `headevo status --db`.
absl::StatusOr<headevo::v1::SearchSummary> QuerySummary(storage::Store& store, int64_t search_id);
// The candidate whole (Store::GetCandidate).
absl::StatusOr<headevo::v1::Candidate> QueryCandidate(storage::Store& store, int64_t candidate_id);
// Every registered worker by id, with the jobs it holds now.
absl::StatusOr<headevo::v1::ListWorkersResponse> QueryWorkers(storage::Store& store);
// The search's config exactly as it was launched.
absl::StatusOr<headevo::v1::SearchConfig> QuerySearchConfig(storage::Store& store,
                                                            int64_t search_id);

headevo::v1::CandidateSummary ToSummary(const storage::LineageNode& node);

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_ENGINE_SEARCH_QUERIES_H_
