// ExportModel (worker/model_export.h): the file torch::pickle_load reads back holds the
// format, the genome in genome order, every parameter and buffer under the model's names, and
// reference logits that are the model's own output; the same checkpoint gives the same bytes;
// a reference model (dense attention) is refused.
#include "worker/model_export.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>
#include <string>
#include <vector>

#include "tests/testutil/status_matchers.h"
#include "tests/worker/built_model.h"
#include "tests/worker/test_requests.h"
#include "worker/checkpoint.h"

namespace headevo::worker {
namespace {

headevo::v1::EvaluationRequest Request() {
  headevo::v1::EvaluationRequest request = testing::TinyPlantedRequest();
  request.mutable_training()->mutable_model()->set_num_layers(2);
  testing::AddHead(&request, 0, {-3, -1});
  testing::AddHead(&request, 1, {-7, -2, 0});
  testing::AddHead(&request, 0, {-5});
  request.mutable_genome()->mutable_heads(1)->set_extra_key_width(2);
  return request;
}

Checkpoint CheckpointOf(const headevo::v1::EvaluationRequest& request, testing::BuiltModel& built) {
  absl::StatusOr<Checkpoint> checkpoint = Checkpoint::Parse(
      SerializeCheckpoint(built.model, request.training().model(), request.genome(), nullptr),
      "test.ckpt");
  EXPECT_TRUE(checkpoint.ok()) << checkpoint.status();
  return *std::move(checkpoint);
}

c10::impl::GenericDict Unpickle(const std::string& bytes) {
  return torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end())).toGenericDict();
}

TEST(ModelExportTest, TheFileHoldsTheGenomeTheWeightsAndTheModelsOwnLogits) {
  const headevo::v1::EvaluationRequest request = Request();
  testing::BuiltModel built = testing::BuildModel(request, 3);
  const Checkpoint checkpoint = CheckpointOf(request, built);
  ModelExportOptions options;
  options.candidate_id = 42;
  options.reference_batch = 2;
  ASSERT_OK_AND_ASSIGN(const std::string bytes, ExportModel(checkpoint, options));
  ASSERT_OK_AND_ASSIGN(const std::string again, ExportModel(checkpoint, options));
  EXPECT_EQ(bytes, again) << "the same checkpoint gives the same file";

  const c10::impl::GenericDict file = Unpickle(bytes);
  EXPECT_EQ(file.at("format").toStringRef(), kModelExportFormat);
  EXPECT_EQ(file.at("candidate_id").toInt(), 42);
  const c10::impl::GenericDict config = file.at("config").toGenericDict();
  EXPECT_EQ(config.at("seq_len").toInt(), 16);
  EXPECT_EQ(config.at("num_layers").toInt(), 2);
  const c10::List<c10::IValue> heads = file.at("heads").toList();
  ASSERT_EQ(heads.size(), 3u);
  const c10::impl::GenericDict second = heads.get(1).toGenericDict();
  EXPECT_EQ(second.at("head_id").toInt(), 101);
  EXPECT_EQ(second.at("layer").toInt(), 1);
  EXPECT_EQ(second.at("slot").toInt(), 0);
  EXPECT_EQ(second.at("offsets").toIntVector(), std::vector<int64_t>({-7, -2, 0}));
  EXPECT_EQ(second.at("extra_key_width").toInt(), 2);
  EXPECT_EQ(heads.get(2).toGenericDict().at("slot").toInt(), 1) << "second head of layer 0";

  std::set<std::string> expected, exported;
  for (const auto& p : built.model->named_parameters()) expected.insert(p.key());
  for (const auto& b : built.model->named_buffers()) expected.insert(b.key());
  EXPECT_TRUE(expected.count("block1.attention.extra_mask")) << "the grown layer's buffer";
  const c10::impl::GenericDict state = file.at("state_dict").toGenericDict();
  for (const auto& entry : state) {
    const std::string name = entry.key().toStringRef();
    exported.insert(name);
    const torch::Tensor saved = entry.value().toTensor();
    const torch::Tensor original = built.model->named_parameters().contains(name)
                                       ? built.model->named_parameters()[name]
                                       : built.model->named_buffers()[name];
    EXPECT_TRUE(torch::equal(saved, original)) << name;
  }
  EXPECT_EQ(exported, expected);

  const c10::impl::GenericDict reference = file.at("reference").toGenericDict();
  const torch::Tensor tokens = reference.at("tokens").toTensor();
  ASSERT_EQ(tokens.sizes(), torch::IntArrayRef({2, 16}));
  EXPECT_TRUE(tokens.lt(8).all().item<bool>() && tokens.ge(0).all().item<bool>());
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(reference.at("logits").toTensor(), built.model->forward(tokens)));
}

TEST(ModelExportTest, ReferenceLogitsOnlyWhenAsked) {
  const headevo::v1::EvaluationRequest request = Request();
  testing::BuiltModel built = testing::BuildModel(request, 3);
  ASSERT_OK_AND_ASSIGN(const std::string bytes, ExportModel(CheckpointOf(request, built), {}));
  EXPECT_FALSE(Unpickle(bytes).contains("reference"));
}

TEST(ModelExportTest, AReferenceModelIsRefused) {
  headevo::v1::EvaluationRequest request = Request();
  request.mutable_training()->mutable_model()->set_attention(headevo::v1::ATTENTION_KIND_DENSE);
  testing::BuiltModel built = testing::BuildModel(request, 3);
  const absl::Status status = ExportModel(CheckpointOf(request, built), {}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_NE(status.message().find("dense-attention model; only candidates"), std::string::npos)
      << status;
}

}  // namespace
}  // namespace headevo::worker
