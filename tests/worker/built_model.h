// A model built for an EvaluationRequest the way TorchEvaluator builds one, for worker tests.
#ifndef HEADEVO_TESTS_WORKER_BUILT_MODEL_H_
#define HEADEVO_TESTS_WORKER_BUILT_MODEL_H_

#include <torch/torch.h>

#include <cstdint>

#include "headevo/v1/candidate.pb.h"
#include "worker/genome_layout.h"
#include "worker/model.h"

namespace headevo::worker::testing {

struct BuiltModel {
  headevo::v1::EvaluationRequest request;
  GenomeLayout layout;
  SparseTransformer model{nullptr};
};

// On the CPU, with weights drawn after torch::manual_seed(init_seed).
inline BuiltModel BuildModel(const headevo::v1::EvaluationRequest& request, uint64_t init_seed) {
  BuiltModel built;
  built.request = request;
  torch::manual_seed(init_seed);
  built.layout = MakeGenomeLayout(request.genome(), request.training().model());
  built.model =
      SparseTransformer(ModelOptionsFor(request.training().model(), built.layout, torch::kCPU));
  return built;
}

}  // namespace headevo::worker::testing

#endif  // HEADEVO_TESTS_WORKER_BUILT_MODEL_H_
