#include "worker/torch_evaluator.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "tests/testutil/status_matchers.h"
#include "tests/worker/test_requests.h"

namespace headevo::worker {
namespace {

using headevo::v1::EvaluationRequest;
using headevo::v1::EvaluationResult;
using testing::AddHead;
using testing::TinyPlantedRequest;

class TorchEvaluatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(evaluator_, TorchEvaluator::Create(TorchEvaluatorOptions{}));
  }
  std::unique_ptr<TorchEvaluator> evaluator_;
};

// Two layers of two heads on the tiny planted task.
EvaluationRequest TwoLayerRequest() {
  EvaluationRequest request = TinyPlantedRequest();
  request.mutable_training()->mutable_model()->set_num_layers(2);
  AddHead(&request, 0, {-3, -1});
  AddHead(&request, 0, {-7, -6, 0});
  AddHead(&request, 1, {-2, 0});
  AddHead(&request, 1, {-4});
  return request;
}

TEST_F(TorchEvaluatorTest, TinyRunGivesFiniteMetricsAndOneStatsPerHead) {
  const EvaluationRequest request = TwoLayerRequest();
  ASSERT_OK_AND_ASSIGN(const EvaluationResult result, evaluator_->Evaluate(request));
  EXPECT_EQ(result.candidate_id(), 7);
  EXPECT_TRUE(std::isfinite(result.metrics().train_loss()));
  EXPECT_TRUE(std::isfinite(result.metrics().val_loss()));
  EXPECT_GT(result.metrics().val_loss(), 0.0);
  // Learning happened: below the loss of guessing among 8 tokens.
  EXPECT_LT(result.metrics().val_loss(), std::log(8.0));
  EXPECT_EQ(result.metrics().connections(), 2 + 3 + 2 + 1);
  EXPECT_EQ(result.metrics().steps(), 40);
  EXPECT_GE(result.metrics().train_seconds(), 0.0);
  EXPECT_TRUE(result.checkpoint_sha256().empty());
  ASSERT_EQ(result.head_stats_size(), 4);
  for (int i = 0; i < 4; ++i) {
    const headevo::v1::HeadStats& s = result.head_stats(i);
    SCOPED_TRACE(::testing::Message() << "head " << i);
    EXPECT_EQ(s.head_id(), request.genome().heads(i).id());
    EXPECT_EQ(s.layer(), request.genome().heads(i).layer());
    EXPECT_GE(s.entropy(), 0.0);
    EXPECT_LE(s.entropy(), 1.0);
    EXPECT_GE(s.independence(), 0.0);
    EXPECT_LE(s.independence(), 1.0);
    EXPECT_GT(s.weight_norm(), 0.0);
    EXPECT_GE(s.importance(), 0.0);
    EXPECT_TRUE(std::isfinite(s.importance()));
  }
  // A head with a single offset attends to one position: entropy exactly 0.
  EXPECT_EQ(result.head_stats(3).entropy(), 0.0);
}

TEST_F(TorchEvaluatorTest, SameRequestTwiceGivesIdenticalResults) {
  const EvaluationRequest request = TwoLayerRequest();
  ASSERT_OK_AND_ASSIGN(const EvaluationResult first, evaluator_->Evaluate(request));
  ASSERT_OK_AND_ASSIGN(const EvaluationResult second, evaluator_->Evaluate(request));
  EXPECT_EQ(first.metrics().val_loss(), second.metrics().val_loss());
  EXPECT_EQ(first.metrics().train_loss(), second.metrics().train_loss());
  for (int i = 0; i < first.head_stats_size(); ++i) {
    EXPECT_EQ(first.head_stats(i).importance(), second.head_stats(i).importance());
    EXPECT_EQ(first.head_stats(i).independence(), second.head_stats(i).independence());
  }
  // A different seed trains a different model.
  EvaluationRequest reseeded = request;
  reseeded.mutable_training()->set_seed(2);
  ASSERT_OK_AND_ASSIGN(const EvaluationResult third, evaluator_->Evaluate(reseeded));
  EXPECT_NE(first.metrics().val_loss(), third.metrics().val_loss());
}

TEST_F(TorchEvaluatorTest, GenomeCoveringThePlantedOffsetsLearnsTheTask) {
  // One layer, so offsets cannot be composed across layers: heads that miss -3 and -7 have
  // no way to see the target token.
  for (uint64_t seed : {1, 2}) {
    EvaluationRequest covering = TinyPlantedRequest();
    covering.mutable_training()->set_steps(150);
    covering.mutable_training()->set_seed(seed);
    EvaluationRequest missing = covering;
    AddHead(&covering, 0, {-4, -3});
    AddHead(&covering, 0, {-7, -6});
    AddHead(&missing, 0, {-2, -1});
    AddHead(&missing, 0, {-6, -5});
    ASSERT_OK_AND_ASSIGN(const EvaluationResult good, evaluator_->Evaluate(covering));
    ASSERT_OK_AND_ASSIGN(const EvaluationResult bad, evaluator_->Evaluate(missing));
    SCOPED_TRACE(::testing::Message()
                 << "seed " << seed << " covering " << good.metrics().val_loss() << " missing "
                 << bad.metrics().val_loss());
    EXPECT_LT(good.metrics().val_loss(), 0.5);
    EXPECT_GT(bad.metrics().val_loss(), 1.5);
  }
}

TEST_F(TorchEvaluatorTest, DenseModeAttendsEverywhereWhateverTheOffsets) {
  EvaluationRequest request = TinyPlantedRequest();
  request.mutable_training()->mutable_model()->set_attention(headevo::v1::ATTENTION_KIND_DENSE);
  AddHead(&request, 0, {});
  AddHead(&request, 0, {-1});
  AddHead(&request, 0, {});
  ASSERT_OK_AND_ASSIGN(const EvaluationResult result, evaluator_->Evaluate(request));
  EXPECT_TRUE(std::isfinite(result.metrics().val_loss()));
  EXPECT_EQ(result.metrics().connections(), 3 * 16);
  ASSERT_EQ(result.head_stats_size(), 3);
  // Every head sees up to 16 positions, so none has the zero entropy of a single key.
  for (const headevo::v1::HeadStats& s : result.head_stats()) {
    EXPECT_GT(s.entropy(), 0.0);
    EXPECT_LE(s.entropy(), 1.0);
  }
}

TEST_F(TorchEvaluatorTest, BadRequestsAreInvalidArgumentNamingTheProblem) {
  EvaluationRequest empty = TinyPlantedRequest();
  absl::StatusOr<EvaluationResult> result = evaluator_->Evaluate(empty);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("genome.heads is empty"), std::string::npos);

  EvaluationRequest ahead = TinyPlantedRequest();
  AddHead(&ahead, 0, {-1, 3});
  result = evaluator_->Evaluate(ahead);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("looks ahead"), std::string::npos);
}

TEST_F(TorchEvaluatorTest, DivergingTrainingIsInternalNamingTheStep) {
  EvaluationRequest request = TwoLayerRequest();
  request.mutable_training()->set_learning_rate(1e30);
  const absl::StatusOr<EvaluationResult> result = evaluator_->Evaluate(request);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal) << result.status();
  EXPECT_NE(result.status().message().find("loss at step"), std::string::npos) << result.status();
}

TEST_F(TorchEvaluatorTest, BrownCorpusTaskTrainsOnBytesAndReportsAMissingCorpus) {
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() /
      ("headevo_eval_brown_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  fs::create_directories(dir);
  {
    std::ofstream out(dir / "ca01");
    for (int i = 0; i < 40; ++i)
      out << "\n\n\tThe/at jury/nn said/vbd it/pps was/bedz fine/jj ./.\n";
  }
  EvaluationRequest request = TinyPlantedRequest();
  request.mutable_training()->mutable_model()->set_vocab_size(256);
  request.mutable_training()->set_steps(5);
  request.mutable_training()->mutable_task()->set_kind(headevo::v1::TASK_KIND_BROWN_CORPUS);
  request.mutable_training()->mutable_task()->set_corpus_dir(dir.string());
  AddHead(&request, 0, {-1, 0});
  ASSERT_OK_AND_ASSIGN(const EvaluationResult result, evaluator_->Evaluate(request));
  EXPECT_TRUE(std::isfinite(result.metrics().val_loss()));
  EXPECT_EQ(result.head_stats_size(), 1);

  request.mutable_training()->mutable_task()->set_corpus_dir((dir / "missing").string());
  const absl::StatusOr<EvaluationResult> missing = evaluator_->Evaluate(request);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("fetch_corpus.sh"), std::string::npos);
  fs::remove_all(dir);
}

TEST(TorchEvaluatorCreateTest, RejectsUnknownAndUnavailableDevices) {
  TorchEvaluatorOptions options;
  options.device = "abacus";
  EXPECT_EQ(TorchEvaluator::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  if (!torch::cuda::is_available()) {
    options.device = "cuda";
    const auto created = TorchEvaluator::Create(options);
    EXPECT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(created.status().message().find("CUDA"), std::string::npos);
  }
}

TEST(TorchEvaluatorCreateTest, RunsOnCudaWhenAvailable) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "CUDA is not available";
  TorchEvaluatorOptions options;
  options.device = "cuda";
  ASSERT_OK_AND_ASSIGN(auto evaluator, TorchEvaluator::Create(options));
  ASSERT_OK_AND_ASSIGN(const EvaluationResult result, evaluator->Evaluate(TwoLayerRequest()));
  EXPECT_TRUE(std::isfinite(result.metrics().val_loss()));
  EXPECT_EQ(result.head_stats_size(), 4);
}

}  // namespace
}  // namespace headevo::worker
