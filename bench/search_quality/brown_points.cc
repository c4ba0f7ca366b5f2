#include "bench/search_quality/brown_points.h"

#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"

namespace headevo::search_quality {

Point PointOf(const v1::Candidate& c) {
  return {absl::StrCat("#", c.id(), " gen ", c.generation()), c.metrics().val_loss(),
          c.metrics().connections()};
}

std::vector<search::Objectives> ObjectivesOf(const std::vector<Point>& points) {
  std::vector<search::Objectives> out;
  for (const Point& p : points) out.push_back({p.loss, static_cast<double>(p.connections)});
  return out;
}

int DominatedBy(const std::vector<Point>& front, const std::vector<Point>& points) {
  int n = 0;
  for (const search::Objectives& p : ObjectivesOf(points)) {
    for (const search::Objectives& q : ObjectivesOf(front)) {
      if (search::Dominates(q, p)) {
        ++n;
        break;
      }
    }
  }
  return n;
}

void PrintFront(const char* title, const std::vector<Point>& front, double dense_loss,
                int64_t dense_connections) {
  std::printf("   %s\n   %-24s %8s %9s %10s %10s\n", title, "point", "conn", "of dense", "val_loss",
              "vs dense");
  for (const Point& p : front) {
    std::printf("   %-24s %8lld %8.1f%% %10.4f %+9.2f%%\n", p.what.c_str(),
                static_cast<long long>(p.connections), 100.0 * p.connections / dense_connections,
                p.loss, 100.0 * (p.loss / dense_loss - 1));
  }
}

std::optional<Point> BestWithin(const std::vector<Point>& points, int64_t max_connections) {
  std::optional<Point> best;
  for (const Point& p : points) {
    if (p.connections <= max_connections && std::isfinite(p.loss) &&
        (!best.has_value() || p.loss < best->loss)) {
      best = p;
    }
  }
  return best;
}

}  // namespace headevo::search_quality
