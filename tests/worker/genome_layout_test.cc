#include "worker/genome_layout.h"

#include <gtest/gtest.h>

#include <algorithm>
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
  EXPECT_EQ(CountConnections(layout, model), 6);

  request.mutable_training()->mutable_model()->set_attention(headevo::v1::ATTENTION_KIND_DENSE);
  const GenomeLayout dense = MakeGenomeLayout(request.genome(), request.training().model());
  EXPECT_EQ(dense.offsets[1][1], DenseOffsets(16, true));
  EXPECT_EQ(CountConnections(dense, request.training().model()), 3 * 16);
}

TEST(GenomeLayoutTest, LocalAndStridedPatterns) {
  EXPECT_EQ(LocalOffsets(16, true, 3), (std::vector<int32_t>{-2, -1, 0}));
  EXPECT_EQ(LocalOffsets(16, false, 4), (std::vector<int32_t>{-1, 0, 1, 2}));
  EXPECT_EQ(LocalOffsets(3, true, 8), (std::vector<int32_t>{-2, -1, 0}));  // clipped
  EXPECT_EQ(StridedOffsets(10, true, 4), (std::vector<int32_t>{-8, -4, 0}));
  EXPECT_EQ(StridedOffsets(10, false, 4), (std::vector<int32_t>{-8, -4, 0, 4, 8}));
}

TEST(GenomeLayoutTest, BaselinesIgnoreGenomeOffsetsButKeepHeadCounts) {
  headevo::v1::EvaluationRequest request = testing::TinyPlantedRequest();
  for (int i = 0; i < 4; ++i) AddHead(&request, 0, {-1});
  headevo::v1::ModelSpec model = request.training().model();

  model.set_attention(headevo::v1::ATTENTION_KIND_LOCAL);
  model.set_window(5);
  GenomeLayout layout = MakeGenomeLayout(request.genome(), model);
  ASSERT_EQ(layout.offsets[0].size(), 4u);
  EXPECT_EQ(layout.offsets[0][3], LocalOffsets(16, true, 5));
  EXPECT_EQ(CountConnections(layout, model), 4 * 5);

  model.set_attention(headevo::v1::ATTENTION_KIND_STRIDED);
  model.set_stride(4);
  layout = MakeGenomeLayout(request.genome(), model);
  EXPECT_EQ(layout.offsets[0][0], LocalOffsets(16, true, 4));    // even heads: local
  EXPECT_EQ(layout.offsets[0][1], StridedOffsets(16, true, 4));  // odd heads: strided
  EXPECT_EQ(layout.offsets[0][2], layout.offsets[0][0]);

  model.set_attention(headevo::v1::ATTENTION_KIND_LINFORMER);
  model.set_linformer_rank(6);
  layout = MakeGenomeLayout(request.genome(), model);
  EXPECT_TRUE(layout.offsets[0][0].empty());
  EXPECT_EQ(CountConnections(layout, model), 4 * 6);
}

TEST(GenomeLayoutTest, RandomHeadsFollowTheSeedAndHaveTheRequestedMeanSize) {
  headevo::v1::EvaluationRequest request = testing::TinyPlantedRequest();
  request.mutable_training()->mutable_model()->set_seq_len(256);
  for (int i = 0; i < 400; ++i) AddHead(&request, 0, {-1});
  headevo::v1::ModelSpec model = request.training().model();
  model.set_attention(headevo::v1::ATTENTION_KIND_RANDOM);
  model.set_random_k(6);
  const GenomeLayout a = MakeGenomeLayout(request.genome(), model, 11);
  const GenomeLayout b = MakeGenomeLayout(request.genome(), model, 11);
  const GenomeLayout c = MakeGenomeLayout(request.genome(), model, 12);
  EXPECT_EQ(a.offsets, b.offsets);
  EXPECT_NE(a.offsets, c.offsets);
  double total = 0;
  for (const auto& head : a.offsets[0]) {
    ASSERT_FALSE(head.empty());
    EXPECT_TRUE(std::is_sorted(head.begin(), head.end()));
    EXPECT_EQ(std::adjacent_find(head.begin(), head.end()), head.end());  // unique
    EXPECT_GE(head.front(), -255);
    EXPECT_LE(head.back(), 0);  // causal
    total += static_cast<double>(head.size());
  }
  // 1 + Poisson(5): mean 6, standard error of the mean over 400 heads ~0.11.
  EXPECT_NEAR(total / 400.0, 6.0, 0.5);
}

TEST(GenomeLayoutTest, DilatedOffsetsAreExponentiallySpaced) {
  EXPECT_EQ(DilatedOffsets(16, true), (std::vector<int32_t>{-8, -4, -2, -1, 0}));
  EXPECT_EQ(DilatedOffsets(17, true), (std::vector<int32_t>{-16, -8, -4, -2, -1, 0}));
  EXPECT_EQ(DilatedOffsets(5, false), (std::vector<int32_t>{-4, -2, -1, 0, 1, 2, 4}));
  EXPECT_EQ(DilatedOffsets(1, true), (std::vector<int32_t>{0}));
  // Every head of a dilated model has the same pattern, whatever the genome says.
  headevo::v1::EvaluationRequest request = testing::TinyPlantedRequest();
  for (int i = 0; i < 3; ++i) AddHead(&request, 0, {-1});
  headevo::v1::ModelSpec model = request.training().model();
  model.set_attention(headevo::v1::ATTENTION_KIND_DILATED);
  const GenomeLayout layout = MakeGenomeLayout(request.genome(), model);
  for (const auto& head : layout.offsets[0]) EXPECT_EQ(head, DilatedOffsets(16, true));
  EXPECT_EQ(CountConnections(layout, model), 3 * 5);
}

TEST(GenomeLayoutTest, WindowRandomAddsFarOffsetsOutsideTheWindow) {
  search::Rng rng(3);
  for (int trial = 0; trial < 50; ++trial) {
    const std::vector<int32_t> head = WindowRandomOffsets(64, true, 4, 3, rng);
    ASSERT_EQ(head.size(), 7u);
    EXPECT_TRUE(std::is_sorted(head.begin(), head.end()));
    EXPECT_EQ(std::adjacent_find(head.begin(), head.end()), head.end());
    // The window {-3 .. 0} is the last four; the three random ones lie beyond it.
    EXPECT_EQ(std::vector<int32_t>(head.end() - 4, head.end()), LocalOffsets(64, true, 4));
    for (int i = 0; i < 3; ++i) {
      EXPECT_LT(head[i], -3);
      EXPECT_GE(head[i], -63);
    }
  }
  // A sequence with fewer far offsets than asked gives them all.
  EXPECT_EQ(WindowRandomOffsets(6, true, 4, 9, rng), DenseOffsets(6, true));
  // Bidirectional: the far offsets may look ahead.
  bool ahead = false;
  for (int trial = 0; trial < 50; ++trial) {
    for (int32_t offset : WindowRandomOffsets(64, false, 3, 4, rng)) ahead |= offset > 1;
  }
  EXPECT_TRUE(ahead);

  headevo::v1::EvaluationRequest request = testing::TinyPlantedRequest();
  request.mutable_training()->mutable_model()->set_seq_len(128);
  for (int i = 0; i < 8; ++i) AddHead(&request, 0, {-1});
  headevo::v1::ModelSpec model = request.training().model();
  model.set_attention(headevo::v1::ATTENTION_KIND_WINDOW_RANDOM);
  model.set_window(2);
  model.set_random_k(2);
  const GenomeLayout a = MakeGenomeLayout(request.genome(), model, 5);
  EXPECT_EQ(a.offsets, MakeGenomeLayout(request.genome(), model, 5).offsets);
  EXPECT_NE(a.offsets, MakeGenomeLayout(request.genome(), model, 6).offsets);
  EXPECT_NE(a.offsets[0][0], a.offsets[0][1]);  // each head draws its own
  EXPECT_EQ(CountConnections(a, model), 8 * 4);
}

}  // namespace
}  // namespace headevo::worker
