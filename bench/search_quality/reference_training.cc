#include "bench/search_quality/reference_training.h"

#include <cstdio>
#include <limits>
#include <utility>

#include "absl/status/statusor.h"
#include "bench/search_quality/common.h"
#include "server/engine/coordinator.h"

namespace headevo::search_quality {

Point TrainReference(headevo::search::Evaluator& evaluator, const search::SearchOptions& options,
                     const ReferenceRequest& reference) {
  v1::EvaluationRequest request;
  *request.mutable_training() = options.training;
  *request.mutable_training()->mutable_model() = reference.model;
  if (reference.steps > 0) request.mutable_training()->set_steps(reference.steps);
  request.mutable_training()->set_seed(
      server::CandidateTrainingSeed(options.seed, reference.stream));
  v1::Genome& genome = *request.mutable_genome();
  genome.set_num_layers(reference.model.num_layers());
  for (int layer = 0; layer < reference.model.num_layers(); ++layer) {
    for (int h = 0; h < reference.model.heads_per_layer(); ++h) genome.add_heads()->set_layer(layer);
  }
  const auto start = Clock::now();
  absl::StatusOr<v1::EvaluationResult> result = evaluator.Evaluate(request);
  Point point{reference.what, std::numeric_limits<double>::quiet_NaN(), 0};
  if (result.ok()) {
    point.loss = result->metrics().val_loss();
    point.connections = result->metrics().connections();
    std::printf("  %-26s %5d steps  loss %.4f  conn %lld  (%.0f s)\n", point.what.c_str(),
                request.training().steps(), point.loss, static_cast<long long>(point.connections),
                Seconds(start));
  } else {
    std::printf("  %-26s not trained: %s\n", point.what.c_str(),
                std::string(result.status().message()).c_str());
  }
  std::fflush(stdout);
  return point;
}

}  // namespace headevo::search_quality
