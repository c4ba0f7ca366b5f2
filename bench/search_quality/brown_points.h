// The points of a Brown-corpus run (candidates and baselines as (val_loss, connections)) and
// what search_quality reports about sets of them: dominance, tables, the best under a budget.
#ifndef HEADEVO_BENCH_SEARCH_QUALITY_BROWN_POINTS_H_
#define HEADEVO_BENCH_SEARCH_QUALITY_BROWN_POINTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "headevo/v1/candidate.pb.h"
#include "search/pareto.h"

namespace headevo::search_quality {

struct Point {
  std::string what;  // e.g. "#12 gen 2" or "local (window 8)"
  double loss = 0;
  int64_t connections = 0;
};

// Named "#<id> gen <generation>".
Point PointOf(const v1::Candidate& c);

std::vector<search::Objectives> ObjectivesOf(const std::vector<Point>& points);

// How many of `points` some point of `front` dominates.
int DominatedBy(const std::vector<Point>& front, const std::vector<Point>& points);

// A table of `front`, each point also relative to dense.
void PrintFront(const char* title, const std::vector<Point>& front, double dense_loss,
                int64_t dense_connections);

// The lowest-loss point with at most `max_connections`, if any.
std::optional<Point> BestWithin(const std::vector<Point>& points, int64_t max_connections);

}  // namespace headevo::search_quality

#endif  // HEADEVO_BENCH_SEARCH_QUALITY_BROWN_POINTS_H_
