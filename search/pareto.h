// Two-objective Pareto tools for the (val_loss, connections) trade-off: dominance, fast
// non-dominated sorting and crowding distance (NSGA-II, Deb et al. 2002), and the exact 2-D
// hypervolume that measures how much of the trade-off a search has covered. Both objectives are
// minimised. Pure functions: no state, no randomness.
#ifndef HEADEVO_SEARCH_PARETO_H_
#define HEADEVO_SEARCH_PARETO_H_

#include <vector>

#include "headevo/v1/candidate.pb.h"

namespace headevo::search {

struct Objectives {
  double loss = 0.0;
  double connections = 0.0;
};

// True when `a` is no worse than `b` in both objectives and better in at least one. Equal points
// do not dominate each other; a NaN objective makes every comparison false.
bool Dominates(const Objectives& a, const Objectives& b);

// Fronts of indices into `points`: front 0 holds the points no other point dominates, front 1
// those dominated only by front 0, and so on. Every index appears in exactly one front; each
// front is sorted by index. Empty input: no fronts. O(n^2) comparisons.
std::vector<std::vector<int>> NonDominatedSort(const std::vector<Objectives>& points);

// The crowding distance of each member of `front` (indices into `points`), in the order of
// `front`: for each objective, the gap between a point's two neighbours along that objective,
// divided by the front's range in it, summed over objectives. The extreme points of either
// objective get +infinity so the ends of the front are always kept. An objective with zero or
// non-finite range contributes nothing to interior points.
std::vector<double> CrowdingDistance(const std::vector<Objectives>& points,
                                     const std::vector<int>& front);

// Area dominated by `points` and bounded by `reference` (which should be finite and worse than
// every point of interest). A point that is not strictly better than the reference in both
// objectives, or has a non-finite objective, contributes nothing; dominated and duplicate points
// add nothing. Exact: sort by loss, then one sweep.
double Hypervolume(const std::vector<Objectives>& points, const Objectives& reference);

// (val_loss, connections) of a candidate. A NaN loss (a diverged model) counts as +infinity, so
// it can never dominate a model that trained.
Objectives ObjectivesOf(const headevo::v1::Candidate& candidate);

// The candidates in state DONE on the first front of the DONE ones, sorted by connections
// ascending (ties: lower id first). Pointers into `population`, valid while it is unchanged.
std::vector<const headevo::v1::Candidate*> ParetoFront(
    const std::vector<headevo::v1::Candidate>& population);

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_PARETO_H_
