// The one thing the search driver knows about training: hand it a candidate, get back its
// metrics and per-head statistics. The in-process LibTorch worker implements it, the
// coordinator implements it over remote workers, and tests implement it with a fake.
#ifndef HEADEVO_SEARCH_EVALUATOR_H_
#define HEADEVO_SEARCH_EVALUATOR_H_

#include <functional>

#include "absl/status/statusor.h"
#include "headevo/v1/candidate.pb.h"

namespace headevo::search {

// Asked by an evaluator between training steps; true asks it to stop. May be called from the
// evaluator's thread at any time during an evaluation, so it must be cheap and thread-safe
// (typically it reads an atomic flag). An empty function never cancels.
using CancelCheck = std::function<bool()>;

class Evaluator {
 public:
  virtual ~Evaluator() = default;

  // Trains and evaluates request.genome() as request.training() says. Returns metrics and one
  // HeadStats per genome head, in genome order, with head_id copied from the genome.
  // Errors: InvalidArgument for a request that can never succeed (bad shapes, an offset set
  // outside the window); Internal for a failure inside training (e.g. a NaN loss).
  // Never throws: implementations turn their exceptions into a Status.
  // Deterministic: the same request gives the same result on the same device and build.
  // Not required to be thread-safe; one caller at a time.
  virtual absl::StatusOr<headevo::v1::EvaluationResult> Evaluate(
      const headevo::v1::EvaluationRequest& request) = 0;

  // Evaluate, stoppable part-way: an evaluator that trains in steps asks `cancelled` between
  // them and, once it returns true, stops and returns Cancelled (a result never comes from a
  // cancelled run). The default ignores `cancelled` and runs Evaluate to its end, so an
  // evaluator that cannot stop early need not override this; callers must therefore be ready
  // to wait for a whole evaluation. Same contract as Evaluate otherwise.
  virtual absl::StatusOr<headevo::v1::EvaluationResult> EvaluateCancellable(
      const headevo::v1::EvaluationRequest& request, const CancelCheck& cancelled) {
    (void)cancelled;
    return Evaluate(request);
  }
};

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_EVALUATOR_H_
