// What `headevo report` draws, gathered in one place: from a coordinator or a database file
// through SearchClient (the same calls as `status`, `candidates`, `pareto`, `lineage`,
// `export`), plus what only the database holds (the config as written, the bandit's arms)
// when a Store is at hand.
#ifndef HEADEVO_CLI_REPORT_DATA_H_
#define HEADEVO_CLI_REPORT_DATA_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/search_client.h"
#include "headevo/v1/candidate.pb.h"
#include "headevo/v1/search_service.pb.h"
#include "headevo/v1/search_state.pb.h"
#include "storage/store.h"

namespace headevo::cli {

struct ReportData {
  headevo::v1::SearchSummary summary;
  // Every candidate in id (creation) order, whatever its state.
  std::vector<headevo::v1::CandidateSummary> candidates;
  // The loss-vs-connections front, fewest connections first.
  std::vector<headevo::v1::CandidateSummary> front;
  // The evaluated (DONE) candidates whole (genomes, and each rung they finished in `rungs`,
  // as Store::GetCandidate fills them), best first: a higher rung first, then the loss. At
  // most kMaxEvaluated, so the head statistics and learning curves of a very large search
  // describe its best kMaxEvaluated candidates.
  std::vector<headevo::v1::Candidate> evaluated;
  bool evaluated_truncated = false;
  // The best candidate and its ancestors up to the root, best first; empty while none is DONE.
  std::vector<headevo::v1::Candidate> best_lineage;

  // Only from a database file (empty / nullopt from a coordinator).
  std::string config_toml;
  std::optional<headevo::v1::StrategyState> strategy;
  std::vector<std::string> arm_names;  // the adaptive sampler's arms, in the order of `strategy`
  std::string selection_method;        // from the config, when it parses
  std::string sampler;
  int population = 0;
  int generations = 0;
};

inline constexpr int kMaxEvaluated = 1000;  // the most ExportBest hands out

// Fills everything but the database-only fields. NotFound (the client's message) for an
// unknown search; any other failed call's status.
absl::StatusOr<ReportData> GatherReportData(SearchClient& client, int64_t search_id);

// Adds the database-only fields from `store` (read-only is enough). A config that no longer
// parses leaves the parsed fields empty; NotFound for an unknown search.
absl::Status AddStoreDetails(storage::Store& store, int64_t search_id, ReportData* data);

}  // namespace headevo::cli

#endif  // HEADEVO_CLI_REPORT_DATA_H_
