#include "bench/storage/queries.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <random>

#include "absl/status/status.h"

namespace headevo::bench_storage {

using headevo::v1::Candidate;
using headevo::v1::Head;

namespace {

struct Timing {
  double median_ms = 0.0;
  double max_ms = 0.0;
};

// Times call(i) for i in [0, n).
absl::StatusOr<Timing> TimeCalls(int n, const std::function<absl::Status(int)>& call) {
  std::vector<double> ms;
  for (int i = 0; i < n; ++i) {
    const Clock::time_point start = Clock::now();
    if (absl::Status s = call(i); !s.ok()) return s;
    ms.push_back(Seconds(start) * 1e3);
  }
  std::sort(ms.begin(), ms.end());
  return Timing{ms[ms.size() / 2], ms.back()};
}

template <typename T>
T Median(std::vector<T> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

absl::StatusOr<double> MeasureAncestry(storage::Store& store, const std::vector<int64_t>& ids,
                                       int repetitions) {
  std::vector<int> depths;
  absl::StatusOr<Timing> chain = TimeCalls(repetitions, [&](int i) {
    absl::StatusOr<std::vector<storage::LineageNode>> nodes = store.AncestorChain(ids[i]);
    if (nodes.ok()) depths.push_back(nodes->back().depth);
    return nodes.status();
  });
  if (!chain.ok()) return chain.status();
  std::printf("ancestry (AncestorChain, depth %d): median %.3f ms, max %.3f ms over %d\n",
              Median(depths), chain->median_ms, chain->max_ms, repetitions);
  const int full = std::min(5, repetitions);
  absl::StatusOr<Timing> protos =
      TimeCalls(full, [&](int i) { return store.Ancestors(ids[i]).status(); });
  if (!protos.ok()) return protos.status();
  std::printf("  full candidates (Ancestors, not in RESULT): median %.3f ms, max %.3f ms over %d\n",
              protos->median_ms, protos->max_ms, full);
  return chain->median_ms;
}

absl::StatusOr<double> MeasureHeadHistory(storage::Store& store, const std::vector<int64_t>& ids,
                                          int repetitions) {
  std::vector<size_t> appearances;
  int64_t busiest = ids[0];
  size_t most = 0;
  absl::StatusOr<Timing> timing = TimeCalls(repetitions, [&](int i) {
    absl::StatusOr<storage::HeadHistory> history = store.GetHeadHistory(ids[i]);
    if (!history.ok()) return history.status();
    appearances.push_back(history->appearances.size());
    if (appearances.back() > most) {
      most = appearances.back();
      busiest = ids[i];
    }
    return absl::OkStatus();
  });
  if (!timing.ok()) return timing.status();
  std::printf(
      "head history (GetHeadHistory, median %zu appearances): median %.3f ms, max %.3f ms "
      "over %d random heads\n",
      Median(appearances), timing->median_ms, timing->max_ms, repetitions);
  absl::StatusOr<Timing> busy =
      TimeCalls(repetitions, [&](int) { return store.GetHeadHistory(busiest).status(); });
  if (!busy.ok()) return busy.status();
  std::printf("  busiest sampled head %lld (%zu appearances): median %.3f ms, max %.3f ms\n",
              static_cast<long long>(busiest), most, busy->median_ms, busy->max_ms);
  return timing->median_ms;
}

absl::Status MeasureSearchWide(storage::Store& store, int64_t search_id) {
  size_t size = 0;
  absl::StatusOr<Timing> front = TimeCalls(5, [&](int) {
    absl::StatusOr<std::vector<storage::LineageNode>> nodes = store.ParetoFront(search_id);
    if (nodes.ok()) size = nodes->size();
    return nodes.status();
  });
  if (!front.ok()) return front.status();
  std::printf("Pareto front (ParetoFront, %zu candidates): median %.1f ms, max %.1f ms over 5\n",
              size, front->median_ms, front->max_ms);
  absl::StatusOr<Timing> best = TimeCalls(5, [&](int) {
    absl::StatusOr<std::vector<storage::LineageNode>> nodes = store.BestPerGeneration(search_id);
    if (nodes.ok()) size = nodes->size();
    return nodes.status();
  });
  if (!best.ok()) return best.status();
  std::printf(
      "best per generation (BestPerGeneration, %zu rows): median %.1f ms, max %.1f ms "
      "over 5\n",
      size, best->median_ms, best->max_ms);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<QueryFigures> MeasureQueries(const std::string& path, const Flags& flags,
                                            int64_t search_id,
                                            const std::vector<Candidate>& last_generation) {
  storage::StoreOptions options;
  options.read_only = true;
  absl::StatusOr<std::unique_ptr<storage::Store>> store = storage::Store::Open(path, options);
  if (!store.ok()) return store.status();
  std::mt19937_64 rng(flags.seed + 1);
  std::vector<int64_t> candidate_ids, head_ids;
  int64_t max_head_id = 0;
  for (const Candidate& c : last_generation) {
    for (const Head& h : c.genome().heads()) max_head_id = std::max(max_head_id, h.id());
  }
  for (int i = 0; i < flags.repetitions; ++i) {
    candidate_ids.push_back(last_generation[rng() % last_generation.size()].id());
    head_ids.push_back(1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(max_head_id)));
  }
  QueryFigures figures;
  absl::StatusOr<double> ancestry = MeasureAncestry(**store, candidate_ids, flags.repetitions);
  if (!ancestry.ok()) return ancestry.status();
  figures.ancestry_ms = *ancestry;
  absl::StatusOr<double> history = MeasureHeadHistory(**store, head_ids, flags.repetitions);
  if (!history.ok()) return history.status();
  figures.head_history_ms = *history;
  if (absl::Status s = MeasureSearchWide(**store, search_id); !s.ok()) return s;
  return figures;
}

}  // namespace headevo::bench_storage
