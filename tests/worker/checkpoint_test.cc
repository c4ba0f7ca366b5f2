#include "worker/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "headevo/v1/checkpoint.pb.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"
#include "tests/worker/built_model.h"
#include "tests/worker/test_requests.h"
#include "worker/model.h"
#include "worker/planted_offsets_task.h"
#include "worker/trainer.h"

namespace headevo::worker {
namespace {

using testing::AddHead;

// A model built for a request, with its optimiser.
struct ModelRun : testing::BuiltModel {
  TrainerOptions trainer;
  std::unique_ptr<torch::optim::AdamW> optimizer;
};

// Builds (weights drawn from init_seed) without training.
ModelRun Build(const headevo::v1::EvaluationRequest& request, uint64_t init_seed) {
  ModelRun run;
  static_cast<testing::BuiltModel&>(run) = testing::BuildModel(request, init_seed);
  run.trainer = TrainerOptionsFor(request.training(), torch::kCPU);
  run.optimizer = MakeOptimizer(run.model, run.trainer);
  return run;
}

PlantedOffsetsTask TaskOf(const headevo::v1::EvaluationRequest& request) {
  return PlantedOffsetsTask(request.training().model().vocab_size(),
                            request.training().model().seq_len(), {-3, -7});
}

std::vector<double> TrainSteps(ModelRun& run, int64_t steps, uint64_t data_seed) {
  TrainerOptions options = run.trainer;
  options.steps = steps;
  torch::Generator data = at::detail::createCPUGenerator(data_seed);
  auto losses = Train(run.model, TaskOf(run.request), options, &data, run.optimizer.get());
  EXPECT_TRUE(losses.ok()) << losses.status();
  return losses.ok() ? *losses : std::vector<double>{};
}

double ValLoss(ModelRun& run) {
  return ValidationLoss(run.model, TaskOf(run.request).ValidationBatches(16, 2), torch::kCPU);
}

// Three heads in layer 0 (ids 100, 101, 102), one in layer 1 (id 103).
headevo::v1::EvaluationRequest ParentRequest() {
  headevo::v1::EvaluationRequest request = testing::TinyPlantedRequest();
  request.mutable_training()->mutable_model()->set_num_layers(2);
  AddHead(&request, 0, {-3, -1});
  AddHead(&request, 0, {-7, -2, 0});
  AddHead(&request, 0, {-5});
  AddHead(&request, 1, {-4, -3, 0});
  return request;
}

// The parent trained for 30 steps, and its checkpoint.
struct Parent {
  ModelRun run;
  std::string bytes;
};

Parent TrainedParent() {
  Parent parent{Build(ParentRequest(), 1), ""};
  TrainSteps(parent.run, 30, 2);
  parent.bytes = SerializeCheckpoint(parent.run.model, parent.run.request.training().model(),
                                     parent.run.request.genome(), parent.run.optimizer.get());
  return parent;
}

Checkpoint Parsed(const std::string& bytes) {
  absl::StatusOr<Checkpoint> checkpoint = Checkpoint::Parse(bytes, "test");
  EXPECT_TRUE(checkpoint.ok()) << checkpoint.status();
  return *std::move(checkpoint);
}

headevo::v1::Head* FindHead(headevo::v1::Genome* genome, int64_t id) {
  for (auto& head : *genome->mutable_heads()) {
    if (head.id() == id) return &head;
  }
  return nullptr;
}

TEST(CheckpointTest, RestoreGivesTheSameWeightsAndResumesTrainingExactly) {
  Parent parent = TrainedParent();
  const Checkpoint checkpoint = Parsed(parent.bytes);
  EXPECT_TRUE(checkpoint.has_optimizer_state());
  EXPECT_EQ(checkpoint.genome().heads_size(), 4);

  ModelRun resumed = Build(ParentRequest(), 99);  // other initial weights
  ASSERT_OK(checkpoint.Restore(resumed.model, resumed.optimizer.get()));
  for (const auto& parameter : parent.run.model->named_parameters()) {
    EXPECT_TRUE(torch::equal(parameter.value(), resumed.model->named_parameters()[parameter.key()]))
        << parameter.key();
  }
  // The optimiser's moments came back too: the next steps are bit-identical.
  EXPECT_EQ(TrainSteps(parent.run, 5, 3), TrainSteps(resumed, 5, 3));
}

TEST(CheckpointTest, ChildWithTheSameHeadsReproducesTheParentValidationLossExactly) {
  Parent parent = TrainedParent();
  ModelRun child = Build(ParentRequest(), 42);
  ASSERT_OK_AND_ASSIGN(
      const InheritanceReport report,
      InheritWeights(Parsed(parent.bytes), child.request.training().model(), child.request.genome(),
                     child.layout, child.model, RandomHeadInitializer(5)));
  EXPECT_EQ(report.inherited_heads, 4);
  EXPECT_EQ(report.new_heads, 0);
  EXPECT_EQ(ValLoss(child), ValLoss(parent.run));
}

TEST(CheckpointTest, ChildWithOneHeadPrunedEqualsTheParentWithThatGateAtZero) {
  Parent parent = TrainedParent();
  headevo::v1::EvaluationRequest pruned = ParentRequest();
  pruned.mutable_genome()->mutable_heads()->DeleteSubrange(1, 1);  // head 101, slot 1 of layer 0
  ModelRun child = Build(pruned, 42);
  ASSERT_OK_AND_ASSIGN(
      const InheritanceReport report,
      InheritWeights(Parsed(parent.bytes), child.request.training().model(), child.request.genome(),
                     child.layout, child.model, RandomHeadInitializer(5)));
  EXPECT_EQ(report.inherited_heads, 3);

  const double full = ValLoss(parent.run);
  {
    torch::NoGradGuard no_grad;
    parent.run.model->attention(0)->gate()[1].fill_(0.0);
  }
  const double gated = ValLoss(parent.run);
  EXPECT_NE(gated, full);  // the head mattered, so the comparison below means something
  EXPECT_NEAR(ValLoss(child), gated, 1e-5 * gated);
}

TEST(CheckpointTest, NewHeadsDependOnTheirIdNotTheirSlotAndInheritedHeadsFollowTheirId) {
  Parent parent = TrainedParent();
  const Checkpoint checkpoint = Parsed(parent.bytes);
  headevo::v1::EvaluationRequest appended = ParentRequest();
  AddHead(&appended, 0, {-6, -1});  // id 104, slot 3 of layer 0
  headevo::v1::EvaluationRequest first = appended;
  // Move the new head to the front: it takes slot 0 and the inherited heads shift by one.
  std::rotate(first.mutable_genome()->mutable_heads()->begin(),
              first.mutable_genome()->mutable_heads()->end() - 1,
              first.mutable_genome()->mutable_heads()->end());
  ModelRun a = Build(appended, 7), b = Build(first, 8);
  for (ModelRun* run : {&a, &b}) {
    ASSERT_OK_AND_ASSIGN(
        const InheritanceReport report,
        InheritWeights(checkpoint, run->request.training().model(), run->request.genome(),
                       run->layout, run->model, RandomHeadInitializer(5)));
    EXPECT_EQ(report.new_heads, 1);
  }
  const int64_t d = 8, heads = 4;
  const auto query_rows = [&](ModelRun& run, int slot) {
    return run.model->attention(0)->qkv_weight().slice(0, slot * d, (slot + 1) * d);
  };
  EXPECT_TRUE(torch::equal(query_rows(a, 3), query_rows(b, 0)));  // new head 104
  EXPECT_TRUE(torch::equal(query_rows(a, 0), query_rows(b, 1)));  // inherited head 100
  const auto value_rows = [&](ModelRun& run, int slot) {
    const int64_t row = (2 * heads + slot) * d;
    return run.model->attention(0)->qkv_weight().slice(0, row, row + d);
  };
  EXPECT_TRUE(torch::equal(value_rows(a, 2), value_rows(b, 3)));  // inherited head 102
  const auto parent_values = parent.run.model->attention(0)->qkv_weight().slice(
      0, (2 * 3 + 2) * d, (2 * 3 + 3) * d);  // the parent had 3 heads in layer 0
  EXPECT_TRUE(torch::equal(value_rows(a, 2), parent_values));
  EXPECT_EQ(a.model->attention(0)->offset_bias()[3].abs().sum().item<double>(), 0.0);
}

TEST(CheckpointTest, ChangedOffsetsKeepTheBiasesOfSharedOffsetsOnly) {
  Parent parent = TrainedParent();
  headevo::v1::EvaluationRequest mutated = ParentRequest();
  // Head 101 {-7, -2, 0} keeps its id but now reads {-7, -4, 0}.
  headevo::v1::Head* head = FindHead(mutated.mutable_genome(), 101);
  head->mutable_offsets()->set_offsets(1, -4);
  ModelRun child = Build(mutated, 3);
  ASSERT_OK(InheritWeights(Parsed(parent.bytes), child.request.training().model(),
                           child.request.genome(), child.layout, child.model,
                           RandomHeadInitializer(5))
                .status());
  const torch::Tensor from = parent.run.model->attention(0)->offset_bias()[1];
  const torch::Tensor to = child.model->attention(0)->offset_bias()[1];
  EXPECT_NE(from[0].item<float>(), 0.0f);                 // trained
  EXPECT_EQ(to[0].item<float>(), from[0].item<float>());  // -7 shared
  EXPECT_EQ(to[1].item<float>(), 0.0f);                   // -4 new
  EXPECT_EQ(to[2].item<float>(), from[2].item<float>());  // 0 shared
}

TEST(CheckpointTest, MismatchedModelsAreRefusedNamingTheDifference) {
  Parent parent = TrainedParent();
  const Checkpoint checkpoint = Parsed(parent.bytes);

  headevo::v1::EvaluationRequest wider = ParentRequest();
  wider.mutable_training()->mutable_model()->set_d_model(32);
  ModelRun wide = Build(wider, 1);
  const auto wide_status = InheritWeights(checkpoint, wider.training().model(), wider.genome(),
                                          wide.layout, wide.model, RandomHeadInitializer(5));
  EXPECT_EQ(wide_status.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(wide_status.status().message().find("d_model is 16 in the parent and 32"),
            std::string::npos)
      << wide_status.status();

  headevo::v1::EvaluationRequest dense = ParentRequest();
  dense.mutable_training()->mutable_model()->set_attention(headevo::v1::ATTENTION_KIND_DENSE);
  ModelRun dense_run = Build(dense, 1);
  const auto dense_status =
      InheritWeights(checkpoint, dense.training().model(), dense.genome(), dense_run.layout,
                     dense_run.model, RandomHeadInitializer(5));
  EXPECT_EQ(dense_status.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(dense_status.status().message().find("dense"), std::string::npos);

  headevo::v1::EvaluationRequest more = ParentRequest();
  AddHead(&more, 1, {-1});
  ModelRun bigger = Build(more, 1);
  const absl::Status restore = checkpoint.Restore(bigger.model, nullptr);
  EXPECT_EQ(restore.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(restore.message().find("block1.attention"), std::string::npos) << restore;
}

TEST(CheckpointFileTest, DamagedOrForeignFilesAreRefusedNamingTheFile) {
  const headevo::testing::TempDir temp;
  const std::filesystem::path& dir_ = temp.path();
  Parent parent = TrainedParent();
  const std::string path = (dir_ / "parent.ckpt").string();
  ASSERT_OK(WriteFileAtomically(path, parent.bytes));
  const std::string sha = Sha256Hex(parent.bytes);
  ASSERT_OK(Checkpoint::Load(path, sha).status());

  const auto refused = [&](const std::string& bytes, const std::string& why) {
    ASSERT_OK(WriteFileAtomically(path, bytes));
    const absl::Status status = Checkpoint::Load(path).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << why << ": " << status;
    EXPECT_NE(status.message().find(path), std::string::npos) << why << ": " << status;
  };
  refused(parent.bytes.substr(0, parent.bytes.size() / 2), "truncated");
  refused("not a checkpoint at all", "garbage");
  refused("", "empty");
  // Bit rot inside the trained weights: flip one bit of the embedding table's bytes.
  const torch::Tensor embedding =
      parent.run.model->named_parameters()["embedding.weight"].detach().contiguous();
  const std::string weights(static_cast<const char*>(embedding.data_ptr()), 64);
  const size_t at = parent.bytes.find(weights);
  ASSERT_NE(at, std::string::npos);
  std::string flipped = parent.bytes;
  flipped[at + 17] = static_cast<char>(flipped[at + 17] ^ 0x04);
  refused(flipped, "flipped bit");

  ASSERT_OK(WriteFileAtomically(path, parent.bytes));
  const absl::Status wrong_hash = Checkpoint::Load(path, std::string(64, '0')).status();
  EXPECT_EQ(wrong_hash.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(wrong_hash.message().find("hash"), std::string::npos) << wrong_hash;
  EXPECT_EQ(Checkpoint::Load((dir_ / "missing.ckpt").string()).status().code(),
            absl::StatusCode::kNotFound);
}

// A well-sealed file (its SHA-256 matches) whose header asks for a shape LibTorch refuses:
// refused as damaged, not thrown past Parse.
TEST(CheckpointFileTest, AShapeLibTorchRefusesIsDataLossNotAnException) {
  headevo::v1::CheckpointHeader header;
  header.set_format_version(1);
  headevo::v1::CheckpointTensor* tensor = header.add_tensors();
  tensor->set_name("model/embedding.weight");
  tensor->set_dtype("float32");
  tensor->add_shape(-5);
  tensor->add_shape(4);
  const std::string serialized = header.SerializeAsString();
  std::string bytes = "HEVOCKPT";
  for (int byte = 0; byte < 8; ++byte) {
    bytes.push_back(static_cast<char>((serialized.size() >> (8 * byte)) & 0xff));
  }
  bytes += serialized;
  const std::string hex = Sha256Hex(bytes);
  for (size_t i = 0; i < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  const absl::Status status = Checkpoint::Parse(bytes, "forged.ckpt").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_NE(status.message().find("forged.ckpt"), std::string::npos) << status;
  EXPECT_NE(status.message().find("embedding.weight"), std::string::npos) << status;
}

}  // namespace
}  // namespace headevo::worker
