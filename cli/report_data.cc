#include "cli/report_data.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "search/resampling.h"
#include "search/selection.h"
#include "server/config/search_config.h"

namespace headevo::cli {
namespace {

absl::Status ListAllCandidates(SearchClient& client, int64_t search_id, ReportData* data) {
  headevo::v1::ListCandidatesRequest request;
  request.set_search_id(search_id);
  request.set_page_size(1000);
  do {
    absl::StatusOr<headevo::v1::ListCandidatesResponse> page = client.ListCandidates(request);
    if (!page.ok()) return page.status();
    for (headevo::v1::CandidateSummary& c : *page->mutable_candidates()) {
      data->candidates.push_back(std::move(c));
    }
    request.set_page_token(page->next_page_token());
  } while (!request.page_token().empty());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ReportData> GatherReportData(SearchClient& client, int64_t search_id) {
  ReportData data;
  absl::StatusOr<headevo::v1::SearchSummary> summary = client.GetSearch(search_id);
  if (!summary.ok()) return summary.status();
  data.summary = *std::move(summary);
  if (absl::Status s = ListAllCandidates(client, search_id, &data); !s.ok()) return s;
  absl::StatusOr<headevo::v1::GetParetoFrontResponse> front = client.GetParetoFront(search_id);
  if (!front.ok()) return front.status();
  data.front.assign(front->front().begin(), front->front().end());
  if (data.summary.best_candidate_id() == 0) return data;  // nothing evaluated yet

  headevo::v1::ExportBestRequest best;
  best.set_search_id(search_id);
  best.set_count(kMaxEvaluated);
  absl::StatusOr<headevo::v1::ExportedPopulation> evaluated = client.ExportBest(best);
  if (!evaluated.ok()) return evaluated.status();
  data.evaluated.assign(evaluated->candidates().begin(), evaluated->candidates().end());
  data.evaluated_truncated = data.summary.done() > kMaxEvaluated;

  headevo::v1::GetLineageRequest lineage;
  lineage.set_candidate_id(data.summary.best_candidate_id());
  absl::StatusOr<headevo::v1::GetLineageResponse> chain = client.GetLineage(lineage);
  if (!chain.ok()) return chain.status();
  data.best_lineage.assign(chain->ancestors().begin(), chain->ancestors().end());
  return data;
}

absl::Status AddStoreDetails(storage::Store& store, int64_t search_id, ReportData* data) {
  absl::StatusOr<storage::SearchRecord> record = store.GetSearch(search_id);
  if (!record.ok()) return record.status();
  data->config_toml = record->config_toml;
  absl::StatusOr<std::optional<headevo::v1::StrategyState>> strategy =
      store.LoadStrategyState(search_id);
  if (!strategy.ok()) return strategy.status();
  data->strategy = *std::move(strategy);
  absl::StatusOr<search::SearchOptions> options =
      server::ParseSearchConfig(record->config_toml, absl::StrCat("search ", search_id, " config"));
  if (!options.ok()) return absl::OkStatus();  // the report still has everything else
  data->selection_method = std::string(search::SelectionMethodName(options->selection.method));
  data->sampler = std::string(search::SamplerName(options->resampling.sampler));
  data->population = options->population_size;
  data->generations = options->generations;
  if (options->resampling.sampler == search::Sampler::kAdaptive) {
    for (search::Sampler arm : options->resampling.arms) {
      data->arm_names.emplace_back(search::SamplerName(arm));
    }
  }
  return absl::OkStatus();
}

}  // namespace headevo::cli
