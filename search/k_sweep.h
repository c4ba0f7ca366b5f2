// The k sweep, the seed's first experiment: how sparse can attention get before it hurts? For
// mean k per head on a decreasing schedule, a few random head sets with that mean are trained
// from scratch and their mean validation loss is compared with the dense model's. The sweep
// stops at the first k whose loss exceeds dense by more than a tolerance and reports the smallest
// k that held. This is the planner only: the driver trains and feeds the losses back.
#ifndef HEADEVO_SEARCH_K_SWEEP_H_
#define HEADEVO_SEARCH_K_SWEEP_H_

#include <optional>
#include <vector>

#include "absl/status/status.h"

namespace headevo::search {

struct KSweepOptions {
  // The first mean k per head tried.
  double k_start = 8.0;
  // Each next k is the previous times k_factor (0 < k_factor < 1) ...
  double k_factor = 0.5;
  // ... while it is >= k_min (k_min >= 1: a head attends to at least one position).
  double k_min = 1.0;
  // Random head sets trained per k; their mean val_loss is compared, which averages out the
  // luck of one draw.
  int repeats = 2;
  // Relative: k holds while the mean loss <= dense_loss * (1 + tolerance).
  double tolerance = 0.05;

  // InvalidArgument naming the bad field, e.g. "k_factor must be in (0, 1), got 1".
  absl::Status Validate() const;
};

// k_start, k_start * k_factor, ... while >= k_min (a k that misses k_min only by rounding, like
// 0.1 * 10, is kept): strictly decreasing, never empty for valid options. Empty if the options
// are invalid.
std::vector<double> KSchedule(const KSweepOptions& options);

struct KSweepStep {
  double k = 0;
  std::vector<double> losses;  // one per repeat, in the order recorded
  double mean_loss = 0;
  bool held = false;
};

// Walks KSchedule(options) one k at a time. Not thread-safe; cheap to copy.
class KSweep {
 public:
  // Requires options.Validate().ok(); with invalid options the schedule is empty and the sweep
  // is done at once. A non-finite dense_loss makes every k fail.
  KSweep(const KSweepOptions& options, double dense_loss);

  // The k to train next; nullopt when the sweep is done (schedule exhausted or the last k
  // recorded failed to hold).
  std::optional<double> NextK() const;

  // Records the losses of the `repeats` head sets trained at NextK(). Any non-finite loss (a
  // diverged run) means the k did not hold. FailedPrecondition when the sweep is done;
  // InvalidArgument when losses.size() != repeats. Nothing is recorded on error.
  absl::Status Record(const std::vector<double>& losses);

  // The k values recorded so far, in schedule order; only the last can have failed.
  const std::vector<KSweepStep>& steps() const { return steps_; }
  // The smallest k recorded that held; nullopt if none did (e.g. k_start failed).
  std::optional<double> SmallestKThatHeld() const;
  double dense_loss() const { return dense_loss_; }

 private:
  KSweepOptions options_;
  double dense_loss_;
  std::vector<double> schedule_;
  std::vector<KSweepStep> steps_;
};

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_K_SWEEP_H_
