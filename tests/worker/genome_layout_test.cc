#include "worker/genome_layout.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/worker/test_requests.h"

namespace headevo::worker {
namespace {

using testing::AddHead;

TEST(GenomeLayoutTest, DenseOffsetsCoverEveryAllowedPosition) {
  EXPECT_EQ(DenseOffsets(3, true), (std::vector<int32_t>{-2, -1, 0}));
  EXPECT_EQ(DenseOffsets(3, false), (std::vector<int32_t>{-2, -1, 0, 1, 2}));
}

TEST(GenomeLayoutTest, HeadsKeepGenomeOrderWithinTheirLayer) {
  headevo::v1::EvaluationRequest request = testing::TinyPlantedRequest();
  request.mutable_training()->mutable_model()->set_num_layers(2);
  AddHead(&request, 1, {-1});
  AddHead(&request, 0, {-2, 0});
  AddHead(&request, 1, {-5, -3, -2});
  const auto& model = request.training().model();
  const GenomeLayout layout = MakeGenomeLayout(request.genome(), model);
  ASSERT_EQ(layout.offsets.size(), 2u);
  EXPECT_EQ(layout.offsets[0], (std::vector<std::vector<int32_t>>{{-2, 0}}));
  EXPECT_EQ(layout.offsets[1], (std::vector<std::vector<int32_t>>{{-1}, {-5, -3, -2}}));
  EXPECT_EQ(layout.layer_of, (std::vector<int>{1, 0, 1}));
  EXPECT_EQ(layout.slot_of, (std::vector<int>{0, 0, 1}));
  EXPECT_EQ(CountConnections(request.genome(), model), 6);

  request.mutable_training()->mutable_model()->set_attention(headevo::v1::ATTENTION_KIND_DENSE);
  const GenomeLayout dense = MakeGenomeLayout(request.genome(), request.training().model());
  EXPECT_EQ(dense.offsets[1][1], DenseOffsets(16, true));
  EXPECT_EQ(CountConnections(request.genome(), request.training().model()), 3 * 16);
}

}  // namespace
}  // namespace headevo::worker
