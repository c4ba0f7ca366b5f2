// What a worker would report for a job, without training: finite losses, the genome's
// connection count and statistics for every head (as steady state needs to rank heads and
// breed), all deterministic from the job id. Shared by bench_coordinator and bench_cluster_sim.
#ifndef HEADEVO_BENCH_COORDINATOR_FAKE_RESULT_H_
#define HEADEVO_BENCH_COORDINATOR_FAKE_RESULT_H_

#include <cstdint>

#include "headevo/v1/candidate.pb.h"

namespace headevo::bench_coordinator {

v1::EvaluationResult FakeResult(int64_t job_id, const v1::EvaluationRequest& request);

}  // namespace headevo::bench_coordinator

#endif  // HEADEVO_BENCH_COORDINATOR_FAKE_RESULT_H_
