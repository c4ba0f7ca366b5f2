#include "search/pruning.h"

#include <gtest/gtest.h>

namespace headevo::search {
namespace {

// A built population for the rules: one entry per head, in genome (slot) order.
struct BuiltHead {
  int64_t id;
  int layer;
  double score;
  std::vector<int> offsets;
  double similarity = 0.0;
  int64_t most_similar = 0;
};

struct Built {
  headevo::v1::Genome genome;
  std::vector<HeadScore> scores;
};

Built Build(const std::vector<BuiltHead>& heads) {
  Built b;
  for (size_t i = 0; i < heads.size(); ++i) {
    const BuiltHead& h = heads[i];
    headevo::v1::Head* head = b.genome.add_heads();
    head->set_id(h.id);
    head->set_layer(h.layer);
    for (int o : h.offsets) head->mutable_offsets()->add_offsets(o);
    HeadScore s;
    s.slot = static_cast<int>(i);
    s.head_id = h.id;
    s.layer = h.layer;
    s.k = static_cast<int>(h.offsets.size());
    s.score = h.score;
    s.output_similarity = h.similarity;
    s.most_similar_head_id = h.most_similar;
    b.scores.push_back(s);
  }
  return b;
}

std::vector<int> Slots(const std::vector<PrunedHead>& pruned) {
  std::vector<int> slots;
  for (const PrunedHead& p : pruned) slots.push_back(p.slot);
  return slots;
}

TEST(PruningTest, PrunesTheWorstFractionAndKeepsTheLayerMinimum) {
  // Layer 0: four heads; layer 1: one head, the worst of all. 50% of 5 heads rounds to 3, but
  // layer 1 must keep its only head.
  const Built b = Build({{10, 0, 0.5, {-1}},
                         {11, 0, -1.0, {-2}},
                         {12, 0, 2.0, {-3}},
                         {13, 0, -0.5, {-4}},
                         {14, 1, -9.0, {-5}}});
  PruningOptions options;
  options.fraction = 0.5;
  EXPECT_EQ(Slots(SelectHeadsToPrune(b.genome, b.scores, options)), (std::vector<int>{1, 3, 0}));
  options.min_heads_per_layer = 3;
  EXPECT_EQ(Slots(SelectHeadsToPrune(b.genome, b.scores, options)), (std::vector<int>{1}));
}

TEST(PruningTest, SmallFractionStillPrunesOneAndZeroPrunesNone) {
  const Built b = Build({{1, 0, 1.0, {-1}}, {2, 0, 0.0, {-2}}});
  PruningOptions options;
  options.fraction = 0.01;
  EXPECT_EQ(Slots(SelectHeadsToPrune(b.genome, b.scores, options)), (std::vector<int>{1}));
  options.fraction = 0.0;
  EXPECT_TRUE(SelectHeadsToPrune(b.genome, b.scores, options).empty());
  options.fraction = 1.0;
  EXPECT_FALSE(options.Validate().ok());
}

TEST(PruningTest, NearDuplicateOffsetsLoseTheLowerRankedHead) {
  // Heads 1 and 2 share 2 of 4 distinct offsets (Jaccard 0.5); head 3 repeats head 1 exactly
  // but lives in another layer, so it is not a duplicate.
  const Built b = Build({{1, 0, 1.0, {-3, -2, -1}},
                         {2, 0, 0.5, {-3, -2, -4}},
                         {3, 1, 0.0, {-3, -2, -1}},
                         {4, 0, 0.2, {-9}}});
  PruningOptions options;
  options.fraction = 0.0;
  options.duplicate_jaccard = 0.5;
  const std::vector<PrunedHead> pruned = SelectHeadsToPrune(b.genome, b.scores, options);
  ASSERT_EQ(pruned.size(), 1u);
  EXPECT_EQ(pruned[0].head_id, 2);
  EXPECT_EQ(pruned[0].reason, PruneReason::kDuplicateOffsets);
  EXPECT_EQ(pruned[0].duplicate_of, 1);
  options.duplicate_jaccard = 0.51;
  EXPECT_TRUE(SelectHeadsToPrune(b.genome, b.scores, options).empty());
  EXPECT_DOUBLE_EQ(Jaccard(b.genome.heads(0).offsets(), b.genome.heads(1).offsets()), 0.5);
}

TEST(PruningTest, SimilarOutputsLoseTheLowerRankedHeadOnce) {
  // 1 and 2 name each other (similarity 0.95): only the lower-ranked 2 goes, and 1 stays even
  // though it is equally similar. 3 -> 4 at 0.8 is under the threshold.
  const Built b = Build({{1, 0, 1.0, {-1}, 0.95, 2},
                         {2, 0, 0.5, {-2}, 0.95, 1},
                         {3, 0, 0.0, {-3}, 0.80, 4},
                         {4, 0, 0.7, {-4}, 0.80, 3}});
  PruningOptions options;
  options.fraction = 0.0;
  options.duplicate_similarity = 0.9;
  const std::vector<PrunedHead> pruned = SelectHeadsToPrune(b.genome, b.scores, options);
  ASSERT_EQ(pruned.size(), 1u);
  EXPECT_EQ(pruned[0].head_id, 2);
  EXPECT_EQ(pruned[0].reason, PruneReason::kDuplicateOutput);
  EXPECT_EQ(pruned[0].duplicate_of, 1);
}

TEST(PruningTest, LayerMaximumTrimsTheWorstFirstAndRulesShareOneBudget) {
  // Layer 0 has 4 heads, maximum 2: heads 3 and 4 (its worst) go. The fraction 0.2 of 6 heads
  // is one head; the worst head overall (4) is already gone, so the rank rule adds nothing.
  const Built b = Build({{1, 0, 1.0, {-1}},
                         {2, 0, 0.9, {-2}},
                         {3, 0, 0.1, {-3}},
                         {4, 0, -2.0, {-4}},
                         {5, 1, 0.3, {-5}},
                         {6, 1, 0.2, {-6}}});
  PruningOptions options;
  options.fraction = 0.2;
  options.max_heads_per_layer = 2;
  const std::vector<PrunedHead> pruned = SelectHeadsToPrune(b.genome, b.scores, options);
  EXPECT_EQ(Slots(pruned), (std::vector<int>{3, 2}));
  for (const PrunedHead& p : pruned) EXPECT_EQ(p.reason, PruneReason::kOverLayerMaximum);
  EXPECT_EQ(DescribePruned(pruned), "4 (over layer maximum), 3 (over layer maximum)");
}

TEST(PruningTest, InvalidThresholdsAreNamed) {
  PruningOptions options;
  options.duplicate_jaccard = 1.5;
  EXPECT_NE(options.Validate().message().find("duplicate_jaccard"), std::string::npos);
  options = PruningOptions{};
  options.min_heads_per_layer = 3;
  options.max_heads_per_layer = 2;
  EXPECT_NE(options.Validate().message().find("max_heads_per_layer"), std::string::npos);
}

}  // namespace
}  // namespace headevo::search
