// Multi-fidelity on the worker (worker/resume.h): a run stopped at a rung and continued from
// its checkpoint ends with the bits of one trained straight through, and a resume request the
// checkpoint cannot serve is refused, naming the problem.
#include "worker/resume.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"
#include "tests/worker/built_model.h"
#include "tests/worker/test_requests.h"
#include "worker/checkpoint.h"
#include "worker/torch_evaluator.h"

namespace headevo::worker {
namespace {

using headevo::v1::EvaluationRequest;
using headevo::v1::EvaluationResult;
using testing::AddHead;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Two layers of two heads on the tiny planted task, with everything the schedule and the
// trainer can vary switched on: warm-up then cosine, gradient clipping, weight decay.
EvaluationRequest ScheduledRequest(double entropy_weight) {
  EvaluationRequest request = testing::TinyPlantedRequest();
  request.mutable_training()->mutable_model()->set_num_layers(2);
  AddHead(&request, 0, {-3, -1});
  AddHead(&request, 0, {-7, -6, 0});
  AddHead(&request, 1, {-2, 0});
  AddHead(&request, 1, {-4});
  headevo::v1::TrainingSpec* t = request.mutable_training();
  t->set_steps(30);
  t->set_lr_schedule(headevo::v1::LEARNING_RATE_SCHEDULE_COSINE);
  t->set_warmup_steps(4);
  t->set_final_lr_fraction(0.1);
  t->set_max_grad_norm(0.5);
  t->set_weight_decay(0.01);
  t->set_entropy_weight(entropy_weight);
  return request;
}

// The same request stopping at `steps` of a budget of `schedule_steps`, continuing `resume`.
EvaluationRequest Segment(EvaluationRequest request, int steps, int schedule_steps,
                          const std::string& resume) {
  request.mutable_training()->set_steps(steps);
  request.mutable_training()->set_schedule_steps(schedule_steps);
  if (!resume.empty()) {
    request.clear_parent_checkpoint_sha256();
    request.set_resume_checkpoint_sha256(resume);
  }
  return request;
}

class ResumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TorchEvaluatorOptions options;
    options.checkpoint_dir = dir_.string();
    ASSERT_OK_AND_ASSIGN(evaluator_, TorchEvaluator::Create(options));
  }

  std::string PathOf(const std::string& sha256) const {
    return (dir_ / (sha256 + ".ckpt")).string();
  }

  // Trains `request` to 10, 20 and 30 of a 30-step budget in three jobs; returns the last
  // result.
  EvaluationResult ThreeSegments(const EvaluationRequest& request) {
    EvaluationResult result;
    std::string resume;
    for (const int rung : {10, 20, 30}) {
      absl::StatusOr<EvaluationResult> segment =
          evaluator_->Evaluate(Segment(request, rung, 30, resume));
      EXPECT_TRUE(segment.ok()) << "to step " << rung << ": " << segment.status();
      if (!segment.ok()) return result;
      EXPECT_EQ(segment->metrics().steps(), rung);
      EXPECT_EQ(segment->checkpoint_sha256().size(), 64u);
      if (!resume.empty()) {
        EXPECT_TRUE(segment->growth().empty()) << "grew on resume";
      }
      resume = segment->checkpoint_sha256();
      result = *std::move(segment);
    }
    return result;
  }

  // Every parameter of the two checkpoints' models is bit-equal.
  void ExpectSameParameters(const EvaluationRequest& request, const std::string& a,
                            const std::string& b) {
    ASSERT_OK_AND_ASSIGN(const Checkpoint first, Checkpoint::Load(PathOf(a), a));
    ASSERT_OK_AND_ASSIGN(const Checkpoint second, Checkpoint::Load(PathOf(b), b));
    const testing::BuiltModel built = testing::BuildModel(request, 0);
    int compared = 0;
    for (const auto& parameter : built.model->named_parameters()) {
      ASSERT_TRUE(first.Tensor(parameter.key()).defined()) << parameter.key();
      EXPECT_TRUE(torch::equal(first.Tensor(parameter.key()), second.Tensor(parameter.key())))
          << parameter.key();
      ++compared;
    }
    EXPECT_GT(compared, 0);
    EXPECT_EQ(first.progress().trained_steps, second.progress().trained_steps);
    EXPECT_EQ(first.progress().data_stream_state, second.progress().data_stream_state);
  }

  void ExpectSameRun(const EvaluationRequest& request, const EvaluationResult& straight,
                     const EvaluationResult& resumed) {
    ExpectSameParameters(request, straight.checkpoint_sha256(), resumed.checkpoint_sha256());
    // Exact: the same bits, not merely close.
    EXPECT_EQ(resumed.metrics().val_loss(), straight.metrics().val_loss());
    EXPECT_EQ(resumed.metrics().train_loss(), straight.metrics().train_loss());
    EXPECT_EQ(resumed.metrics().steps(), 30);
    EXPECT_EQ(resumed.metrics().tokens(), straight.metrics().tokens());
    EXPECT_EQ(resumed.metrics().connections(), straight.metrics().connections());
    // Weights, AdamW state, progress and data stream alike: the same checkpoint file.
    EXPECT_EQ(resumed.checkpoint_sha256(), straight.checkpoint_sha256());
    ASSERT_EQ(resumed.head_stats_size(), straight.head_stats_size());
    for (int i = 0; i < straight.head_stats_size(); ++i) {
      EXPECT_EQ(resumed.head_stats(i).entropy(), straight.head_stats(i).entropy()) << i;
      EXPECT_EQ(resumed.head_stats(i).importance(), straight.head_stats(i).importance()) << i;
    }
  }

  headevo::testing::TempDir temp_;
  const std::filesystem::path dir_ = temp_.path() / "checkpoints";
  std::unique_ptr<TorchEvaluator> evaluator_;
};

TEST_F(ResumeTest, ThreeSegmentsEndBitEqualToOneStraightRun) {
  for (const double entropy_weight : {0.0, 0.05}) {
    SCOPED_TRACE(entropy_weight > 0 ? "with the concentration regulariser" : "plain");
    const EvaluationRequest request = ScheduledRequest(entropy_weight);
    ASSERT_OK_AND_ASSIGN(const EvaluationResult straight,
                         evaluator_->Evaluate(Segment(request, 30, 30, "")));
    EXPECT_EQ(straight.metrics().steps(), 30);
    // Planted targets skip positions whose offset falls outside the sequence.
    EXPECT_GT(straight.metrics().tokens(), 0);
    EXPECT_LT(straight.metrics().tokens(), 30 * 16 * 16);
    const EvaluationResult resumed = ThreeSegments(request);
    ExpectSameRun(request, straight, resumed);
  }
}

TEST_F(ResumeTest, AScheduleOfZeroStepsMeansTheJobsOwnSteps) {
  const EvaluationRequest request = ScheduledRequest(0.0);
  ASSERT_OK_AND_ASSIGN(const EvaluationResult implicit,
                       evaluator_->Evaluate(Segment(request, 30, 0, "")));
  ASSERT_OK_AND_ASSIGN(const EvaluationResult spelled,
                       evaluator_->Evaluate(Segment(request, 30, 30, "")));
  EXPECT_EQ(implicit.checkpoint_sha256(), spelled.checkpoint_sha256());
  EXPECT_EQ(implicit.metrics().val_loss(), spelled.metrics().val_loss());
  // A job stopping early in a longer budget is at a higher learning rate: other weights.
  ASSERT_OK_AND_ASSIGN(const EvaluationResult early,
                       evaluator_->Evaluate(Segment(request, 10, 30, "")));
  ASSERT_OK_AND_ASSIGN(const EvaluationResult whole,
                       evaluator_->Evaluate(Segment(request, 10, 10, "")));
  EXPECT_NE(early.checkpoint_sha256(), whole.checkpoint_sha256());
}

TEST_F(ResumeTest, AChildInheritingFromAParentGrowsOnceAndResumesExactly) {
  const EvaluationRequest parent = ScheduledRequest(0.0);
  ASSERT_OK_AND_ASSIGN(const EvaluationResult trained,
                       evaluator_->Evaluate(Segment(parent, 20, 20, "")));
  // The child: a new head in layer 1 set up by the gradient initialiser, and head 0 grown by
  // four query/key columns, both in its first segment only.
  EvaluationRequest child = parent;
  child.set_candidate_id(8);
  child.set_parent_checkpoint_sha256(trained.checkpoint_sha256());
  child.mutable_genome()->mutable_heads(3)->set_id(500);
  headevo::v1::Head* widened = child.mutable_genome()->mutable_heads(0);
  widened->set_source_head_id(widened->id());
  widened->set_id(600);
  widened->set_origin(headevo::v1::HEAD_ORIGIN_GROWN);
  widened->set_extra_key_width(4);
  child.mutable_training()->set_new_head_init(headevo::v1::NEW_HEAD_INIT_GRADIENT);

  ASSERT_OK_AND_ASSIGN(const EvaluationResult straight,
                       evaluator_->Evaluate(Segment(child, 30, 30, "")));
  ASSERT_EQ(straight.growth_size(), 2);
  ASSERT_OK_AND_ASSIGN(const EvaluationResult first,
                       evaluator_->Evaluate(Segment(child, 10, 30, "")));
  ASSERT_EQ(first.growth_size(), 2);
  // Growth happens before any training step, so the first segment grew exactly as the
  // straight run did.
  EXPECT_EQ(first.growth(0).scale(), straight.growth(0).scale());
  EXPECT_EQ(first.growth(1).measured_loss_change(), straight.growth(1).measured_loss_change());
  ASSERT_OK_AND_ASSIGN(const EvaluationResult second,
                       evaluator_->Evaluate(Segment(child, 20, 30, first.checkpoint_sha256())));
  ASSERT_OK_AND_ASSIGN(const EvaluationResult last,
                       evaluator_->Evaluate(Segment(child, 30, 30, second.checkpoint_sha256())));
  EXPECT_TRUE(second.growth().empty());
  EXPECT_TRUE(last.growth().empty());
  ExpectSameRun(child, straight, last);
}

// --- what a resume checkpoint must be ---

class ResumeRefusalTest : public ResumeTest {
 protected:
  void SetUp() override {
    ResumeTest::SetUp();
    request_ = ScheduledRequest(0.0);
    ASSERT_OK_AND_ASSIGN(const EvaluationResult first,
                         evaluator_->Evaluate(Segment(request_, 10, 30, "")));
    at_10_ = first.checkpoint_sha256();
  }

  // Writes `bytes` into the checkpoint directory under their digest; returns it.
  std::string Store(const std::string& bytes) {
    const std::string sha256 = Sha256Hex(bytes);
    std::ofstream(PathOf(sha256), std::ios::binary) << bytes;
    return sha256;
  }

  // A checkpoint of the request's freshly built model, with or without optimiser state, with
  // the given progress.
  std::string StoreUntrained(bool with_optimizer, const TrainingProgress& progress) {
    testing::BuiltModel built = testing::BuildModel(request_, 1);
    auto optimizer = std::make_unique<torch::optim::AdamW>(built.model->TrainableParameters());
    return Store(SerializeCheckpoint(built.model, request_.training().model(), request_.genome(),
                                     with_optimizer ? optimizer.get() : nullptr, progress));
  }

  absl::Status Resume(const EvaluationRequest& request) {
    return evaluator_->Evaluate(request).status();
  }

  EvaluationRequest request_;
  std::string at_10_;
};

TEST_F(ResumeRefusalTest, AScheduleShorterThanTheStepsIsInvalidArgument) {
  const absl::Status status = Resume(Segment(request_, 30, 20, ""));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_TRUE(Contains(status.ToString(), "training.schedule_steps (20)")) << status;
}

TEST_F(ResumeRefusalTest, ResumeAndParentTogetherIsInvalidArgument) {
  EvaluationRequest both = Segment(request_, 20, 30, at_10_);
  both.set_parent_checkpoint_sha256(at_10_);
  const absl::Status status = Resume(both);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_TRUE(Contains(status.ToString(), "both set")) << status;
}

TEST_F(ResumeRefusalTest, ACheckpointOfAnotherGenomeOrModelIsFailedPrecondition) {
  EvaluationRequest other_genome = Segment(request_, 20, 30, at_10_);
  other_genome.mutable_genome()->mutable_heads(3)->set_id(500);  // another head
  absl::Status status = Resume(other_genome);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_TRUE(Contains(status.ToString(), "another genome than the request's")) << status;

  EvaluationRequest other_model = Segment(request_, 20, 30, at_10_);
  other_model.mutable_training()->mutable_model()->set_mlp_ratio(4);
  status = Resume(other_model);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_TRUE(Contains(status.ToString(), "another model spec")) << status;
  EXPECT_TRUE(Contains(status.ToString(), "mlp_ratio")) << status;
}

TEST_F(ResumeRefusalTest, ACheckpointAtOrPastTheJobsLastStepHasNothingToTrain) {
  for (const int steps : {10, 5}) {
    const absl::Status status = Resume(Segment(request_, steps, 30, at_10_));
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
    EXPECT_TRUE(Contains(status.ToString(), absl::StrCat("nothing to train: checkpoint at step 10, "
                                                         "job stops at ",
                                                         steps)))
        << status;
  }
}

TEST_F(ResumeRefusalTest, ACheckpointWithoutOptimiserStateOrProgressIsRefused) {
  TrainingProgress progress;
  progress.trained_steps = 5;
  progress.data_stream_state = EncodeDataStream(at::detail::createCPUGenerator(3));
  absl::Status status = Resume(Segment(request_, 20, 30, StoreUntrained(false, progress)));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_TRUE(Contains(status.ToString(), "holds no optimiser state")) << status;

  // Written before checkpoints recorded their progress.
  status = Resume(Segment(request_, 20, 30, StoreUntrained(true, TrainingProgress{})));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_TRUE(Contains(status.ToString(), "records no training step")) << status;

  progress.data_stream_state = "not a generator";
  status = Resume(Segment(request_, 20, 30, StoreUntrained(true, progress)));
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_TRUE(Contains(status.ToString(), "data-stream state")) << status;
}

TEST_F(ResumeRefusalTest, AMissingOrDamagedResumeCheckpointIsNotFoundOrDataLoss) {
  absl::Status status = Resume(Segment(request_, 20, 30, std::string(64, 'e')));
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  std::ofstream(PathOf(at_10_), std::ios::trunc) << "garbage";
  status = Resume(Segment(request_, 20, 30, at_10_));
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
}

TEST(ResumeWithoutDirectoryTest, ResumingWithoutACheckpointDirectoryIsFailedPrecondition) {
  ASSERT_OK_AND_ASSIGN(auto evaluator, TorchEvaluator::Create(TorchEvaluatorOptions{}));
  const absl::Status status =
      evaluator->Evaluate(Segment(ScheduledRequest(0.0), 20, 30, std::string(64, 'a'))).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_TRUE(Contains(status.ToString(), "resumes training from")) << status;
}

TEST(DataStreamTest, ARestoredGeneratorDrawsWhatTheSavedOneWouldHave) {
  torch::Generator original = at::detail::createCPUGenerator(11);
  torch::randint(0, 100, {37}, original);  // somewhere along the stream
  const std::string encoded = EncodeDataStream(original);
  torch::Generator restored = at::detail::createCPUGenerator(999);
  ASSERT_OK(RestoreDataStream(encoded, "test", &restored));
  EXPECT_TRUE(
      torch::equal(torch::randint(0, 100, {64}, original), torch::randint(0, 100, {64}, restored)));
  EXPECT_EQ(RestoreDataStream(encoded.substr(0, encoded.size() - 1), "test", &restored).code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace headevo::worker
