#include "server/http/search_figures.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <utility>

#include "search/resampling.h"
#include "server/config/search_config.h"

namespace headevo::server {
namespace {

constexpr int kPageRows = 10'000;

// Folds one candidate into the bucket it belongs to; `best` carries across buckets.
void Fold(const storage::LineageNode& node, FitnessBucket& bucket, double& best, int64_t& best_id) {
  if (bucket.first_id == 0) bucket.first_id = node.candidate_id;
  bucket.last_id = node.candidate_id;
  if (node.state == headevo::v1::CANDIDATE_STATE_FAILED) ++bucket.failed;
  if (!std::isfinite(node.val_loss)) return;
  bucket.min_loss =
      bucket.evaluated == 0 ? node.val_loss : std::min(bucket.min_loss, node.val_loss);
  bucket.max_loss =
      bucket.evaluated == 0 ? node.val_loss : std::max(bucket.max_loss, node.val_loss);
  ++bucket.evaluated;
  if (best_id == 0 || node.val_loss < best) {
    best = node.val_loss;
    best_id = node.candidate_id;
  }
}

}  // namespace

absl::StatusOr<FitnessOverTime> ComputeFitnessOverTime(storage::Store& store, int64_t search_id,
                                                       int max_points) {
  storage::CandidateFilter filter;
  filter.search_id = search_id;
  filter.limit = kPageRows;
  FitnessOverTime out;
  double best = 0;
  int64_t best_id = 0;
  int64_t seen = 0;
  FitnessBucket bucket;
  for (;;) {
    absl::StatusOr<storage::CandidatePage> page = store.ListCandidateSummaries(filter);
    if (!page.ok()) return page.status();
    if (filter.offset == 0) {
      out.candidates = page->total;
      out.per_bucket = std::max<int64_t>(1, (page->total + max_points - 1) / max_points);
    }
    for (const storage::LineageNode& node : page->candidates) {
      Fold(node, bucket, best, best_id);
      if (++seen % out.per_bucket == 0) {
        bucket.best_so_far = best;
        bucket.best_id = best_id;
        out.buckets.push_back(std::exchange(bucket, FitnessBucket{}));
      }
    }
    filter.offset += static_cast<int64_t>(page->candidates.size());
    if (page->candidates.empty() || filter.offset >= page->total) break;
  }
  if (bucket.first_id != 0) {
    bucket.best_so_far = best;
    bucket.best_id = best_id;
    out.buckets.push_back(bucket);
  }
  return out;
}

absl::StatusOr<std::vector<headevo::v1::Candidate>> BestWithRungs(storage::Store& store,
                                                                  int64_t search_id, int count) {
  absl::StatusOr<std::vector<storage::LineageNode>> best = store.BestCandidates(search_id, count);
  if (!best.ok()) return best.status();
  std::vector<headevo::v1::Candidate> out;
  for (const storage::LineageNode& node : *best) {
    absl::StatusOr<headevo::v1::Candidate> candidate = store.GetCandidate(node.candidate_id);
    if (!candidate.ok()) return candidate.status();
    // The curve is what the figure needs; the genome and head statistics are the candidate
    // page's, and would make this answer a hundred times larger.
    candidate->clear_genome();
    candidate->clear_head_stats();
    out.push_back(*std::move(candidate));
  }
  return out;
}

absl::StatusOr<std::vector<SamplerArm>> SamplerUsage(storage::Store& store, int64_t search_id) {
  absl::StatusOr<storage::SearchRecord> record = store.GetSearch(search_id);
  if (!record.ok()) return record.status();
  absl::StatusOr<std::optional<headevo::v1::StrategyState>> state =
      store.LoadStrategyState(search_id);
  if (!state.ok()) return state.status();
  absl::StatusOr<search::SearchOptions> options = ParseSearchConfig(record->config_toml, "config");
  std::vector<SamplerArm> arms;
  if (!options.ok() || options->resampling.sampler != search::Sampler::kAdaptive) return arms;
  for (size_t i = 0; i < options->resampling.arms.size(); ++i) {
    SamplerArm arm;
    arm.name = std::string(search::SamplerName(options->resampling.arms[i]));
    if (state->has_value() && static_cast<int>(i) < (*state)->arms_size()) {
      const headevo::v1::BanditArm& stored = (*state)->arms(static_cast<int>(i));
      arm.pulls = stored.pulls();
      arm.mean_reward = stored.pulls() > 0 ? stored.reward_sum() / stored.pulls() : 0.0;
    }
    arms.push_back(std::move(arm));
  }
  return arms;
}

}  // namespace headevo::server
