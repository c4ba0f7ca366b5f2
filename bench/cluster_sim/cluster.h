// The simulated cluster: a discrete-event loop over simulated workers that lease, heartbeat and
// report to a real Coordinator on a real store, in one thread, on the coordinator's fake clock.
// Workers die (1 % an hour by default) and are replaced by newly registered ones; some links
// are cut for longer than the lease and heal, and the late report that follows must be
// refused. Real time is measured around every coordinator call that leases.
//
// Thread safety: one thread; the coordinator and store must outlive Simulate.
#ifndef HEADEVO_BENCH_CLUSTER_SIM_CLUSTER_H_
#define HEADEVO_BENCH_CLUSTER_SIM_CLUSTER_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/cluster_sim/flags.h"
#include "server/engine/coordinator.h"

namespace headevo::bench_cluster_sim {

// The simulated time: the coordinator's clock reads it (options.clock).
struct SimClock {
  int64_t now_ms = 1'700'000'000'000;  // a real-looking epoch
};

struct SimFigures {
  int64_t sim_ms = 0;        // simulated time covered
  bool reached_end = false;  // false: stopped at flags.max_real_s
  double real_s = 0;
  std::vector<double> lease_ms;  // real time of every LeaseJob call that returned a job
  int64_t reports_accepted = 0;  // first reports recorded
  int64_t reports_refused = 0;   // late reports after a cut, refused (FailedPrecondition)
  int64_t heartbeats = 0;
  int64_t heartbeats_refused = 0;  // the lease had moved on: the worker dropped the job
  int64_t deaths = 0;
  int64_t cuts = 0;
  int64_t registrations = 0;
  int64_t calls = 0;  // every coordinator call
  // Candidate ids whose result the coordinator accepted (answered OK, not a repeat).
  std::vector<int64_t> accepted_candidates;
};

absl::StatusOr<SimFigures> Simulate(const Flags& flags, server::Coordinator& coordinator,
                                    SimClock& clock);

}  // namespace headevo::bench_cluster_sim

#endif  // HEADEVO_BENCH_CLUSTER_SIM_CLUSTER_H_
