// The read-only queries researchers run on a long search's lineage, timed.
#ifndef HEADEVO_BENCH_STORAGE_QUERIES_H_
#define HEADEVO_BENCH_STORAGE_QUERIES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/storage/flags.h"
#include "storage/store.h"

namespace headevo::bench_storage {

// Medians of the RESULT line, in milliseconds.
struct QueryFigures {
  double ancestry_ms = 0.0;
  double head_history_ms = 0.0;
};

// The read-only queries on random candidates of the last generation and random heads.
// Opens `path` read-only; prints every measurement as it goes.
absl::StatusOr<QueryFigures> MeasureQueries(const std::string& path, const Flags& flags,
                                            int64_t search_id,
                                            const std::vector<v1::Candidate>& last_generation);

}  // namespace headevo::bench_storage

#endif  // HEADEVO_BENCH_STORAGE_QUERIES_H_
