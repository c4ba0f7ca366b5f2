// A whole search with every local-structure operator on, through the coordinator, the store and
// the worker's own request checks: per-layer windows beyond the base window are accepted, and
// the same config and seed give the same lineage.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "search/search_options.h"
#include "server/embedded/search_driver.h"
#include "storage/store.h"
#include "tests/testutil/fake_evaluator.h"
#include "tests/testutil/status_matchers.h"
#include "worker/request_validation.h"

namespace headevo::server {
namespace {

using headevo::v1::Candidate;

search::SearchOptions AllOperators() {
  search::SearchOptions o;
  o.training = search::DefaultTrainingSpec();  // 2 layers, seq_len 32
  o.population_size = 6;
  o.generations = 2;
  o.selection.num_parents = 3;
  o.compare_with_dense = false;
  o.seed = 5;
  o.initial.window = 12;
  o.initial.layer_windows = {2.0, 31};  // layer 1: 24
  o.initial.local.width = 2;
  o.initial.offsets.family = search::OffsetFamily::kLogUniform;
  o.initial_k_spread = true;
  o.resampling.sampler = search::Sampler::kBest;
  o.resampling.mutation.shift_scaling = search::ShiftScaling::kProportional;
  return o;
}

std::vector<Candidate> RunSearch(const search::SearchOptions& options) {
  auto store = storage::Store::Open(":memory:");
  EXPECT_TRUE(store.ok()) << store.status();
  testing::FakeEvaluator evaluator({-2, -5, -11});
  // The worker refuses any request it could not train: a refusal here fails the candidate.
  evaluator.fail_when = [](const headevo::v1::EvaluationRequest& request) {
    const absl::Status s = worker::ValidateRequest(request);
    EXPECT_TRUE(s.ok()) << s;
    return !s.ok();
  };
  SearchDriver driver(store->get(), &evaluator, nullptr);
  auto outcome = driver.Run(options, "# operators");
  EXPECT_TRUE(outcome.ok()) << outcome.status();
  if (!outcome.ok()) return {};
  EXPECT_EQ(outcome->failed, 0);
  EXPECT_EQ(outcome->evaluated, 18);
  auto all = (*store)->ListCandidates(outcome->search_id);
  EXPECT_TRUE(all.ok()) << all.status();
  return all.ok() ? *all : std::vector<Candidate>{};
}

TEST(SearchDriverOperatorsTest, PerLayerWindowsPassEveryCheckAndLineagesRepeat) {
  const search::SearchOptions options = AllOperators();
  ASSERT_TRUE(options.Validate().ok()) << options.Validate();
  const std::vector<Candidate> first = RunSearch(options);
  ASSERT_EQ(first.size(), 18u);
  int beyond_base = 0;
  for (const Candidate& c : first) {
    for (const auto& head : c.genome().heads()) {
      const int window = head.layer() == 0 ? 12 : 24;
      for (int o : head.offsets().offsets()) {
        EXPECT_GE(o, -window);
        EXPECT_LE(o, -1);
        beyond_base += o < -12 ? 1 : 0;
      }
      // Every fresh head holds the local block -2..-1.
      if (head.origin() == headevo::v1::HEAD_ORIGIN_INITIAL) {
        const auto& offsets = head.offsets().offsets();
        EXPECT_NE(std::find(offsets.begin(), offsets.end(), -1), offsets.end());
        EXPECT_NE(std::find(offsets.begin(), offsets.end(), -2), offsets.end());
      }
    }
  }
  EXPECT_GT(beyond_base, 0) << "layer 1 reaches past the base window";

  const std::vector<Candidate> second = RunSearch(options);
  ASSERT_EQ(second.size(), first.size());
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].genome().SerializeAsString(), second[i].genome().SerializeAsString());
    EXPECT_EQ(first[i].mutation().description(), second[i].mutation().description());
  }
}

}  // namespace
}  // namespace headevo::server
