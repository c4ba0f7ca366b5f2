// The evaluated candidates of one steady-state search, kept up to date as its population grows,
// so that breeding a child costs what changed since the last child (new candidates and those
// still being trained) rather than a scan of every candidate the search ever made. At a million
// candidates a scan is milliseconds of cache misses; the coordinator breeds under its mutex.
//
// Sync() takes the population as the coordinator keeps it: append-only, in creation order, each
// candidate moving only forward (not yet finished -> DONE or FAILED). A population that does not
// continue the last one (shorter, or another candidate where one was seen) is indexed afresh, so
// a caller that passes an unrelated population gets correct, merely slower, answers.
//
// Without multi-fidelity a DONE candidate's fitness never changes, so the index keeps the DONE
// candidates ordered by IsFitter and the fittest cost O(limit). With it (`fitness_may_change`)
// a promotion raises a candidate's rung and loss, so the fittest are sorted on demand from the
// DONE candidates alone.
//
// Pointers returned point into the population last passed to Sync; they are valid while it is
// unchanged. Not thread-safe: one owner (a Strategy) at a time.
#ifndef HEADEVO_SEARCH_EVALUATED_INDEX_H_
#define HEADEVO_SEARCH_EVALUATED_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <set>
#include <unordered_map>
#include <vector>

#include "headevo/v1/candidate.pb.h"
#include "search/selection.h"

namespace headevo::search {

class EvaluatedIndex {
 public:
  EvaluatedIndex(const SelectionOptions& options, bool fitness_may_change);

  // Brings the index up to `population` (kept by pointer until the next Sync). Returns false
  // when the population did not continue the last one and was indexed afresh.
  bool Sync(const std::vector<headevo::v1::Candidate>& population);

  // The DONE candidates in creation order (SelectParents' pool): how many, the i-th
  // (i < evaluated_count()), and all of them.
  size_t evaluated_count() const { return evaluated_.size(); }
  const headevo::v1::Candidate* EvaluatedAt(size_t i) const {
    return &(*population_)[evaluated_[i]];
  }
  std::vector<const headevo::v1::Candidate*> Evaluated() const;
  // The `limit` fittest DONE candidates, fittest first: RankByFitness's answer.
  std::vector<const headevo::v1::Candidate*> Fittest(int limit) const;
  // The candidate with `id`, or nullptr.
  const headevo::v1::Candidate* Find(int64_t id) const;

 private:
  // IsFitter's order on what it reads, fixed when a candidate is DONE.
  struct Rank {
    int rung;
    double fitness;  // NaN as +infinity
    int64_t id;
    size_t position;
    bool operator<(const Rank& other) const;
  };

  void Reset();
  // Files the candidate at `position` if it is finished; false while it is still to be trained.
  bool Settle(size_t position);

  SelectionOptions options_;
  bool fitness_may_change_;
  const std::vector<headevo::v1::Candidate>* population_ = nullptr;
  size_t synced_ = 0;         // candidates seen
  int64_t first_id_ = 0;      // population[0]'s id, to notice another population
  int64_t last_id_ = 0;       // population[synced_ - 1]'s id
  std::vector<size_t> pending_;    // positions not finished when last seen
  std::vector<size_t> evaluated_;  // positions of DONE candidates, ascending
  std::set<Rank> by_fitness_;      // DONE candidates, fittest first (fixed fitness only)
  std::unordered_map<int64_t, size_t> position_of_;  // id -> position
};

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_EVALUATED_INDEX_H_
