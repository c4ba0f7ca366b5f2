#include "search/pruning.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace headevo::search {
namespace {

// Tracks what is pruned so far and enforces the per-layer minimum.
class PruneSet {
 public:
  PruneSet(const std::vector<HeadScore>& scores, int min_per_layer)
      : scores_(scores), min_per_layer_(min_per_layer) {
    for (const HeadScore& s : scores) ++remaining_[s.layer];
  }

  bool Contains(int slot) const { return chosen_.count(slot) > 0; }
  int Remaining(int layer) const { return remaining_.at(layer); }

  // Prunes `slot` unless it is already pruned or its layer is at the minimum.
  bool Add(int slot, PruneReason reason, int64_t duplicate_of = 0) {
    const HeadScore& s = scores_[slot];
    if (Contains(slot) || remaining_[s.layer] <= min_per_layer_) return false;
    --remaining_[s.layer];
    chosen_.insert(slot);
    pruned_.push_back({slot, s.head_id, reason, duplicate_of});
    return true;
  }

  std::vector<PrunedHead> Release() { return std::move(pruned_); }

 private:
  const std::vector<HeadScore>& scores_;
  int min_per_layer_;
  std::map<int, int> remaining_;
  std::set<int> chosen_;
  std::vector<PrunedHead> pruned_;
};

absl::Status RequireThreshold(const char* field, double value) {
  if (value >= 0.0 && value <= 1.0) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, " must be in [0, 1] (0 turns the rule off), got ", value));
}

}  // namespace

absl::Status PruningOptions::Validate() const {
  if (!(fraction >= 0.0 && fraction < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("pruning fraction must be in [0, 1), got ", fraction));
  }
  if (min_heads_per_layer < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("min_heads_per_layer must be >= 1, got ", min_heads_per_layer));
  }
  if (max_heads_per_layer != 0 && max_heads_per_layer < min_heads_per_layer) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_heads_per_layer (", max_heads_per_layer,
        ") must be 0 (no maximum) or >= min_heads_per_layer (", min_heads_per_layer, ")"));
  }
  if (auto s = RequireThreshold("duplicate_jaccard", duplicate_jaccard); !s.ok()) return s;
  return RequireThreshold("duplicate_similarity", duplicate_similarity);
}

double Jaccard(const headevo::v1::OffsetSet& a, const headevo::v1::OffsetSet& b) {
  const std::set<int> sa(a.offsets().begin(), a.offsets().end());
  const std::set<int> sb(b.offsets().begin(), b.offsets().end());
  if (sa.empty() && sb.empty()) return 1.0;
  int shared = 0;
  for (int x : sa) shared += static_cast<int>(sb.count(x));
  return static_cast<double>(shared) / static_cast<double>(sa.size() + sb.size() - shared);
}

std::vector<PrunedHead> SelectHeadsToPrune(const headevo::v1::Genome& genome,
                                           const std::vector<HeadScore>& scores,
                                           const PruningOptions& options) {
  PruneSet pruned(scores, options.min_heads_per_layer);
  const std::vector<int> worst_first = WorstFirst(scores);
  std::vector<int> best_first(worst_first.rbegin(), worst_first.rend());

  if (options.max_heads_per_layer > 0) {
    for (int slot : worst_first) {
      if (pruned.Remaining(scores[slot].layer) > options.max_heads_per_layer) {
        pruned.Add(slot, PruneReason::kOverLayerMaximum);
      }
    }
  }

  if (options.duplicate_jaccard > 0.0) {
    // Best first, so the head kept of a duplicate pair is always the higher-ranked one.
    std::vector<int> kept;
    for (int slot : best_first) {
      if (pruned.Contains(slot)) continue;
      bool removed = false;
      for (int better : kept) {
        if (scores[better].layer == scores[slot].layer &&
            Jaccard(genome.heads(better).offsets(), genome.heads(slot).offsets()) >=
                options.duplicate_jaccard) {
          removed = pruned.Add(slot, PruneReason::kDuplicateOffsets, scores[better].head_id);
          break;
        }
      }
      if (!removed) kept.push_back(slot);
    }
  }

  if (options.duplicate_similarity > 0.0) {
    std::map<int64_t, int> slot_of_id;
    for (const HeadScore& s : scores) slot_of_id[s.head_id] = s.slot;
    std::map<int, int> position;  // slot -> position in best_first
    for (size_t i = 0; i < best_first.size(); ++i) position[best_first[i]] = static_cast<int>(i);
    for (int slot : best_first) {
      const HeadScore& s = scores[slot];
      auto partner = slot_of_id.find(s.most_similar_head_id);
      if (pruned.Contains(slot) || s.most_similar_head_id == 0 || partner == slot_of_id.end() ||
          s.output_similarity < options.duplicate_similarity) {
        continue;
      }
      if (position[partner->second] < position[slot] && !pruned.Contains(partner->second)) {
        pruned.Add(slot, PruneReason::kDuplicateOutput, s.most_similar_head_id);
      }
    }
  }

  if (options.fraction > 0.0 && !scores.empty()) {
    const int budget = std::max<int>(
        1, static_cast<int>(std::lround(options.fraction * static_cast<double>(scores.size()))));
    int taken = 0;
    for (int slot : worst_first) {
      if (taken == budget) break;
      if (pruned.Contains(slot) || pruned.Add(slot, PruneReason::kLowRank)) ++taken;
    }
  }
  return pruned.Release();
}

std::string DescribePruned(const std::vector<PrunedHead>& pruned) {
  return absl::StrJoin(pruned, ", ", [](std::string* out, const PrunedHead& p) {
    switch (p.reason) {
      case PruneReason::kOverLayerMaximum:
        absl::StrAppend(out, p.head_id, " (over layer maximum)");
        break;
      case PruneReason::kDuplicateOffsets:
        absl::StrAppend(out, p.head_id, " (offsets duplicate ", p.duplicate_of, ")");
        break;
      case PruneReason::kDuplicateOutput:
        absl::StrAppend(out, p.head_id, " (output duplicates ", p.duplicate_of, ")");
        break;
      case PruneReason::kLowRank:
        absl::StrAppend(out, p.head_id, " (rank)");
        break;
    }
  });
}

}  // namespace headevo::search
