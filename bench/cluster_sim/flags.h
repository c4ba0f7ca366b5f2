// bench_cluster_sim's settings: the simulated cluster and how long it runs.
#ifndef HEADEVO_BENCH_CLUSTER_SIM_FLAGS_H_
#define HEADEVO_BENCH_CLUSTER_SIM_FLAGS_H_

#include <cstdint>
#include <string>

namespace headevo::bench_cluster_sim {

struct Flags {
  int workers = 10'000;  // simulated workers alive at any time (the dead are replaced)
  double days = 7;       // simulated time
  // Job times: log-normal with this median and sigma (of the log), clipped to [min, max].
  double job_median_min = 40;
  double job_sigma = 1.0;
  double job_min_min = 2;
  double job_max_min = 8 * 60;
  double deaths_per_hour = 0.01;  // share of live workers that die each simulated hour
  double cut_share = 0.005;       // share of jobs whose link is cut past the lease, then heals
  int64_t lease_min = 60;         // the coordinator's lease; workers heartbeat every third
  int max_attempts = 5;
  int population = 64;
  uint64_t seed = 1;
  std::string durability = "normal";  // the store's: normal or group (see main.cc)
  double max_real_s = 600;            // stop early (and say so) after this much real time
  bool keep = false;
};

}  // namespace headevo::bench_cluster_sim

#endif  // HEADEVO_BENCH_CLUSTER_SIM_FLAGS_H_
