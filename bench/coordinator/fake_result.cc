#include "bench/coordinator/fake_result.h"

namespace headevo::bench_coordinator {
namespace {

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A uniform number in [0, 1), the n-th drawn from `seed`.
double Unit(uint64_t seed, uint64_t n) {
  return static_cast<double>(SplitMix(seed * 1'000'003 + n) >> 11) * 0x1.0p-53;
}

}  // namespace

v1::EvaluationResult FakeResult(int64_t job_id, const v1::EvaluationRequest& request) {
  const uint64_t seed = static_cast<uint64_t>(job_id);
  v1::EvaluationResult result;
  result.set_candidate_id(request.candidate_id());
  v1::Metrics& m = *result.mutable_metrics();
  m.set_val_loss(1.5 + 1.5 * Unit(seed, 0));
  m.set_train_loss(m.val_loss() - 0.05 * Unit(seed, 1));
  m.set_steps(request.training().steps());
  int64_t connections = 0;
  uint64_t n = 2;
  for (const v1::Head& head : request.genome().heads()) {
    connections += head.offsets().offsets_size();
    v1::HeadStats& s = *result.add_head_stats();
    s.set_head_id(head.id());
    s.set_layer(head.layer());
    s.set_entropy(Unit(seed, n++));
    s.set_independence(Unit(seed, n++));
    s.set_weight_norm(0.5 + Unit(seed, n++));
    s.set_importance(0.01 * Unit(seed, n++));
  }
  m.set_connections(connections);
  return result;
}

}  // namespace headevo::bench_coordinator
