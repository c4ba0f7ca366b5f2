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

}  // namespace

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
  std::map<int, std::vector<int>> layers;
  for (int i = 0; i < n; ++i) {
    const auto& head = genome.heads(i);
    auto it = by_id.find(head.id());
    if (it == by_id.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("no statistics for head ", head.id(), " (slot ", i, ")"));
    }
    entropy[i] = it->second->entropy();
    independence[i] = it->second->independence();
    weight_norm[i] = it->second->weight_norm();
    importance[i] = it->second->importance();
    layers[head.layer()].push_back(i);
  }
  for (const auto& [layer, members] : layers) {
    for (auto* signal : {&entropy, &independence, &weight_norm, &importance}) {
      ZScore(members, *signal);
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
