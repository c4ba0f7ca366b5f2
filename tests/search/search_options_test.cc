#include "search/search_options.h"

#include <gtest/gtest.h>

namespace headevo::search {
namespace {

SearchOptions Defaults() {
  SearchOptions options;
  options.training = DefaultTrainingSpec();
  return options;
}

// The first error of `options`, which must name `field`.
void ExpectRejected(const SearchOptions& options, const std::string& field) {
  const absl::Status status = options.Validate();
  ASSERT_FALSE(status.ok()) << "expected an error naming " << field;
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find(field), std::string::npos) << status.message();
}

TEST(SearchOptionsTest, DefaultsAreValid) { EXPECT_TRUE(Defaults().Validate().ok()); }

TEST(SearchOptionsTest, GrowthNeedsInheritedWeights) {
  SearchOptions o = Defaults();
  o.resampling.sampler = Sampler::kGrowth;
  ExpectRejected(o, "resampling.sampler = \"growth\" needs search.inherit_weights = true");
  o.resampling.sampler = Sampler::kAdaptive;
  o.resampling.arms = {Sampler::kUniform, Sampler::kGrowth};
  ExpectRejected(o, "resampling.arms includes \"growth\"");
  ExpectRejected(o, "search.inherit_weights");
  o.inherit_weights = true;
  EXPECT_TRUE(o.Validate().ok()) << o.Validate();
  o.resampling.growth_width = 0;
  ExpectRejected(o, "resampling: growth_width");
}

TEST(SearchOptionsTest, EachBadFieldIsNamed) {
  SearchOptions o = Defaults();
  o.population_size = 0;
  ExpectRejected(o, "search.population");

  o = Defaults();
  o.selection.num_parents = o.population_size + 1;
  ExpectRejected(o, "selection.parents");
  // Only truncation uses the parent count.
  o.selection.method = SelectionMethod::kTournament;
  EXPECT_TRUE(o.Validate().ok());

  o = Defaults();
  o.selection.tournament_size = 0;
  ExpectRejected(o, "selection: tournament_size");

  o = Defaults();
  o.resampling.top_fraction = 2;
  ExpectRejected(o, "resampling: top_fraction");

  o = Defaults();
  o.mode = SearchMode::kKSweep;
  o.k_sweep.k_start = o.initial.AvailablePositions() + 1;
  ExpectRejected(o, "k_sweep.k_start");
  o.k_sweep.k_start = 4;
  o.k_sweep.k_factor = 1.5;
  ExpectRejected(o, "k_sweep: k_factor");

  o = Defaults();
  o.training.mutable_model()->set_d_model(0);
  ExpectRejected(o, "model.d_model");

  o = Defaults();
  o.initial.window = o.training.model().seq_len();
  ExpectRejected(o, "initial.window");

  o = Defaults();
  o.pruning.min_heads_per_layer = o.training.model().heads_per_layer() + 1;
  ExpectRejected(o, "pruning.min_heads_per_layer");

  o = Defaults();
  o.training.set_learning_rate(0);
  ExpectRejected(o, "training.learning_rate");
}

TEST(SearchOptionsTest, PlantedOffsetsMustFitTheModel) {
  SearchOptions o = Defaults();
  o.training.mutable_task()->add_planted_offsets(-o.training.model().seq_len());
  ExpectRejected(o, "does not fit seq_len");

  o = Defaults();
  o.training.mutable_task()->add_planted_offsets(3);
  ExpectRejected(o, "looks ahead");

  o = Defaults();
  o.training.mutable_task()->clear_planted_offsets();
  ExpectRejected(o, "task.planted_offsets");
}

TEST(SearchOptionsTest, BrownCorpusNeedsAByteVocabulary) {
  SearchOptions o = Defaults();
  o.training.mutable_task()->set_kind(headevo::v1::TASK_KIND_BROWN_CORPUS);
  ExpectRejected(o, "model.vocab_size");
  o.training.mutable_model()->set_vocab_size(256);
  EXPECT_TRUE(o.Validate().ok());
}

}  // namespace
}  // namespace headevo::search
