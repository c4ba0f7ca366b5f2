#include "worker/request_validation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "tests/testutil/status_matchers.h"
#include "tests/worker/test_requests.h"

namespace headevo::worker {
namespace {

using headevo::v1::EvaluationRequest;
using testing::AddHead;
using testing::TinyPlantedRequest;

EvaluationRequest ValidRequest() {
  EvaluationRequest request = TinyPlantedRequest();
  AddHead(&request, 0, {-3, -1});
  AddHead(&request, 0, {-7});
  return request;
}

struct BadCase {
  std::string name;
  std::function<void(EvaluationRequest*)> mutate;
  std::string expected;  // a substring of the message
};

TEST(RequestValidationTest, AcceptsAValidRequest) { EXPECT_OK(ValidateRequest(ValidRequest())); }

TEST(RequestValidationTest, AcceptsAJobStoppingEarlyInItsScheduleAndAResume) {
  EvaluationRequest request = ValidRequest();
  request.mutable_training()->set_schedule_steps(120);
  request.set_resume_checkpoint_sha256(std::string(64, 'c'));
  EXPECT_OK(ValidateRequest(request));
  request.mutable_training()->set_schedule_steps(40);  // the last rung
  EXPECT_OK(ValidateRequest(request));
}

TEST(RequestValidationTest, RejectsBadRequestsNamingTheProblem) {
  const std::vector<BadCase> cases = {
      {"empty genome", [](EvaluationRequest* r) { r->mutable_genome()->clear_heads(); },
       "genome.heads is empty"},
      {"layer out of range",
       [](EvaluationRequest* r) { r->mutable_genome()->mutable_heads(1)->set_layer(1); },
       "layer index 1 is out of range"},
      {"negative layer",
       [](EvaluationRequest* r) { r->mutable_genome()->mutable_heads(0)->set_layer(-1); },
       "layer index -1"},
      {"layer without heads",
       [](EvaluationRequest* r) {
         r->mutable_training()->mutable_model()->set_num_layers(2);
         r->mutable_genome()->set_num_layers(2);
       },
       "layer 1 has no heads"},
      {"genome/model layer mismatch",
       [](EvaluationRequest* r) { r->mutable_genome()->set_num_layers(3); }, "genome.num_layers"},
      {"empty offsets",
       [](EvaluationRequest* r) { r->mutable_genome()->mutable_heads(1)->clear_offsets(); },
       "genome.heads[1] (layer 0): empty offset set"},
      {"unsorted offsets",
       [](EvaluationRequest* r) {
         r->mutable_genome()->mutable_heads(0)->mutable_offsets()->set_offsets(0, -1);
         r->mutable_genome()->mutable_heads(0)->mutable_offsets()->set_offsets(1, -3);
       },
       "sorted and unique"},
      {"duplicate offsets",
       [](EvaluationRequest* r) {
         r->mutable_genome()->mutable_heads(0)->mutable_offsets()->set_offsets(1, -3);
       },
       "sorted and unique"},
      {"positive offset when causal",
       [](EvaluationRequest* r) {
         r->mutable_genome()->mutable_heads(1)->mutable_offsets()->set_offsets(0, 2);
       },
       "offset 2 looks ahead"},
      {"offset outside the window",
       [](EvaluationRequest* r) {
         r->mutable_genome()->mutable_heads(1)->mutable_offsets()->set_offsets(0, -16);
       },
       "offset -16 is outside seq_len 16"},
      {"zero steps", [](EvaluationRequest* r) { r->mutable_training()->set_steps(0); },
       "training.steps must be > 0"},
      {"zero batch", [](EvaluationRequest* r) { r->mutable_training()->set_batch_size(0); },
       "training.batch_size"},
      {"zero eval batches",
       [](EvaluationRequest* r) { r->mutable_training()->set_eval_batches(0); },
       "training.eval_batches"},
      {"negative d_model",
       [](EvaluationRequest* r) { r->mutable_training()->mutable_model()->set_d_model(-4); },
       "training.model.d_model must be > 0, got -4"},
      {"zero seq_len",
       [](EvaluationRequest* r) { r->mutable_training()->mutable_model()->set_seq_len(0); },
       "training.model.seq_len"},
      {"zero learning rate",
       [](EvaluationRequest* r) { r->mutable_training()->set_learning_rate(0.0); },
       "training.learning_rate"},
      {"negative weight decay",
       [](EvaluationRequest* r) { r->mutable_training()->set_weight_decay(-0.1); },
       "training.weight_decay"},
      {"no task", [](EvaluationRequest* r) { r->mutable_training()->clear_task(); },
       "training.task.kind"},
      {"no planted offsets",
       [](EvaluationRequest* r) { r->mutable_training()->mutable_task()->clear_planted_offsets(); },
       "training.task.planted_offsets is empty"},
      {"planted offset outside the window",
       [](EvaluationRequest* r) {
         r->mutable_training()->mutable_task()->set_planted_offsets(0, 40);
       },
       "planted_offsets: offset 40"},
      {"brown corpus with a small vocabulary",
       [](EvaluationRequest* r) {
         r->mutable_training()->mutable_task()->set_kind(headevo::v1::TASK_KIND_BROWN_CORPUS);
       },
       "vocab_size must be 256"},
      {"look-ahead planted offset in a causal model",
       [](EvaluationRequest* r) {
         r->mutable_training()->mutable_task()->set_planted_offsets(0, 3);
       },
       "set model.causal = false"},
      {"text files without a path",
       [](EvaluationRequest* r) {
         r->mutable_training()->mutable_model()->set_vocab_size(256);
         r->mutable_training()->mutable_task()->set_kind(headevo::v1::TASK_KIND_TEXT_FILES);
       },
       "training.task.text_path is empty"},
      {"negative warm-up",
       [](EvaluationRequest* r) { r->mutable_training()->set_warmup_steps(-1); },
       "training.warmup_steps"},
      {"final lr fraction above 1",
       [](EvaluationRequest* r) { r->mutable_training()->set_final_lr_fraction(1.5); },
       "training.final_lr_fraction must be <= 1"},
      {"negative clipping norm",
       [](EvaluationRequest* r) { r->mutable_training()->set_max_grad_norm(-1.0); },
       "training.max_grad_norm"},
      {"NaN entropy weight",
       [](EvaluationRequest* r) { r->mutable_training()->set_entropy_weight(std::nan("")); },
       "training.entropy_weight"},
      {"unknown schedule",
       [](EvaluationRequest* r) {
         r->mutable_training()->set_lr_schedule(static_cast<headevo::v1::LearningRateSchedule>(9));
       },
       "training.lr_schedule 9"},
      {"local window of 0",
       [](EvaluationRequest* r) {
         r->mutable_training()->mutable_model()->set_attention(headevo::v1::ATTENTION_KIND_LOCAL);
       },
       "training.model.window (for local attention) must be in [1, 16], got 0"},
      {"random heads larger than the window",
       [](EvaluationRequest* r) {
         r->mutable_training()->mutable_model()->set_attention(headevo::v1::ATTENTION_KIND_RANDOM);
         r->mutable_training()->mutable_model()->set_random_k(17);
       },
       "random_k"},
      {"causal linformer",
       [](EvaluationRequest* r) {
         r->mutable_training()->mutable_model()->set_attention(
             headevo::v1::ATTENTION_KIND_LINFORMER);
         r->mutable_training()->mutable_model()->set_linformer_rank(4);
       },
       "linformer needs causal = false"},
      {"checkpoint name that is not a digest",
       [](EvaluationRequest* r) { r->set_parent_checkpoint_sha256("../../etc/passwd"); },
       "parent_checkpoint_sha256 must be 64 lower-case hex digits"},
      {"resume checkpoint name that is not a digest",
       [](EvaluationRequest* r) { r->set_resume_checkpoint_sha256(std::string(64, 'A')); },
       "resume_checkpoint_sha256 must be 64 lower-case hex digits"},
      {"resume and parent both set",
       [](EvaluationRequest* r) {
         r->set_resume_checkpoint_sha256(std::string(64, 'a'));
         r->set_parent_checkpoint_sha256(std::string(64, 'b'));
       },
       "resume_checkpoint_sha256 and parent_checkpoint_sha256 are both set"},
      {"schedule shorter than the job",
       [](EvaluationRequest* r) { r->mutable_training()->set_schedule_steps(39); },
       "training.schedule_steps (39) must be 0 or >= training.steps (40)"},
      {"negative schedule",
       [](EvaluationRequest* r) { r->mutable_training()->set_schedule_steps(-1); },
       "training.schedule_steps (-1)"},
      {"unknown attention kind",
       [](EvaluationRequest* r) {
         r->mutable_training()->mutable_model()->set_attention(
             static_cast<headevo::v1::AttentionKind>(42));
       },
       "training.model.attention 42"},
  };
  for (const BadCase& c : cases) {
    EvaluationRequest request = ValidRequest();
    c.mutate(&request);
    const absl::Status status = ValidateRequest(request);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.name << ": " << status;
    EXPECT_NE(status.message().find(c.expected), std::string::npos) << c.name << ": " << status;
  }
}

TEST(RequestValidationTest, DenseModeIgnoresOffsets) {
  EvaluationRequest request = ValidRequest();
  request.mutable_training()->mutable_model()->set_attention(headevo::v1::ATTENTION_KIND_DENSE);
  request.mutable_genome()->mutable_heads(0)->clear_offsets();
  request.mutable_genome()->mutable_heads(1)->mutable_offsets()->set_offsets(0, 5);
  EXPECT_OK(ValidateRequest(request));
}

}  // namespace
}  // namespace headevo::worker
