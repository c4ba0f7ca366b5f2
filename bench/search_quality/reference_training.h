// Trains one reference model (dense or a hand-made sparse pattern) outside any search, the way
// the coordinator trains a search's baselines: the search's training spec with the model's
// attention replaced, a negative training stream (never a candidate's), every layer holding the
// configured head count. Used by the parts that need a reference at budgets of their own.
#ifndef HEADEVO_BENCH_SEARCH_QUALITY_REFERENCE_TRAINING_H_
#define HEADEVO_BENCH_SEARCH_QUALITY_REFERENCE_TRAINING_H_

#include <string>

#include "bench/search_quality/brown_points.h"
#include "headevo/v1/training.pb.h"
#include "search/evaluator.h"
#include "search/search_options.h"

namespace headevo::search_quality {

struct ReferenceRequest {
  v1::ModelSpec model;  // the search's model with attention (and its parameter) set
  int steps = 0;        // 0: the search's [training] steps
  int stream = -2;      // the training stream: server::CandidateTrainingSeed(seed, stream)
  std::string what;     // the point's name, e.g. "local (window 8)"
};

// Trains `request`'s model with `options`' training spec and prints one line. The point's loss
// is NaN when the worker refused or failed (the reason is printed).
Point TrainReference(headevo::search::Evaluator& evaluator, const search::SearchOptions& options,
                     const ReferenceRequest& request);

}  // namespace headevo::search_quality

#endif  // HEADEVO_BENCH_SEARCH_QUALITY_REFERENCE_TRAINING_H_
