#include "search/selection.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "search/evaluated_index.h"
#include "search/pareto.h"

namespace headevo::search {
namespace {

using headevo::v1::Candidate;

struct MethodName {
  SelectionMethod method;
  std::string_view name;
};
constexpr MethodName kMethodNames[] = {
    {SelectionMethod::kTruncation, "truncation"},
    {SelectionMethod::kTournament, "tournament"},
    {SelectionMethod::kAging, "aging"},
    {SelectionMethod::kNsga2, "nsga2"},
};

// Fitness with NaN mapped to +infinity, so sorting and tournaments see a strict weak order.
double OrderedFitness(const Candidate& c, const SelectionOptions& options) {
  const double f = Fitness(c, options);
  return std::isnan(f) ? std::numeric_limits<double>::infinity() : f;
}

// A higher rung first (multi-fidelity: a rung-0 loss is never weighed against a final one;
// without rungs every candidate is at rung 0), then fitness.
bool Fitter(const Candidate& a, const Candidate& b, const SelectionOptions& options) {
  if (a.rung() != b.rung()) return a.rung() > b.rung();
  const double fa = OrderedFitness(a, options), fb = OrderedFitness(b, options);
  if (fa != fb) return fa < fb;
  return a.id() < b.id();
}

std::vector<const Candidate*> Eligible(const std::vector<Candidate>& population) {
  std::vector<const Candidate*> done;
  for (const auto& c : population) {
    if (c.state() == headevo::v1::CANDIDATE_STATE_DONE) done.push_back(&c);
  }
  return done;
}

// The evaluated candidates in creation order, read in place: `at(i)` for i in [begin,
// begin + size) of a list a scan built or of an EvaluatedIndex, so that a tournament over a
// large search copies nothing and aging's window costs its own size.
struct EvaluatedRun {
  std::function<const Candidate*(size_t)> at;
  size_t begin = 0;
  size_t count = 0;
  size_t size() const { return count; }
  const Candidate* operator[](size_t i) const { return at(begin + i); }
};

// `count` winners of tournaments over `pool` (a vector or an EvaluatedRun); `better(i, j)` says
// pool[i] beats pool[j].
template <typename Pool, typename Better>
std::vector<const Candidate*> Tournaments(const Pool& pool, int size, int count, Rng& rng,
                                          Better better) {
  std::vector<const Candidate*> parents;
  parents.reserve(count);
  const int64_t last = static_cast<int64_t>(pool.size()) - 1;
  for (int p = 0; p < count; ++p) {
    int winner = static_cast<int>(rng.UniformInt(0, last));
    for (int draw = 1; draw < size; ++draw) {
      const int rival = static_cast<int>(rng.UniformInt(0, last));
      if (better(rival, winner)) winner = rival;
    }
    parents.push_back(pool[winner]);
  }
  return parents;
}

std::vector<const Candidate*> Nsga2(const std::vector<const Candidate*>& pool,
                                    const SelectionOptions& options, int count, Rng& rng) {
  // Fronts are sorted within each rung (losses of different rungs are never compared); a
  // higher rung wins, then the lower front, then the larger crowding distance.
  std::vector<int> rank(pool.size());
  std::vector<double> crowding(pool.size());
  std::map<int, std::vector<int>> by_rung;
  for (size_t i = 0; i < pool.size(); ++i) by_rung[pool[i]->rung()].push_back(static_cast<int>(i));
  for (const auto& [rung, members] : by_rung) {
    std::vector<Objectives> points;
    points.reserve(members.size());
    for (int i : members) points.push_back(ObjectivesOf(*pool[i]));
    const std::vector<std::vector<int>> fronts = NonDominatedSort(points);
    for (size_t f = 0; f < fronts.size(); ++f) {
      const std::vector<double> distance = CrowdingDistance(points, fronts[f]);
      for (size_t i = 0; i < fronts[f].size(); ++i) {
        rank[members[fronts[f][i]]] = static_cast<int>(f);
        crowding[members[fronts[f][i]]] = distance[i];
      }
    }
  }
  return Tournaments(pool, options.tournament_size, count, rng, [&](int a, int b) {
    if (pool[a]->rung() != pool[b]->rung()) return pool[a]->rung() > pool[b]->rung();
    if (rank[a] != rank[b]) return rank[a] < rank[b];
    if (crowding[a] != crowding[b]) return crowding[a] > crowding[b];
    return pool[a]->id() < pool[b]->id();
  });
}

}  // namespace

absl::StatusOr<SelectionMethod> ParseSelectionMethod(std::string_view name) {
  for (const MethodName& m : kMethodNames) {
    if (m.name == name) return m.method;
  }
  // This absl's string_view is not std::string_view, so StrCat needs a std::string.
  return absl::InvalidArgumentError(
      absl::StrCat("unknown selection method \"", std::string(name),
                   "\"; expected truncation, tournament, aging or nsga2"));
}

std::string_view SelectionMethodName(SelectionMethod method) {
  for (const MethodName& m : kMethodNames) {
    if (m.method == method) return m.name;
  }
  return "unknown";
}

absl::Status SelectionOptions::Validate() const {
  if (num_parents < 1) {
    return absl::InvalidArgumentError(absl::StrCat("parents must be >= 1, got ", num_parents));
  }
  if (!(connection_cost >= 0.0) || !std::isfinite(connection_cost)) {
    return absl::InvalidArgumentError(
        absl::StrCat("connection_cost must be a finite number >= 0, got ", connection_cost));
  }
  if (tournament_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("tournament_size must be >= 1, got ", tournament_size));
  }
  if (aging_window < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("aging_window must be >= 0 (0: one generation), got ", aging_window));
  }
  return absl::OkStatus();
}

double Fitness(const headevo::v1::Candidate& candidate, const SelectionOptions& options) {
  return Fitness(candidate.metrics().val_loss(), candidate.metrics().connections(), options);
}

double Fitness(double val_loss, int64_t connections, const SelectionOptions& options) {
  return val_loss + options.connection_cost * static_cast<double>(connections);
}

bool IsFitter(const headevo::v1::Candidate& a, const headevo::v1::Candidate& b,
              const SelectionOptions& options) {
  return Fitter(a, b, options);
}

std::vector<const headevo::v1::Candidate*> RankByFitness(
    const std::vector<headevo::v1::Candidate>& population, const SelectionOptions& options,
    int limit) {
  std::vector<const Candidate*> done = Eligible(population);
  // Fitter is a total order (ties go to the lower id), so sorting only the first `limit` gives
  // the same answer as a full sort, in O(n log limit): the coordinator asks for the few best
  // of a population that keeps growing.
  const size_t keep = std::min(done.size(), static_cast<size_t>(std::max(limit, 0)));
  std::partial_sort(done.begin(), done.begin() + keep, done.end(),
                    [&](const auto* a, const auto* b) { return Fitter(*a, *b, options); });
  done.resize(keep);
  return done;
}

namespace {

// SelectParents for both sources of candidates: `pool` the DONE candidates in creation order,
// `fittest(limit)` RankByFitness's answer (asked only by truncation).
template <typename FittestFn>
std::vector<const Candidate*> Select(EvaluatedRun pool, FittestFn fittest,
                                     const SelectionOptions& options, int count, Rng& rng) {
  if (count <= 0) return {};
  if (options.method == SelectionMethod::kTruncation) {
    const std::vector<const Candidate*> best = fittest(std::max(options.num_parents, 1));
    if (best.empty()) return {};
    std::vector<const Candidate*> parents;
    parents.reserve(count);
    for (int i = 0; i < count; ++i) parents.push_back(best[i % best.size()]);
    return parents;
  }
  if (pool.size() == 0) return {};
  const auto fitter = [&](int a, int b) { return Fitter(*pool[a], *pool[b], options); };
  switch (options.method) {
    case SelectionMethod::kTruncation:
      break;  // above
    case SelectionMethod::kTournament:
      return Tournaments(pool, options.tournament_size, count, rng, fitter);
    case SelectionMethod::kAging: {
      const size_t window = options.aging_window > 0 ? options.aging_window : count;
      // The oldest die: only the youngest `window` remain in the pool.
      if (pool.count > window) {
        pool.begin += pool.count - window;
        pool.count = window;
      }
      return Tournaments(pool, options.tournament_size, count, rng, fitter);
    }
    case SelectionMethod::kNsga2: {
      std::vector<const Candidate*> all;
      all.reserve(pool.size());
      for (size_t i = 0; i < pool.size(); ++i) all.push_back(pool[i]);
      return Nsga2(all, options, count, rng);
    }
  }
  return {};
}

}  // namespace

std::vector<const headevo::v1::Candidate*> SelectParents(
    const std::vector<headevo::v1::Candidate>& population, const SelectionOptions& options,
    int count, Rng& rng) {
  const std::vector<const Candidate*> eligible = Eligible(population);
  return Select({[&](size_t i) { return eligible[i]; }, 0, eligible.size()},
                [&](int limit) { return RankByFitness(population, options, limit); }, options,
                count, rng);
}

std::vector<const headevo::v1::Candidate*> SelectParents(const EvaluatedIndex& index,
                                                         const SelectionOptions& options,
                                                         int count, Rng& rng) {
  return Select({[&](size_t i) { return index.EvaluatedAt(i); }, 0, index.evaluated_count()},
                [&](int limit) { return index.Fittest(limit); }, options, count, rng);
}

}  // namespace headevo::search
