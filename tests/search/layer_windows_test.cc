#include "search/layer_windows.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "search/reproduction.h"
#include "search/resampling.h"
#include "search/search_options.h"

namespace headevo::search {
namespace {

TEST(LayerWindowsTest, WindowsGrowGeometricallyUpToTheCap) {
  LayerWindows w;
  EXPECT_EQ(LayerWindow(8, w, 0), 8);
  EXPECT_EQ(LayerWindow(8, w, 5), 8) << "growth 1: every layer the same";
  w.growth = 2.0;
  EXPECT_EQ(LayerWindow(8, w, 0), 8);
  EXPECT_EQ(LayerWindow(8, w, 1), 16);
  EXPECT_EQ(LayerWindow(8, w, 2), 32);
  w.growth = 1.5;
  EXPECT_EQ(LayerWindow(8, w, 1), 12);
  EXPECT_EQ(LayerWindow(8, w, 3), 27);
  w.max_window = 20;
  EXPECT_EQ(LayerWindow(8, w, 3), 20);
  EXPECT_EQ(LayerWindow(8, w, 60), 20) << "a deep stack stays at the cap";
  w.max_window = 4;
  EXPECT_EQ(LayerWindow(8, w, 2), 8) << "the cap limits growth, never the base window";
}

TEST(LayerWindowsTest, GrowthBelowOneIsRefused) {
  LayerWindows w;
  w.growth = 0.5;
  EXPECT_NE(w.Validate().message().find("window_growth"), std::string::npos);
  HeadDistribution dist;
  dist.layer_windows.growth = 0.5;
  EXPECT_NE(dist.Validate().message().find("window_growth"), std::string::npos);
}

TEST(LayerWindowsTest, EveryLayersHeadsStayInItsOwnWindow) {
  HeadDistribution dist;
  dist.window = 4;
  dist.count.mean = 4;
  dist.layer_windows = {2.0, 31};
  Rng rng(6);
  bool beyond_base = false;
  for (int i = 0; i < 50; ++i) {
    const headevo::v1::Genome genome = MakeInitialGenome(4, 3, dist, rng);
    for (const headevo::v1::Head& head : genome.heads()) {
      const int window = std::min(4 << head.layer(), 31);
      for (int o : head.offsets().offsets()) {
        EXPECT_GE(o, -window) << "layer " << head.layer();
        EXPECT_LE(o, -1);
        beyond_base |= o < -4;
      }
      EXPECT_EQ(head.sampler_params().find("[-" + std::to_string(window) + ",-1]") !=
                    std::string::npos,
                true)
          << head.sampler_params();
    }
  }
  EXPECT_TRUE(beyond_base) << "deeper layers reach past the base window";
}

TEST(LayerWindowsTest, ResampledHeadsStayInTheirLayersWindow) {
  HeadDistribution dist;
  dist.window = 4;
  dist.layer_windows = {4.0, 0};
  // A layer-1 source at the edge of its window (16) and one at the base window's edge.
  headevo::v1::Candidate parent;
  parent.mutable_genome()->set_num_layers(2);
  for (int layer = 0; layer < 2; ++layer) {
    headevo::v1::Head* head = parent.mutable_genome()->add_heads();
    head->set_id(layer + 1);
    head->set_layer(layer);
    for (int o : {-4 * (layer * 3 + 1), -1}) head->mutable_offsets()->add_offsets(o);
  }
  RankedParent ranked;
  ranked.candidate = &parent;
  for (int slot = 0; slot < 2; ++slot) {
    HeadScore score;
    score.slot = slot;
    score.head_id = slot + 1;
    score.layer = slot;
    ranked.scores.push_back(score);
  }
  ResamplingOptions options;
  options.sampler = Sampler::kFitted;  // so the pool fits each layer
  options.mutation.shift_scaling = ShiftScaling::kProportional;
  options.mutation.shift_fraction = 1.0;
  options.min_fit_offsets = 2;
  const HeadPool pool = HeadPool::Build({ranked}, 2, dist, options);
  ASSERT_TRUE(pool.fitted(1).has_value()) << pool.fit_error(1);
  EXPECT_EQ(pool.fitted(1)->window, 16);
  Rng rng(2);
  int reached = 0;
  for (Sampler sampler : {Sampler::kUniform, Sampler::kBest, Sampler::kFitted}) {
    for (int i = 0; i < 300; ++i) {
      for (int layer = 0; layer < 2; ++layer) {
        const headevo::v1::Head head = SampleHead(sampler, layer, pool, dist, options, rng);
        for (int o : head.offsets().offsets()) {
          EXPECT_GE(o, layer == 0 ? -4 : -16) << SamplerName(sampler) << " layer " << layer;
          EXPECT_LE(o, -1);
          reached += o < -4 ? 1 : 0;
        }
      }
    }
  }
  EXPECT_GT(reached, 0);
}

TEST(LayerWindowsTest, SearchOptionsRefuseALayerWindowPastTheSequence) {
  SearchOptions o;
  o.training = DefaultTrainingSpec();  // 2 layers, seq_len 32
  o.initial.window = 16;
  o.initial.layer_windows.growth = 2.0;
  const absl::Status s = o.Validate();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("initial.window_growth"), std::string::npos) << s;
  o.initial.layer_windows.max_window = 31;
  EXPECT_TRUE(o.Validate().ok()) << o.Validate();
  EXPECT_EQ(o.initial.ForLayer(1).window, 31);
}

}  // namespace
}  // namespace headevo::search
