// The one thing the search driver knows about training: hand it a candidate, get back its
// metrics and per-head statistics. The in-process LibTorch worker implements it, the
// coordinator implements it over remote workers, and tests implement it with a fake.
#ifndef HEADEVO_SEARCH_EVALUATOR_H_
#define HEADEVO_SEARCH_EVALUATOR_H_

#include "absl/status/statusor.h"
#include "headevo/v1/candidate.pb.h"

namespace headevo::search {

class Evaluator {
 public:
  virtual ~Evaluator() = default;

  // Trains and evaluates request.genome() as request.training() says. Returns metrics and one
  // HeadStats per genome head, in genome order, with head_id copied from the genome.
  // Errors: InvalidArgument for a request that can never succeed (bad shapes, an offset set
  // outside the window); Internal for a failure inside training (e.g. a NaN loss).
  // Deterministic: the same request gives the same result on the same device and build.
  // Not required to be thread-safe; one caller at a time.
  virtual absl::StatusOr<headevo::v1::EvaluationResult> Evaluate(
      const headevo::v1::EvaluationRequest& request) = 0;
};

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_EVALUATOR_H_
