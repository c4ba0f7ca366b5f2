#include "search/fidelity.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "search/pareto.h"

namespace headevo::search {
namespace {

using headevo::v1::Candidate;

double OrNan(double loss) {
  return std::isnan(loss) ? std::numeric_limits<double>::infinity() : loss;
}

}  // namespace

absl::Status FidelityOptions::Validate(int full_steps) const {
  if (!enabled) return absl::OkStatus();
  if (min_steps < 1 || min_steps >= full_steps) {
    return absl::InvalidArgumentError(absl::StrCat(
        "min_steps must be >= 1 and below the full budget (training.steps = ", full_steps,
        "), got ", min_steps));
  }
  if (!(reduction_factor >= 2.0) || !std::isfinite(reduction_factor)) {
    return absl::InvalidArgumentError(
        absl::StrCat("reduction_factor must be a finite number >= 2 (ASHA uses 3 or 4), got ",
                     reduction_factor));
  }
  return absl::OkStatus();
}

std::vector<int> RungSteps(const FidelityOptions& options, int full_steps) {
  std::vector<int> rungs;
  if (options.enabled && options.min_steps >= 1) {
    for (double budget = options.min_steps; std::lround(budget) < full_steps;
         budget *= options.reduction_factor) {
      const int steps = static_cast<int>(std::lround(budget));
      if (rungs.empty() || steps > rungs.back()) rungs.push_back(steps);
      if (options.reduction_factor < 2.0) break;  // Validate refuses it; never loop forever
    }
  }
  rungs.push_back(full_steps);
  return rungs;
}

int64_t StepsToRung(const std::vector<int>& rungs, int rung) {
  if (rung <= 0) return rungs.front();
  return rungs[rung] - rungs[rung - 1];
}

const headevo::v1::RungResult* ResultAtRung(const Candidate& candidate, int rung) {
  for (const headevo::v1::RungResult& r : candidate.rungs()) {
    if (r.rung() == rung) return &r;
  }
  return nullptr;
}

std::vector<const Candidate*> RankAtRung(const std::vector<Candidate>& population, int rung,
                                         const SelectionOptions& selection) {
  std::vector<const Candidate*> finished;
  std::vector<double> loss;
  for (const Candidate& c : population) {
    if (c.state() != headevo::v1::CANDIDATE_STATE_DONE) continue;
    const headevo::v1::RungResult* r = ResultAtRung(c, rung);
    if (r == nullptr) continue;
    finished.push_back(&c);
    loss.push_back(OrNan(r->val_loss()));
  }
  const size_t n = finished.size();
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  if (selection.method == SelectionMethod::kNsga2) {
    std::vector<Objectives> points;
    points.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      points.push_back({loss[i], static_cast<double>(finished[i]->metrics().connections())});
    }
    std::vector<int> front(n);
    std::vector<double> crowding(n);
    const std::vector<std::vector<int>> fronts = NonDominatedSort(points);
    for (size_t f = 0; f < fronts.size(); ++f) {
      const std::vector<double> distance = CrowdingDistance(points, fronts[f]);
      for (size_t i = 0; i < fronts[f].size(); ++i) {
        front[fronts[f][i]] = static_cast<int>(f);
        crowding[fronts[f][i]] = distance[i];
      }
    }
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      if (front[a] != front[b]) return front[a] < front[b];
      if (crowding[a] != crowding[b]) return crowding[a] > crowding[b];
      return finished[a]->id() < finished[b]->id();
    });
  } else {
    std::vector<double> fitness(n);
    for (size_t i = 0; i < n; ++i) {
      fitness[i] = Fitness(loss[i], finished[i]->metrics().connections(), selection);
    }
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      if (fitness[a] != fitness[b]) return fitness[a] < fitness[b];
      return finished[a]->id() < finished[b]->id();
    });
  }
  std::vector<const Candidate*> ranked;
  ranked.reserve(n);
  for (size_t i : order) ranked.push_back(finished[i]);
  return ranked;
}

std::optional<Promotion> NextPromotion(const std::vector<Candidate>& population, int num_rungs,
                                       double reduction_factor, const SelectionOptions& selection,
                                       const std::set<int64_t>& busy) {
  for (int rung = num_rungs - 2; rung >= 0; --rung) {
    const std::vector<const Candidate*> ranked = RankAtRung(population, rung, selection);
    const size_t top = static_cast<size_t>(
        std::floor(static_cast<double>(ranked.size()) / reduction_factor));
    for (size_t i = 0; i < top && i < ranked.size(); ++i) {
      const Candidate& c = *ranked[i];
      if (c.rung() == rung && busy.count(c.id()) == 0) return Promotion{c.id(), rung + 1};
    }
  }
  return std::nullopt;
}

}  // namespace headevo::search
