#include "worker/torch_evaluator.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

#include "tests/testutil/image_fixtures.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"
#include "tests/worker/test_requests.h"
#include "worker/remote_worker.h"

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
  for (const char* sample : {"ca01", "ca02"}) {
    std::ofstream out(dir / sample);
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

TEST_F(TorchEvaluatorTest, TextFilesTaskTrainsOnADirectoryAndNamesAMissingPath) {
  namespace fs = std::filesystem;
  const headevo::testing::TempDir temp;
  const fs::path& dir = temp.path();
  fs::create_directories(dir / "sub");
  for (const char* name : {"a.txt", "b.txt", "sub/c.md"}) {
    std::ofstream out(dir / name);
    for (int i = 0; i < 30; ++i) out << "sparse heads attend to few offsets; " << name << "\n";
  }
  EvaluationRequest request = TinyPlantedRequest();
  request.mutable_training()->mutable_model()->set_vocab_size(256);
  request.mutable_training()->set_steps(5);
  request.mutable_training()->mutable_task()->set_kind(headevo::v1::TASK_KIND_TEXT_FILES);
  request.mutable_training()->mutable_task()->set_text_path(dir.string());
  AddHead(&request, 0, {-2, -1, 0});
  ASSERT_OK_AND_ASSIGN(const EvaluationResult result, evaluator_->Evaluate(request));
  EXPECT_TRUE(std::isfinite(result.metrics().val_loss()));
  // Every position of a byte window has a target: steps x batch x seq_len.
  EXPECT_EQ(result.metrics().tokens(), 5 * 16 * 16);

  const std::string missing = (dir / "nowhere").string();
  request.mutable_training()->mutable_task()->set_text_path(missing);
  const absl::StatusOr<EvaluationResult> status = evaluator_->Evaluate(request);
  EXPECT_EQ(status.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(status.status().message().find(missing), std::string::npos) << status.status();
}

// The image_pixels task end to end on fixtures: a miniature of the mnist package, then a
// directory of PGM files cut into patches; bad data is named.
TEST_F(TorchEvaluatorTest, ImagePixelsTaskTrainsOnMnistLayoutAndOnPatches) {
  namespace fs = std::filesystem;
  const headevo::testing::TempDir temp;
  headevo::testing::WriteMnistFixture(temp.path() / "mnist", 2);
  EvaluationRequest request = TinyPlantedRequest();
  request.mutable_training()->mutable_model()->set_seq_len(56);  // two rows
  request.mutable_training()->set_steps(5);
  headevo::v1::TaskSpec* task = request.mutable_training()->mutable_task();
  task->Clear();
  task->set_kind(headevo::v1::TASK_KIND_IMAGE_PIXELS);
  task->set_levels(8);
  task->set_mnist_dir((temp.path() / "mnist").string());
  AddHead(&request, 0, {-28, -1});
  ASSERT_OK_AND_ASSIGN(const EvaluationResult result, evaluator_->Evaluate(request));
  EXPECT_TRUE(std::isfinite(result.metrics().val_loss()));
  EXPECT_GT(result.metrics().val_loss(), 0.0);

  request.mutable_training()->mutable_model()->set_vocab_size(4);  // < levels
  const absl::StatusOr<EvaluationResult> small_vocab = evaluator_->Evaluate(request);
  EXPECT_EQ(small_vocab.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(small_vocab.status().message().find("task.levels"), std::string::npos)
      << small_vocab.status();
  request.mutable_training()->mutable_model()->set_vocab_size(8);

  fs::create_directories(temp.path() / "pgm");
  for (int i = 0; i < 3; ++i) {
    std::vector<unsigned char> values(16 * 8);
    for (size_t p = 0; p < values.size(); ++p) values[p] = static_cast<unsigned char>(p * 7 + i);
    headevo::testing::WritePgm(temp.path() / "pgm" / ("img" + std::to_string(i) + ".pgm"), 16,
                               8, values);
  }
  task->set_image_dir((temp.path() / "pgm").string());
  task->set_patch_width(8);
  task->set_patch_height(4);  // 4 patches of 32 pixels per image
  request.mutable_training()->mutable_model()->set_seq_len(16);
  request.mutable_genome()->Clear();
  AddHead(&request, 0, {-8, -1});
  ASSERT_OK_AND_ASSIGN(const EvaluationResult patches, evaluator_->Evaluate(request));
  EXPECT_TRUE(std::isfinite(patches.metrics().val_loss()));

  std::ofstream(temp.path() / "pgm" / "zz.pgm") << "P5\n2 2\n255\n";  // truncated raster
  task->set_image_dir((temp.path() / "pgm").string() + "/");  // another cache key
  const absl::StatusOr<EvaluationResult> bad = evaluator_->Evaluate(request);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("zz.pgm"), std::string::npos) << bad.status();
}

// seq_len 2048 with offsets and planted offsets reaching its far end, sparse and dense, on the
// planted task and a text task: both train to finite losses (bench/long_context.cc measures
// the memory; docs/benchmarks.md has the numbers).
TEST_F(TorchEvaluatorTest, LongContextsOf2048TrainOnPlantedAndTextTasks) {
  const headevo::testing::TempDir temp;
  for (const char* name : {"a.txt", "b.txt", "c.txt"}) {
    std::ofstream out(temp.path() / name);
    for (int i = 0; i < 400; ++i) out << "line " << i << " of " << name << "\n";
  }
  for (bool text : {false, true}) {
    for (bool dense : {false, true}) {
      SCOPED_TRACE(std::string(text ? "text" : "planted") + (dense ? " dense" : " sparse"));
      EvaluationRequest request = TinyPlantedRequest();
      headevo::v1::TrainingSpec* training = request.mutable_training();
      training->mutable_model()->set_seq_len(2048);
      training->set_steps(2);
      training->set_batch_size(2);
      training->set_eval_batches(1);
      training->mutable_task()->clear_planted_offsets();
      training->mutable_task()->add_planted_offsets(-2047);
      training->mutable_task()->add_planted_offsets(-1);
      if (text) {
        training->mutable_model()->set_vocab_size(256);
        training->mutable_task()->set_kind(headevo::v1::TASK_KIND_TEXT_FILES);
        training->mutable_task()->set_text_path(temp.path().string());
      }
      if (dense) training->mutable_model()->set_attention(headevo::v1::ATTENTION_KIND_DENSE);
      AddHead(&request, 0, {-2047, -1024, -1, 0});
      AddHead(&request, 0, {-28, -2});
      ASSERT_OK_AND_ASSIGN(const EvaluationResult result, evaluator_->Evaluate(request));
      EXPECT_TRUE(std::isfinite(result.metrics().val_loss()));
      EXPECT_EQ(result.metrics().connections(), dense ? 2 * 2048 : 6);
    }
  }
}

TEST_F(TorchEvaluatorTest, BaselinesTrainAndCountTheirConnections) {
  struct Case {
    headevo::v1::AttentionKind kind;
    bool causal;
    int64_t connections;  // for 4 heads at seq_len 16
  };
  const Case cases[] = {
      {headevo::v1::ATTENTION_KIND_LOCAL, true, 4 * 4},            // window 4
      {headevo::v1::ATTENTION_KIND_STRIDED, true, 2 * 4 + 2 * 4},  // local 4, {-12,-8,-4,0}
      {headevo::v1::ATTENTION_KIND_LINFORMER, false, 4 * 4},       // rank 4
      {headevo::v1::ATTENTION_KIND_RANDOM, true, -1},              // drawn
      {headevo::v1::ATTENTION_KIND_DILATED, true, 4 * 5},          // {-8,-4,-2,-1,0}
      {headevo::v1::ATTENTION_KIND_WINDOW_RANDOM, true, 4 * 7},    // window 4 + 3 random
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(headevo::v1::AttentionKind_Name(c.kind));
    EvaluationRequest request = TwoLayerRequest();
    headevo::v1::ModelSpec* model = request.mutable_training()->mutable_model();
    model->set_attention(c.kind);
    model->set_causal(c.causal);
    model->set_window(4);
    model->set_stride(4);
    model->set_linformer_rank(4);
    model->set_random_k(3);
    request.mutable_training()->set_steps(5);
    ASSERT_OK_AND_ASSIGN(const EvaluationResult result, evaluator_->Evaluate(request));
    EXPECT_TRUE(std::isfinite(result.metrics().val_loss()));
    EXPECT_EQ(result.head_stats_size(), 4);
    if (c.connections >= 0) {
      EXPECT_EQ(result.metrics().connections(), c.connections);
    } else {
      EXPECT_GE(result.metrics().connections(), 4);
    }
  }
  EvaluationRequest causal_linformer = TwoLayerRequest();
  causal_linformer.mutable_training()->mutable_model()->set_attention(
      headevo::v1::ATTENTION_KIND_LINFORMER);
  causal_linformer.mutable_training()->mutable_model()->set_linformer_rank(4);
  const auto refused = evaluator_->Evaluate(causal_linformer);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("causal"), std::string::npos) << refused.status();
}

class CheckpointingEvaluatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TorchEvaluatorOptions options;
    options.checkpoint_dir = dir_.string();
    ASSERT_OK_AND_ASSIGN(evaluator_, TorchEvaluator::Create(options));
  }
  headevo::testing::TempDir temp_;
  const std::filesystem::path dir_ = temp_.path() / "checkpoints";  // created by the evaluator
  std::unique_ptr<TorchEvaluator> evaluator_;
};

TEST_F(CheckpointingEvaluatorTest, SavesContentAddressedCheckpointsAndChildrenInheritThem) {
  EvaluationRequest parent = TwoLayerRequest();
  ASSERT_OK_AND_ASSIGN(const EvaluationResult first, evaluator_->Evaluate(parent));
  ASSERT_EQ(first.checkpoint_sha256().size(), 64u);
  EXPECT_TRUE(std::filesystem::exists(dir_ / (first.checkpoint_sha256() + ".ckpt")));
  // Deterministic training gives byte-identical checkpoints.
  ASSERT_OK_AND_ASSIGN(const EvaluationResult again, evaluator_->Evaluate(parent));
  EXPECT_EQ(again.checkpoint_sha256(), first.checkpoint_sha256());

  EvaluationRequest child = TwoLayerRequest();
  child.set_candidate_id(8);
  child.mutable_genome()->mutable_heads(3)->set_id(500);  // a new head in layer 1
  child.set_parent_checkpoint_sha256(first.checkpoint_sha256());
  ASSERT_OK_AND_ASSIGN(const EvaluationResult inherited, evaluator_->Evaluate(child));
  EXPECT_TRUE(std::isfinite(inherited.metrics().val_loss()));
  EXPECT_NE(inherited.checkpoint_sha256(), first.checkpoint_sha256());
  // Starting from trained weights, the child ends better than a parent trained the same
  // number of steps from scratch.
  EXPECT_LT(inherited.metrics().val_loss(), first.metrics().val_loss());
  EXPECT_TRUE(inherited.growth().empty());  // random new heads take no growth step

  // Growth: head 0 grows by 4 query/key columns, the new head starts from the gradient.
  EvaluationRequest grown = child;
  grown.set_candidate_id(9);
  headevo::v1::Head* widened = grown.mutable_genome()->mutable_heads(0);
  widened->set_source_head_id(widened->id());
  widened->set_id(600);
  widened->set_origin(headevo::v1::HEAD_ORIGIN_GROWN);
  widened->set_extra_key_width(4);
  grown.mutable_training()->set_new_head_init(headevo::v1::NEW_HEAD_INIT_GRADIENT);
  ASSERT_OK_AND_ASSIGN(const EvaluationResult grown_result, evaluator_->Evaluate(grown));
  ASSERT_EQ(grown_result.growth_size(), 2);  // genome order: the grown head, then the new one
  EXPECT_EQ(grown_result.growth(0).head_id(), 600);
  EXPECT_EQ(grown_result.growth(0).kind(), headevo::v1::GROWTH_KIND_WIDEN);
  EXPECT_EQ(grown_result.growth(0).added_key_width(), 4);
  EXPECT_EQ(grown_result.growth(1).head_id(), 500);
  EXPECT_EQ(grown_result.growth(1).kind(), headevo::v1::GROWTH_KIND_NEW_HEAD);
  // The line search keeps scale 0 rather than a step that hurts on its batches.
  EXPECT_LE(grown_result.growth(0).measured_loss_change(), 0.0);
  EXPECT_TRUE(std::isfinite(grown_result.growth(1).measured_loss_change()));
  // Its child keeps the grown head, extra columns and all.
  EvaluationRequest grandchild = grown;
  grandchild.set_candidate_id(10);
  grandchild.set_parent_checkpoint_sha256(grown_result.checkpoint_sha256());
  ASSERT_OK_AND_ASSIGN(const EvaluationResult kept, evaluator_->Evaluate(grandchild));
  EXPECT_TRUE(kept.growth().empty());
  EXPECT_TRUE(std::isfinite(kept.metrics().val_loss()));

  child.set_parent_checkpoint_sha256(std::string(64, 'f'));
  EXPECT_EQ(evaluator_->Evaluate(child).status().code(), absl::StatusCode::kNotFound);

  std::ofstream(dir_ / (first.checkpoint_sha256() + ".ckpt"), std::ios::trunc) << "garbage";
  child.set_parent_checkpoint_sha256(first.checkpoint_sha256());
  const auto damaged = evaluator_->Evaluate(child);
  EXPECT_EQ(damaged.status().code(), absl::StatusCode::kDataLoss) << damaged.status();
}

TEST_F(TorchEvaluatorTest, InheritingWithoutACheckpointDirectoryIsFailedPrecondition) {
  EvaluationRequest child = TwoLayerRequest();
  child.set_parent_checkpoint_sha256(std::string(64, 'a'));
  const auto status = evaluator_->Evaluate(child);
  EXPECT_EQ(status.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(status.status().message().find("checkpoint directory"), std::string::npos);
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

TEST_F(CheckpointingEvaluatorTest, CancellingStopsBeforeTheNextStepAndSavesNothing) {
  EvaluationRequest request = TwoLayerRequest();
  int checks = 0;
  const absl::StatusOr<EvaluationResult> result =
      evaluator_->EvaluateCancellable(request, [&checks] { return ++checks > 3; });
  EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled) << result.status();
  EXPECT_NE(result.status().message().find("before step 3 of 40"), std::string::npos)
      << result.status();
  EXPECT_EQ(checks, 4);  // asked once per step, and no more once it said stop
  EXPECT_TRUE(std::filesystem::is_empty(dir_)) << "a cancelled run saved a checkpoint";
  // Not a property of the candidate: another worker may train it.
  EXPECT_FALSE(IsPermanentFailure(result.status()));
}

TEST_F(TorchEvaluatorTest, ACancelCheckThatNeverFiresChangesNothing) {
  const EvaluationRequest request = TwoLayerRequest();
  int checks = 0;
  ASSERT_OK_AND_ASSIGN(const EvaluationResult plain, evaluator_->Evaluate(request));
  ASSERT_OK_AND_ASSIGN(const EvaluationResult checked,
                       evaluator_->EvaluateCancellable(request, [&checks] {
                         ++checks;
                         return false;
                       }));
  EXPECT_EQ(checks, 40);
  EXPECT_EQ(checked.metrics().val_loss(), plain.metrics().val_loss());
}

// The evaluator is worker/'s boundary: whatever is thrown inside an evaluation (here by the
// cancel check, which runs inside the training loop) comes out as a Status naming the
// candidate and what was thrown.
TEST_F(TorchEvaluatorTest, AnExceptionInsideEvaluationIsInternalNamingTheCandidate) {
  const absl::StatusOr<EvaluationResult> result = evaluator_->EvaluateCancellable(
      TwoLayerRequest(), []() -> bool { throw std::runtime_error("disk on fire"); });
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(result.status().message().find("candidate 7"), std::string::npos) << result.status();
  EXPECT_NE(result.status().message().find("disk on fire"), std::string::npos)
      << result.status();
}

TEST_F(TorchEvaluatorTest, ALibTorchErrorInsideEvaluationIsInternal) {
  const absl::StatusOr<EvaluationResult> result =
      evaluator_->EvaluateCancellable(TwoLayerRequest(), []() -> bool {
        TORCH_CHECK(false, "shapes disagree");
        return false;
      });
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(result.status().message().find("libtorch"), std::string::npos) << result.status();
  EXPECT_NE(result.status().message().find("shapes disagree"), std::string::npos)
      << result.status();
  EXPECT_TRUE(IsPermanentFailure(result.status()));
}

TEST_F(TorchEvaluatorTest, RunningOutOfMemoryIsResourceExhaustedAndWorthRetrying) {
  const absl::StatusOr<EvaluationResult> result =
      evaluator_->EvaluateCancellable(TwoLayerRequest(), []() -> bool {
        TORCH_CHECK_WITH(OutOfMemoryError, false, "tried to allocate 80 GiB");
        return false;
      });
  EXPECT_EQ(result.status().code(), absl::StatusCode::kResourceExhausted) << result.status();
  EXPECT_NE(result.status().message().find("out of memory"), std::string::npos)
      << result.status();
  EXPECT_NE(result.status().message().find("80 GiB"), std::string::npos) << result.status();
  EXPECT_FALSE(IsPermanentFailure(result.status()));
}

}  // namespace
}  // namespace headevo::worker
