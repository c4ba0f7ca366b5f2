// Builders for the EvaluationRequests the worker tests send.
#ifndef HEADEVO_TESTS_WORKER_TEST_REQUESTS_H_
#define HEADEVO_TESTS_WORKER_TEST_REQUESTS_H_

#include <cstdint>
#include <vector>

#include "headevo/v1/candidate.pb.h"

namespace headevo::worker::testing {

// A tiny causal planted-offsets run: V=8, N=16, d_model 16, d_head 8, mlp_ratio 2,
// planted offsets {-3, -7}, batch 16, 40 steps, lr 1e-2, 2 eval batches. No genome.
inline headevo::v1::EvaluationRequest TinyPlantedRequest() {
  headevo::v1::EvaluationRequest request;
  request.set_candidate_id(7);
  headevo::v1::TrainingSpec* t = request.mutable_training();
  headevo::v1::ModelSpec* m = t->mutable_model();
  m->set_vocab_size(8);
  m->set_d_model(16);
  m->set_num_layers(1);
  m->set_heads_per_layer(2);
  m->set_d_head(8);
  m->set_mlp_ratio(2);
  m->set_seq_len(16);
  m->set_causal(true);
  m->set_attention(headevo::v1::ATTENTION_KIND_SPARSE);
  t->mutable_task()->set_kind(headevo::v1::TASK_KIND_PLANTED_OFFSETS);
  t->mutable_task()->add_planted_offsets(-3);
  t->mutable_task()->add_planted_offsets(-7);
  t->set_steps(40);
  t->set_batch_size(16);
  t->set_learning_rate(1e-2);
  t->set_weight_decay(0.0);
  t->set_eval_batches(2);
  t->set_seed(1);
  return request;
}

// Appends a head to the request's genome (setting genome.num_layers to the model's) with
// id 100 + its index.
inline void AddHead(headevo::v1::EvaluationRequest* request, int layer,
                    const std::vector<int32_t>& offsets) {
  headevo::v1::Genome* genome = request->mutable_genome();
  genome->set_num_layers(request->training().model().num_layers());
  headevo::v1::Head* head = genome->add_heads();
  head->set_id(100 + genome->heads_size() - 1);
  head->set_layer(layer);
  for (int32_t offset : offsets) head->mutable_offsets()->add_offsets(offset);
}

}  // namespace headevo::worker::testing

#endif  // HEADEVO_TESTS_WORKER_TEST_REQUESTS_H_
