// Writing the generated search into the database, as a search writes it, and timing the writes.
#ifndef HEADEVO_BENCH_STORAGE_FILL_H_
#define HEADEVO_BENCH_STORAGE_FILL_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "bench/storage/flags.h"
#include "bench/storage/lineage_generator.h"
#include "storage/store.h"

namespace headevo::bench_storage {

// What one durability setting's writes took.
struct PhaseStats {
  int64_t head_rows = 0;  // candidate_heads rows written
  double insert_s = 0.0;  // inside InsertCandidatesWithJobs only
  double insert_cpu_s = 0.0;
  int64_t results = 0;
  double result_s = 0.0;  // inside RecordResult only

  double HeadRowsPerSecond() const { return insert_s > 0 ? head_rows / insert_s : 0.0; }
  double ResultsPerSecond() const { return result_s > 0 ? results / result_s : 0.0; }
};

// A line on stderr every ~5% of the generations, so a long run shows it is alive.
class Progress {
 public:
  explicit Progress(int total_generations) : total_(total_generations), start_(Clock::now()) {}

  void GenerationDone(int done, const PhaseStats& phase) {
    if (done * 20LL < next_ * static_cast<int64_t>(total_) && done != total_) return;
    next_ = done * 20LL / total_ + 1;
    std::fprintf(stderr,
                 "[bench_storage] %d/%d generations (%lld%%), %.0f s elapsed, this phase: %.0f "
                 "head rows/s inserted, %.0f results/s\n",
                 done, total_, done * 100LL / total_, Seconds(start_), phase.HeadRowsPerSecond(),
                 phase.ResultsPerSecond());
  }

 private:
  const int total_;
  const Clock::time_point start_;
  int64_t next_ = 1;  // report when done reaches next_ twentieths of total_
};

// Writes generations [first, last) and their results. `parents` holds the previous generation
// as stored (empty before generation 0) and is replaced by each new one.
absl::Status WriteGenerations(storage::Store& store, LineageGenerator& generator,
                              const Flags& flags, int first, int last,
                              std::vector<Candidate>& parents, PhaseStats& phase,
                              Progress& progress);

absl::StatusOr<std::unique_ptr<storage::Store>> OpenWritable(const std::string& path,
                                                             bool full_durability);

void PrintPhase(const char* name, const PhaseStats& phase);

// Fills the database: generations [0, G - F) with kNormal, the last F with the default kFull
// (each store is closed, releasing the writer lock, before the next is opened).
// Sets `search_id` to the search created, `parents` to the last generation as stored.
absl::Status Fill(const std::string& path, const Flags& flags, int generations, int64_t& search_id,
                  std::vector<Candidate>& parents, PhaseStats& normal, PhaseStats& full);

}  // namespace headevo::bench_storage

#endif  // HEADEVO_BENCH_STORAGE_FILL_H_
