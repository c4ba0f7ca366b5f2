#include "search/pareto.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace headevo::search {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

// Adds one objective's share of the crowding distance. `get` reads that objective.
template <typename Get>
void AddCrowding(const std::vector<Objectives>& points, const std::vector<int>& front, Get get,
                 std::vector<double>& distance) {
  // Positions into `front`, ordered by the objective; ties by index keep the result
  // independent of the order the caller listed the front in.
  std::vector<int> order(front.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    const double va = get(points[front[a]]), vb = get(points[front[b]]);
    if (va != vb) return va < vb;
    return front[a] < front[b];
  });
  distance[order.front()] = kInfinity;
  distance[order.back()] = kInfinity;
  const double range = get(points[front[order.back()]]) - get(points[front[order.front()]]);
  if (!(range > 0.0) || !std::isfinite(range)) return;
  for (size_t i = 1; i + 1 < order.size(); ++i) {
    const double gap = get(points[front[order[i + 1]]]) - get(points[front[order[i - 1]]]);
    distance[order[i]] += gap / range;
  }
}

}  // namespace

bool Dominates(const Objectives& a, const Objectives& b) {
  return a.loss <= b.loss && a.connections <= b.connections &&
         (a.loss < b.loss || a.connections < b.connections);
}

std::vector<std::vector<int>> NonDominatedSort(const std::vector<Objectives>& points) {
  const int n = static_cast<int>(points.size());
  std::vector<std::vector<int>> dominated(n);  // dominated[i]: the points i dominates
  std::vector<int> dominators(n, 0);           // how many points dominate i
  for (int i = 0; i < n; ++i) {
    for (int j = i + 1; j < n; ++j) {
      if (Dominates(points[i], points[j])) {
        dominated[i].push_back(j);
        ++dominators[j];
      } else if (Dominates(points[j], points[i])) {
        dominated[j].push_back(i);
        ++dominators[i];
      }
    }
  }
  std::vector<std::vector<int>> fronts;
  std::vector<int> current;
  for (int i = 0; i < n; ++i) {
    if (dominators[i] == 0) current.push_back(i);
  }
  while (!current.empty()) {
    std::vector<int> next;
    for (int i : current) {
      for (int j : dominated[i]) {
        if (--dominators[j] == 0) next.push_back(j);
      }
    }
    std::sort(next.begin(), next.end());
    fronts.push_back(std::move(current));
    current = std::move(next);
  }
  return fronts;
}

std::vector<double> CrowdingDistance(const std::vector<Objectives>& points,
                                     const std::vector<int>& front) {
  std::vector<double> distance(front.size(), 0.0);
  if (front.empty()) return distance;
  AddCrowding(
      points, front, [](const Objectives& o) { return o.loss; }, distance);
  AddCrowding(
      points, front, [](const Objectives& o) { return o.connections; }, distance);
  return distance;
}

double Hypervolume(const std::vector<Objectives>& points, const Objectives& reference) {
  std::vector<Objectives> inside;
  for (const Objectives& p : points) {
    if (std::isfinite(p.loss) && std::isfinite(p.connections) && p.loss < reference.loss &&
        p.connections < reference.connections) {
      inside.push_back(p);
    }
  }
  std::sort(inside.begin(), inside.end(), [](const Objectives& a, const Objectives& b) {
    if (a.loss != b.loss) return a.loss < b.loss;
    return a.connections < b.connections;
  });
  // In loss order each point that needs fewer connections than every point before it adds the
  // strip between its connections and the previous lowest; the others are dominated.
  double volume = 0.0;
  double lowest_connections = reference.connections;
  for (const Objectives& p : inside) {
    if (p.connections >= lowest_connections) continue;
    volume += (reference.loss - p.loss) * (lowest_connections - p.connections);
    lowest_connections = p.connections;
  }
  return volume;
}

Objectives ObjectivesOf(const headevo::v1::Candidate& candidate) {
  const double loss = candidate.metrics().val_loss();
  return {std::isnan(loss) ? kInfinity : loss,
          static_cast<double>(candidate.metrics().connections())};
}

std::vector<const headevo::v1::Candidate*> ParetoFront(
    const std::vector<headevo::v1::Candidate>& population) {
  std::vector<const headevo::v1::Candidate*> done;
  std::vector<Objectives> points;
  for (const auto& c : population) {
    if (c.state() != headevo::v1::CANDIDATE_STATE_DONE) continue;
    done.push_back(&c);
    points.push_back(ObjectivesOf(c));
  }
  std::vector<const headevo::v1::Candidate*> front;
  if (done.empty()) return front;
  const std::vector<std::vector<int>> fronts = NonDominatedSort(points);
  for (int i : fronts.front()) front.push_back(done[i]);
  std::sort(front.begin(), front.end(), [](const auto* a, const auto* b) {
    if (a->metrics().connections() != b->metrics().connections()) {
      return a->metrics().connections() < b->metrics().connections();
    }
    return a->id() < b->id();
  });
  return front;
}

}  // namespace headevo::search
