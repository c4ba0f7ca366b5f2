#include "server/search_driver.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include "search/search_options.h"
#include "storage/store.h"
#include "tests/testutil/status_matchers.h"

namespace headevo::server {
namespace {

using headevo::v1::Candidate;

// A deterministic stand-in for training: a genome's loss falls with each planted offset its
// heads cover and rises with its connections; a head that covers a planted offset is
// concentrated and heavy, any other is diffuse and light. It remembers every request.
class FakeEvaluator : public search::Evaluator {
 public:
  explicit FakeEvaluator(std::vector<int> planted) : planted_(std::move(planted)) {}

  absl::StatusOr<headevo::v1::EvaluationResult> Evaluate(
      const headevo::v1::EvaluationRequest& request) override {
    requests.push_back(request);
    if (fail_when && fail_when(request)) return absl::InternalError("loss is NaN at step 3");
    headevo::v1::EvaluationResult result;
    result.set_candidate_id(request.candidate_id());
    std::set<int> covered;
    int64_t connections = 0;
    for (const auto& head : request.genome().heads()) {
      int hits = 0;
      for (int offset : head.offsets().offsets()) {
        if (std::count(planted_.begin(), planted_.end(), offset) == 0) continue;
        ++hits;
        covered.insert(offset);
      }
      connections += head.offsets().offsets_size();
      auto* stats = result.add_head_stats();
      stats->set_head_id(head.id());
      stats->set_layer(head.layer());
      stats->set_entropy(hits ? 0.2 : 0.9);
      stats->set_weight_norm(hits + 0.01 * head.offsets().offsets_size());
      stats->set_independence(0.5);
      stats->set_importance(hits);
    }
    auto* m = result.mutable_metrics();
    m->set_val_loss(2.0 - 0.5 * static_cast<double>(covered.size()) + 0.001 * connections +
                    1e-6 * static_cast<double>(request.training().seed() % 1000));
    m->set_train_loss(m->val_loss());
    m->set_connections(connections);
    m->set_steps(request.training().steps());
    result.set_checkpoint_sha256("ckpt-" + std::to_string(request.candidate_id()));
    return result;
  }

  std::vector<headevo::v1::EvaluationRequest> requests;
  std::function<bool(const headevo::v1::EvaluationRequest&)> fail_when;

 private:
  std::vector<int> planted_;
};

class RecordingListener : public SearchListener {
 public:
  void OnSearchStarted(int64_t search_id, int total) override {
    started_id = search_id;
    started_total = total;
  }
  void OnCandidateFinished(const CandidateProgress& progress) override {
    evaluated.push_back(progress.evaluated);
    if (progress.best != nullptr) best_losses.push_back(progress.best->metrics().val_loss());
  }
  int64_t started_id = 0;
  int started_total = 0;
  std::vector<int> evaluated;
  std::vector<double> best_losses;
};

search::SearchOptions SmallSearch() {
  search::SearchOptions options;
  options.training = search::DefaultTrainingSpec();
  options.population_size = 6;
  options.generations = 2;
  options.selection.num_parents = 3;
  options.compare_with_dense = false;
  options.seed = 17;
  return options;
}

std::vector<int> Planted(const search::SearchOptions& options) {
  return {options.training.task().planted_offsets().begin(),
          options.training.task().planted_offsets().end()};
}

std::unique_ptr<storage::Store> MemoryStore() {
  auto store = storage::Store::Open(":memory:");
  EXPECT_TRUE(store.ok()) << store.status();
  return std::move(store).value();
}

TEST(SearchDriverTest, EveryChildHeadIsInheritedOrSampled) {
  const search::SearchOptions options = SmallSearch();
  auto store = MemoryStore();
  FakeEvaluator evaluator(Planted(options));
  RecordingListener listener;
  SearchDriver driver(store.get(), &evaluator, &listener);
  ASSERT_OK_AND_ASSIGN(SearchOutcome outcome, driver.Run(options, "# config"));

  EXPECT_EQ(outcome.evaluated, 18);
  EXPECT_EQ(outcome.failed, 0);
  ASSERT_OK_AND_ASSIGN(storage::SearchRecord search, store->GetSearch(outcome.search_id));
  EXPECT_EQ(search.state, headevo::v1::SEARCH_STATE_DONE);
  EXPECT_EQ(search.config_toml, "# config");
  ASSERT_OK_AND_ASSIGN(std::vector<Candidate> all, store->ListCandidates(outcome.search_id));
  ASSERT_EQ(all.size(), 18u);

  std::map<int64_t, const Candidate*> by_id;
  for (const Candidate& c : all) by_id[c.id()] = &c;
  int children = 0;
  for (const Candidate& c : all) {
    EXPECT_EQ(c.state(), headevo::v1::CANDIDATE_STATE_DONE);
    EXPECT_EQ(c.head_stats_size(), c.genome().heads_size());
    if (c.generation() == 0) {
      EXPECT_EQ(c.parent_id(), 0);
      for (const auto& head : c.genome().heads()) {
        EXPECT_EQ(head.origin(), headevo::v1::HEAD_ORIGIN_INITIAL);
      }
      continue;
    }
    ++children;
    ASSERT_TRUE(by_id.count(c.parent_id())) << "candidate " << c.id() << " has no parent";
    const Candidate& parent = *by_id[c.parent_id()];
    EXPECT_LT(parent.generation(), c.generation());
    std::set<int64_t> parent_heads;
    for (const auto& head : parent.genome().heads()) parent_heads.insert(head.id());
    std::set<int64_t> child_heads;
    for (const auto& head : c.genome().heads()) {
      child_heads.insert(head.id());
      if (head.origin() == headevo::v1::HEAD_ORIGIN_INHERITED) {
        EXPECT_TRUE(parent_heads.count(head.id()))
            << "inherited head " << head.id() << " is not a head of parent " << parent.id();
      } else {
        EXPECT_EQ(head.origin(), headevo::v1::HEAD_ORIGIN_SAMPLED);
        EXPECT_FALSE(parent_heads.count(head.id()));
        ASSERT_OK_AND_ASSIGN(headevo::v1::Head stored, store->GetHead(head.id()));
        EXPECT_EQ(stored.sampler(), headevo::v1::SAMPLER_UNIFORM);
        EXPECT_FALSE(stored.sampler_params().empty());
      }
    }
    // Pruning frees slots that the sampler refills: counts per layer are kept.
    EXPECT_EQ(c.genome().heads_size(), parent.genome().heads_size());
    EXPECT_EQ(c.mutation().pruned_head_ids_size(), c.mutation().added_head_slots_size());
    EXPECT_GT(c.mutation().pruned_head_ids_size(), 0);
    for (int64_t pruned : c.mutation().pruned_head_ids()) {
      EXPECT_TRUE(parent_heads.count(pruned));
      EXPECT_FALSE(child_heads.count(pruned));
    }
  }
  EXPECT_EQ(children, 12);

  EXPECT_EQ(listener.started_id, outcome.search_id);
  EXPECT_EQ(listener.started_total, 18);
  ASSERT_EQ(listener.evaluated.size(), 18u);
  for (int i = 0; i < 18; ++i) EXPECT_EQ(listener.evaluated[i], i + 1);
  EXPECT_TRUE(std::is_sorted(listener.best_losses.rbegin(), listener.best_losses.rend()))
      << "best so far never gets worse";
  EXPECT_DOUBLE_EQ(outcome.best.metrics().val_loss(), listener.best_losses.back());
}

TEST(SearchDriverTest, PruningRemovesTheHeadsThatMissThePlantedOffsets) {
  // The fake makes heads on planted offsets concentrated and heavy: the ranking must never
  // prune one while a head that misses every planted offset is left in the same layer.
  const search::SearchOptions options = SmallSearch();
  auto store = MemoryStore();
  FakeEvaluator evaluator(Planted(options));
  SearchDriver driver(store.get(), &evaluator, nullptr);
  ASSERT_OK_AND_ASSIGN(SearchOutcome outcome, driver.Run(options, ""));
  ASSERT_OK_AND_ASSIGN(std::vector<Candidate> all, store->ListCandidates(outcome.search_id));
  const std::vector<int> planted = Planted(options);
  const auto hits = [&](const headevo::v1::Head& head) {
    for (int offset : head.offsets().offsets()) {
      if (std::count(planted.begin(), planted.end(), offset)) return true;
    }
    return false;
  };
  for (const Candidate& c : all) {
    if (c.generation() == 0) continue;
    ASSERT_OK_AND_ASSIGN(Candidate parent, store->GetCandidate(c.parent_id()));
    for (int64_t pruned_id : c.mutation().pruned_head_ids()) {
      ASSERT_OK_AND_ASSIGN(headevo::v1::Head pruned, store->GetHead(pruned_id));
      if (!hits(pruned)) continue;
      for (const auto& kept : c.genome().heads()) {
        if (kept.origin() != headevo::v1::HEAD_ORIGIN_INHERITED) continue;
        EXPECT_FALSE(kept.layer() == pruned.layer() && !hits(kept))
            << "pruned useful head " << pruned_id << " but kept useless head " << kept.id();
      }
    }
  }
}

// The lineage as data that does not depend on which database holds it.
std::vector<std::string> Lineage(storage::Store& store, int64_t search_id) {
  auto all = store.ListCandidates(search_id);
  EXPECT_TRUE(all.ok());
  std::vector<std::string> lineage;
  for (Candidate c : *all) {
    c.clear_search_id();
    lineage.push_back(c.SerializeAsString());
  }
  return lineage;
}

TEST(SearchDriverTest, SameSeedSameLineageOtherSeedOtherLineage) {
  search::SearchOptions options = SmallSearch();
  std::vector<std::vector<std::string>> lineages;
  std::vector<std::vector<uint64_t>> seeds;
  for (uint64_t seed : {17, 17, 18}) {
    options.seed = seed;
    auto store = MemoryStore();
    FakeEvaluator evaluator(Planted(options));
    SearchDriver driver(store.get(), &evaluator, nullptr);
    ASSERT_OK_AND_ASSIGN(SearchOutcome outcome, driver.Run(options, ""));
    lineages.push_back(Lineage(*store, outcome.search_id));
    seeds.emplace_back();
    for (const auto& r : evaluator.requests) seeds.back().push_back(r.training().seed());
  }
  EXPECT_EQ(lineages[0], lineages[1]);
  EXPECT_NE(lineages[0], lineages[2]);
  EXPECT_EQ(seeds[0], seeds[1]);
  // Every candidate trains from its own seed.
  EXPECT_EQ(std::set<uint64_t>(seeds[0].begin(), seeds[0].end()).size(), seeds[0].size());
}

TEST(SearchDriverTest, SecondSearchInTheSameDatabaseKeepsTheFirst) {
  const search::SearchOptions options = SmallSearch();
  auto store = MemoryStore();
  FakeEvaluator evaluator(Planted(options));
  SearchDriver driver(store.get(), &evaluator, nullptr);
  ASSERT_OK_AND_ASSIGN(SearchOutcome first, driver.Run(options, ""));
  const std::vector<std::string> before = Lineage(*store, first.search_id);
  ASSERT_OK_AND_ASSIGN(SearchOutcome second, driver.Run(options, ""));
  EXPECT_NE(first.search_id, second.search_id);
  EXPECT_EQ(Lineage(*store, first.search_id), before);
}

TEST(SearchDriverTest, AFailedCandidateIsRecordedAndTheSearchGoesOn) {
  const search::SearchOptions options = SmallSearch();
  auto store = MemoryStore();
  FakeEvaluator evaluator(Planted(options));
  evaluator.fail_when = [](const headevo::v1::EvaluationRequest& r) {
    return r.candidate_id() == 2;
  };
  SearchDriver driver(store.get(), &evaluator, nullptr);
  ASSERT_OK_AND_ASSIGN(SearchOutcome outcome, driver.Run(options, ""));
  EXPECT_EQ(outcome.failed, 1);
  EXPECT_EQ(outcome.evaluated, 18);
  ASSERT_OK_AND_ASSIGN(Candidate failed, store->GetCandidate(2));
  EXPECT_EQ(failed.state(), headevo::v1::CANDIDATE_STATE_FAILED);
  EXPECT_NE(failed.error().find("NaN"), std::string::npos);
  ASSERT_OK_AND_ASSIGN(std::vector<Candidate> all, store->ListCandidates(outcome.search_id));
  for (const Candidate& c : all)
    EXPECT_NE(c.parent_id(), 2) << "a failed candidate has no children";
}

TEST(SearchDriverTest, AllOfGenerationZeroFailingFailsTheSearch) {
  const search::SearchOptions options = SmallSearch();
  auto store = MemoryStore();
  FakeEvaluator evaluator(Planted(options));
  evaluator.fail_when = [](const headevo::v1::EvaluationRequest&) { return true; };
  SearchDriver driver(store.get(), &evaluator, nullptr);
  auto outcome = driver.Run(options, "");
  ASSERT_FALSE(outcome.ok());
  EXPECT_NE(outcome.status().message().find("NaN"), std::string::npos);
  ASSERT_OK_AND_ASSIGN(storage::SearchRecord search, store->GetSearch(1));
  EXPECT_EQ(search.state, headevo::v1::SEARCH_STATE_FAILED);
  EXPECT_EQ(evaluator.requests.size(), 6u) << "no child is bred from failed parents";
}

TEST(SearchDriverTest, DenseBaselineRunsAfterTheSearchIsStored) {
  search::SearchOptions options = SmallSearch();
  options.compare_with_dense = true;
  auto store = MemoryStore();
  FakeEvaluator evaluator(Planted(options));
  SearchDriver driver(store.get(), &evaluator, nullptr);
  ASSERT_OK_AND_ASSIGN(SearchOutcome outcome, driver.Run(options, ""));
  ASSERT_EQ(evaluator.requests.size(), 19u);
  const auto& dense = evaluator.requests.back();
  EXPECT_EQ(dense.training().model().attention(), headevo::v1::ATTENTION_KIND_DENSE);
  EXPECT_EQ(dense.genome().heads_size(), 8);
  ASSERT_TRUE(outcome.dense.has_value());
  ASSERT_OK_AND_ASSIGN(std::vector<Candidate> all, store->ListCandidates(outcome.search_id));
  EXPECT_EQ(all.size(), 18u) << "the baseline is not a candidate";

  // A failing baseline costs only the comparison.
  auto store2 = MemoryStore();
  evaluator.fail_when = [](const headevo::v1::EvaluationRequest& r) {
    return r.training().model().attention() == headevo::v1::ATTENTION_KIND_DENSE;
  };
  SearchDriver driver2(store2.get(), &evaluator, nullptr);
  ASSERT_OK_AND_ASSIGN(SearchOutcome without, driver2.Run(options, ""));
  EXPECT_FALSE(without.dense.has_value());
  EXPECT_NE(without.dense_error.find("NaN"), std::string::npos);
}

TEST(SearchDriverTest, InheritingChildrenNameTheirParentsCheckpoint) {
  search::SearchOptions options = SmallSearch();
  options.inherit_weights = true;
  auto store = MemoryStore();
  FakeEvaluator evaluator(Planted(options));
  SearchDriver driver(store.get(), &evaluator, nullptr);
  ASSERT_OK_AND_ASSIGN(SearchOutcome outcome, driver.Run(options, ""));
  ASSERT_OK_AND_ASSIGN(std::vector<Candidate> all, store->ListCandidates(outcome.search_id));
  std::map<int64_t, int64_t> parent_of;
  for (const Candidate& c : all) parent_of[c.id()] = c.parent_id();
  ASSERT_EQ(evaluator.requests.size(), 18u);
  for (const auto& request : evaluator.requests) {
    const int64_t parent = parent_of.at(request.candidate_id());
    EXPECT_EQ(request.parent_checkpoint_sha256(),
              parent == 0 ? "" : "ckpt-" + std::to_string(parent))
        << "candidate " << request.candidate_id();
  }
  // Without the option nobody inherits.
  options.inherit_weights = false;
  auto store2 = MemoryStore();
  FakeEvaluator plain(Planted(options));
  SearchDriver driver2(store2.get(), &plain, nullptr);
  ASSERT_OK(driver2.Run(options, "").status());
  for (const auto& request : plain.requests)
    EXPECT_TRUE(request.parent_checkpoint_sha256().empty());
}

TEST(SearchDriverTest, BaselinesMatchTheBestCandidatesMeanKUnlessConfigured) {
  search::SearchOptions options = SmallSearch();
  options.baselines = {headevo::v1::ATTENTION_KIND_LOCAL, headevo::v1::ATTENTION_KIND_STRIDED,
                       headevo::v1::ATTENTION_KIND_RANDOM};
  options.baseline_random_k = 7;
  auto store = MemoryStore();
  FakeEvaluator evaluator(Planted(options));
  evaluator.fail_when = [](const headevo::v1::EvaluationRequest& r) {
    return r.training().model().attention() == headevo::v1::ATTENTION_KIND_STRIDED;
  };
  SearchDriver driver(store.get(), &evaluator, nullptr);
  ASSERT_OK_AND_ASSIGN(SearchOutcome outcome, driver.Run(options, ""));
  ASSERT_EQ(evaluator.requests.size(), 18u + 3u);
  const int mean_k =
      static_cast<int>(std::lround(static_cast<double>(outcome.best.metrics().connections()) /
                                   outcome.best.genome().heads_size()));
  const auto& local = evaluator.requests[18].training().model();
  EXPECT_EQ(local.attention(), headevo::v1::ATTENTION_KIND_LOCAL);
  EXPECT_EQ(local.window(), mean_k);
  EXPECT_EQ(evaluator.requests[19].training().model().stride(), 6);  // round(sqrt(32))
  EXPECT_EQ(evaluator.requests[20].training().model().random_k(), 7);
  EXPECT_EQ(evaluator.requests[20].genome().heads_size(), 8);  // heads_per_layer x layers
  EXPECT_NE(evaluator.requests[18].training().seed(), evaluator.requests[20].training().seed());
  ASSERT_EQ(outcome.baselines.size(), 3u);
  EXPECT_EQ(outcome.baselines[0].description,
            "local attention (window " + std::to_string(mean_k) + ")");
  EXPECT_TRUE(outcome.baselines[0].metrics.has_value());
  EXPECT_FALSE(outcome.baselines[1].metrics.has_value());  // failed: the search is unharmed
  EXPECT_NE(outcome.baselines[1].error.find("NaN"), std::string::npos);
  EXPECT_EQ(outcome.baselines[2].description, "random heads (mean k 7)");
}

TEST(SearchDriverTest, InvalidOptionsWriteNothing) {
  search::SearchOptions options = SmallSearch();
  options.population_size = 0;
  auto store = MemoryStore();
  FakeEvaluator evaluator(Planted(options));
  SearchDriver driver(store.get(), &evaluator, nullptr);
  auto outcome = driver.Run(options, "");
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->GetSearch(1).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace headevo::server
