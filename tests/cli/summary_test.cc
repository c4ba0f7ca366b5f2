#include "cli/summary.h"

#include <gtest/gtest.h>

#include <cmath>

namespace headevo::cli {
namespace {

headevo::v1::Candidate Best() {
  headevo::v1::Candidate c;
  c.set_id(13);
  c.set_generation(2);
  c.set_parent_id(4);
  c.set_state(headevo::v1::CANDIDATE_STATE_DONE);
  c.mutable_genome()->set_num_layers(2);
  const std::vector<std::pair<int, std::vector<int>>> heads = {
      {0, {-11, -5}}, {0, {-2}}, {1, {-3, -1}}};
  for (const auto& [layer, offsets] : heads) {
    auto* head = c.mutable_genome()->add_heads();
    head->set_layer(layer);
    for (int o : offsets) head->mutable_offsets()->add_offsets(o);
  }
  c.mutable_metrics()->set_val_loss(0.5);
  c.mutable_metrics()->set_connections(5);
  return c;
}

TEST(SummaryTest, LayerHeadsListEachHeadsOffsets) {
  const auto best = Best();
  EXPECT_EQ(FormatLayerHeads(best.genome(), 0), "{-11,-5} {-2}");
  EXPECT_EQ(FormatLayerHeads(best.genome(), 1), "{-3,-1}");
  auto grown = best;
  grown.mutable_genome()->mutable_heads(1)->set_extra_key_width(8);
  EXPECT_EQ(FormatLayerHeads(grown.genome(), 0), "{-11,-5} {-2}(d_k+8)");
}

TEST(SummaryTest, ProgressLineShowsGenerationLossConnectionsAndBest) {
  const auto c = Best();
  server::CandidateProgress progress;
  progress.candidate = &c;
  progress.evaluated = 5;
  progress.total = 24;
  progress.best = &c;
  const std::string line = FormatProgressLine(progress);
  EXPECT_NE(line.find("[ 5/24]"), std::string::npos) << line;
  EXPECT_NE(line.find("gen 2"), std::string::npos) << line;
  EXPECT_NE(line.find("#13"), std::string::npos) << line;
  EXPECT_NE(line.find("<- #4"), std::string::npos) << line;
  EXPECT_NE(line.find("loss 0.5000"), std::string::npos) << line;
  EXPECT_NE(line.find("conn 5"), std::string::npos) << line;
  EXPECT_NE(line.find("best #13 loss 0.5000 conn 5"), std::string::npos) << line;

  headevo::v1::Candidate failed = c;
  failed.set_state(headevo::v1::CANDIDATE_STATE_FAILED);
  failed.set_error("loss is NaN");
  progress.candidate = &failed;
  EXPECT_NE(FormatProgressLine(progress).find("FAILED: loss is NaN"), std::string::npos);
}

TEST(SummaryTest, SummaryComparesWithDenseAndChecksThePlantedOffsets) {
  search::SearchOptions options;
  options.name = "demo";
  options.training = search::DefaultTrainingSpec();  // planted {-2,-5,-11}
  server::SearchOutcome outcome;
  outcome.search_id = 3;
  outcome.evaluated = 24;
  outcome.best = Best();
  headevo::v1::Metrics dense;
  dense.set_val_loss(0.25);
  dense.set_connections(256);
  dense.set_train_seconds(12.34);
  outcome.dense = dense;
  const std::string summary = FormatSummary(options, outcome, 100.0);
  EXPECT_NE(summary.find("search 3 \"demo\": 24 candidates"), std::string::npos) << summary;
  EXPECT_NE(summary.find("best candidate #13 (generation 2, parent #4)"), std::string::npos);
  EXPECT_NE(summary.find("layer 0: {-11,-5} {-2}"), std::string::npos) << summary;
  // The reference's own training time: what the dense comparison cost.
  EXPECT_NE(summary.find("dense attention, trained the same way: val_loss 0.2500, 256 "
                         "connections per query (12.3 s)\n"),
            std::string::npos)
      << summary;
  EXPECT_NE(summary.find("keeps 2.0% of the dense connections at 2x the dense loss"),
            std::string::npos)
      << summary;
  EXPECT_NE(summary.find("3 of 3 present"), std::string::npos) << summary;

  outcome.best.mutable_genome()->mutable_heads(1)->mutable_offsets()->set_offsets(0, -4);
  outcome.dense.reset();
  outcome.dense_error = "out of memory";
  const std::string partial = FormatSummary(options, outcome, 1.0);
  EXPECT_NE(partial.find("2 of 3 present"), std::string::npos) << partial;
  EXPECT_NE(partial.find("missing {-2}"), std::string::npos) << partial;
  EXPECT_NE(partial.find("dense baseline failed: out of memory"), std::string::npos) << partial;
}

TEST(SummaryTest, SummaryListsEachBaseline) {
  search::SearchOptions options;
  options.training = search::DefaultTrainingSpec();
  server::SearchOutcome outcome;
  outcome.best = Best();
  server::SearchOutcome::Baseline& local = outcome.baselines.emplace_back();
  local.description = "local attention (window 3)";
  local.metrics.emplace();
  local.metrics->set_val_loss(0.75);
  local.metrics->set_connections(24);
  server::SearchOutcome::Baseline& linformer = outcome.baselines.emplace_back();
  linformer.description = "Linformer (rank 3)";
  linformer.error = "INVALID_ARGUMENT: causal";
  const std::string summary = FormatSummary(options, outcome, 1.0);
  EXPECT_NE(summary.find("local attention (window 3), trained the same way: val_loss 0.7500, 24 "
                         "connections per query"),
            std::string::npos)
      << summary;
  EXPECT_NE(summary.find("Linformer (rank 3) baseline failed: INVALID_ARGUMENT: causal"),
            std::string::npos)
      << summary;
}

TEST(SummaryTest, ImageTaskLossesAreAlsoInBitsPerPixel) {
  search::SearchOptions options;
  options.training = search::DefaultTrainingSpec();
  options.training.mutable_task()->set_kind(headevo::v1::TASK_KIND_IMAGE_PIXELS);
  server::SearchOutcome outcome;
  outcome.best = Best();  // val_loss 0.5 nats: 0.7213 bits
  headevo::v1::Metrics dense;
  dense.set_val_loss(std::log(2.0));
  dense.set_connections(10);
  outcome.dense = dense;
  const std::string summary = FormatSummary(options, outcome, 1.0);
  EXPECT_NE(summary.find("val_loss 0.5000 (0.7213 bits per pixel), 5 connections"),
            std::string::npos)
      << summary;
  EXPECT_NE(summary.find("val_loss 0.6931 (1.0000 bits per pixel)"), std::string::npos)
      << summary;
  options.training.mutable_task()->set_kind(headevo::v1::TASK_KIND_PLANTED_OFFSETS);
  EXPECT_EQ(FormatSummary(options, outcome, 1.0).find("bits per pixel"), std::string::npos);
}

}  // namespace
}  // namespace headevo::cli
