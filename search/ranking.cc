#include "search/ranking.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "absl/strings/str_cat.h"

namespace headevo::search {
namespace {

// Z-scores `values` in place over the indices in `members`.
void ZScore(const std::vector<int>& members, std::vector<double>& values) {
  double mean = 0.0;
  for (int i : members) mean += values[i];
  mean /= static_cast<double>(members.size());
  double variance = 0.0;
  for (int i : members) variance += (values[i] - mean) * (values[i] - mean);
  variance /= static_cast<double>(members.size());
  const double stddev = std::sqrt(variance);
  for (int i : members) values[i] = stddev > 1e-12 ? (values[i] - mean) / stddev : 0.0;
}

// Replaces `values` over `members` by their rank mapped to [-1, 1]; tied values share the mean
// of their ranks, so a constant signal maps to 0 like its z-score.
void RankScore(const std::vector<int>& members, std::vector<double>& values) {
  const int n = static_cast<int>(members.size());
  std::vector<int> order(members);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return values[a] < values[b]; });
  std::vector<double> rank(values.size(), 0.0);
  for (int i = 0; i < n;) {
    int j = i;
    while (j + 1 < n && values[order[j + 1]] == values[order[i]]) ++j;
    const double mean_rank = 0.5 * (i + j);
    for (int t = i; t <= j; ++t) rank[order[t]] = mean_rank;
    i = j + 1;
  }
  const double half = 0.5 * (n - 1);
  for (int i : members) values[i] = n > 1 ? (rank[i] - half) / half : 0.0;
}

}  // namespace

absl::StatusOr<Normalization> ParseNormalization(std::string_view name) {
  if (name == "zscore") return Normalization::kZScore;
  if (name == "rank") return Normalization::kRank;
  return absl::InvalidArgumentError(absl::StrCat("unknown normalization \"", std::string(name),
                                                 "\"; choose \"zscore\" or \"rank\""));
}

absl::Status RankingOptions::Validate() const {
  for (double w : {entropy_weight, independence_weight, weight_norm_weight, importance_weight,
                   cost_per_connection}) {
    if (!std::isfinite(w)) return absl::InvalidArgumentError("ranking weights must be finite");
  }
  if (cost_per_connection < 0.0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cost_per_connection must be >= 0, got ", cost_per_connection));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<HeadScore>> ScoreHeads(
    const headevo::v1::Genome& genome,
    const google::protobuf::RepeatedPtrField<headevo::v1::HeadStats>& stats,
    const RankingOptions& options) {
  std::map<int64_t, const headevo::v1::HeadStats*> by_id;
  for (const auto& s : stats) by_id[s.head_id()] = &s;

  const int n = genome.heads_size();
  std::vector<double> entropy(n), independence(n), weight_norm(n), importance(n);
  std::vector<const headevo::v1::HeadStats*> head_stats(n);
  std::map<int, std::vector<int>> layers;
  for (int i = 0; i < n; ++i) {
    const auto& head = genome.heads(i);
    auto it = by_id.find(head.id());
    if (it == by_id.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("no statistics for head ", head.id(), " (slot ", i, ")"));
    }
    head_stats[i] = it->second;
    entropy[i] = it->second->entropy();
    independence[i] = it->second->independence();
    weight_norm[i] = it->second->weight_norm();
    importance[i] = it->second->importance();
    layers[head.layer()].push_back(i);
  }
  for (const auto& [layer, members] : layers) {
    for (auto* signal : {&entropy, &independence, &weight_norm, &importance}) {
      if (options.normalization == Normalization::kRank) {
        RankScore(members, *signal);
      } else {
        ZScore(members, *signal);
      }
    }
  }

  std::vector<HeadScore> scores(n);
  for (int i = 0; i < n; ++i) {
    const auto& head = genome.heads(i);
    HeadScore& s = scores[i];
    s.slot = i;
    s.head_id = head.id();
    s.layer = head.layer();
    s.k = head.offsets().offsets_size();
    s.output_similarity = 1.0 - head_stats[i]->independence();
    s.most_similar_head_id = head_stats[i]->most_similar_head_id();
    s.score = options.entropy_weight * entropy[i] + options.independence_weight * independence[i] +
              options.weight_norm_weight * weight_norm[i] +
              options.importance_weight * importance[i] - options.cost_per_connection * s.k;
  }
  return scores;
}

std::vector<int> WorstFirst(const std::vector<HeadScore>& scores) {
  std::vector<int> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return scores[a].score < scores[b].score; });
  std::vector<int> slots;
  slots.reserve(order.size());
  for (int i : order) slots.push_back(scores[i].slot);
  return slots;
}

}  // namespace headevo::search
