#include "server/embedded/search_driver.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "search/search_options.h"
#include "storage/store.h"
#include "tests/testutil/fake_evaluator.h"
#include "tests/testutil/status_matchers.h"

namespace headevo::server {
namespace {

using headevo::v1::Candidate;

using testing::FakeEvaluator;

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

TEST(SearchDriverTest, EveryEvaluationGoesThroughAJobAndTheSearchLeavesEvents) {
  search::SearchOptions options = SmallSearch();
  options.schedule = search::Schedule::kGenerational;
  auto store = MemoryStore();
  FakeEvaluator evaluator(Planted(options));
  evaluator.fail_when = [](const headevo::v1::EvaluationRequest& r) {
    return r.candidate_id() == 2;
  };
  int64_t now_ms = 1'000'000;
  SearchDriver driver(store.get(), &evaluator, nullptr, [&now_ms] { return now_ms += 10; });
  ASSERT_OK_AND_ASSIGN(SearchOutcome outcome, driver.Run(options, ""));

  ASSERT_OK_AND_ASSIGN(std::vector<storage::JobRecord> jobs, store->ListJobs(outcome.search_id));
  ASSERT_EQ(jobs.size(), 18u);
  for (const storage::JobRecord& job : jobs) {
    SCOPED_TRACE(job.candidate_id);
    EXPECT_EQ(job.attempt, 1);
    EXPECT_EQ(job.worker_id, 1);
    EXPECT_GT(job.finished_ms, job.created_ms);
    EXPECT_EQ(job.state,
              job.candidate_id == 2 ? storage::JobState::kFailed : storage::JobState::kDone);
  }
  // The request the evaluator got is the job's: the training seed travels through the store.
  ASSERT_EQ(evaluator.requests.size(), 18u);
  EXPECT_EQ(evaluator.requests[0].training().seed(), CandidateTrainingSeed(options.seed, 0));
  EXPECT_EQ(evaluator.requests[17].training().seed(), CandidateTrainingSeed(options.seed, 17));

  ASSERT_OK_AND_ASSIGN(std::vector<storage::EventRecord> events,
                       store->ListEvents(outcome.search_id, 0, 100));
  std::vector<std::string> kinds;
  std::vector<storage::EventRecord> milestones;  // all but the new bests and candidates' ends
  int new_bests = 0;
  std::map<std::string, int> ends;  // every candidate's end is a stored event
  for (const storage::EventRecord& e : events) {
    if (e.kind == "new_best") {
      ++new_bests;
      continue;
    }
    if (e.kind == "candidate_finished" || e.kind == "candidate_failed") {
      ++ends[e.kind];
      continue;
    }
    kinds.push_back(e.kind);
    milestones.push_back(e);
  }
  EXPECT_GE(new_bests, 1);
  EXPECT_EQ(ends["candidate_finished"], 17);
  EXPECT_EQ(ends["candidate_failed"], 1);
  EXPECT_EQ(kinds, (std::vector<std::string>{"search_started", "generation_done", "generation_done",
                                             "generation_done", "search_done"}));
  EXPECT_NE(milestones[3].message.find("generation 2 done: 18 evaluated, 1 failed"),
            std::string::npos)
      << milestones[3].message;
  EXPECT_NE(milestones[4].message.find(absl::StrCat("best candidate ", outcome.best.id())),
            std::string::npos)
      << milestones[4].message;
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

// Every sampler under every selection rule: the search completes, every new head records the
// sampler that drew (or grew) it, a copied head names a stored source head of the same layer, a
// grown head one with its offsets and 4 fewer query/key columns, and the fittest candidate is
// at least as fit as generation 0's.
TEST(SearchDriverTest, EverySamplerAndSelectionRuleRecordsWhereHeadsCameFrom) {
  for (search::Sampler sampler : {search::Sampler::kBest, search::Sampler::kFitted,
                                  search::Sampler::kGrowth, search::Sampler::kAdaptive}) {
    for (search::SelectionMethod method :
         {search::SelectionMethod::kTruncation, search::SelectionMethod::kTournament,
          search::SelectionMethod::kAging, search::SelectionMethod::kNsga2}) {
      SCOPED_TRACE(::testing::Message()
                   << search::SamplerName(sampler) << " / " << search::SelectionMethodName(method));
      search::SearchOptions options = SmallSearch();
      options.generations = 3;
      options.resampling.sampler = sampler;
      options.selection.method = method;
      options.pruning.duplicate_jaccard = 0.75;
      options.inherit_weights = sampler == search::Sampler::kGrowth;  // growth needs it
      auto store = MemoryStore();
      FakeEvaluator evaluator(Planted(options));
      SearchDriver driver(store.get(), &evaluator, nullptr);
      ASSERT_OK_AND_ASSIGN(SearchOutcome outcome, driver.Run(options, ""));
      ASSERT_OK_AND_ASSIGN(std::vector<Candidate> all, store->ListCandidates(outcome.search_id));
      double best_initial = 1e9;
      for (const Candidate& c : all) {
        if (c.generation() == 0) {
          best_initial = std::min(best_initial, c.metrics().val_loss());
          continue;  // its heads are all its own, drawn from [initial]
        }
        for (int slot : c.mutation().added_head_slots()) {
          const headevo::v1::Head& head = c.genome().heads(slot);
          if (head.origin() == headevo::v1::HEAD_ORIGIN_GROWN) {
            // A grown head: its source is a head of the parent, with the same offsets.
            ASSERT_OK_AND_ASSIGN(headevo::v1::Head source, store->GetHead(head.source_head_id()));
            EXPECT_EQ(source.offsets().SerializeAsString(), head.offsets().SerializeAsString());
            EXPECT_EQ(head.extra_key_width(), source.extra_key_width() + 4);
          } else {
            EXPECT_EQ(head.origin(), headevo::v1::HEAD_ORIGIN_SAMPLED);
          }
          EXPECT_FALSE(head.sampler_params().empty());
          if (sampler != search::Sampler::kAdaptive) {
            EXPECT_EQ(head.sampler(), search::SamplerKindOf(sampler));
          }
          if (head.sampler() == headevo::v1::SAMPLER_BEST && head.source_head_id() != 0) {
            ASSERT_OK_AND_ASSIGN(headevo::v1::Head source, store->GetHead(head.source_head_id()));
            EXPECT_EQ(source.layer(), head.layer());
          }
        }
      }
      EXPECT_LE(outcome.best.metrics().val_loss(), best_initial);
    }
  }
}

TEST(SearchDriverTest, OutcomeHoldsTheParetoFrontAndItsHypervolume) {
  search::SearchOptions options = SmallSearch();
  options.selection.method = search::SelectionMethod::kNsga2;
  auto store = MemoryStore();
  FakeEvaluator evaluator(Planted(options));
  SearchDriver driver(store.get(), &evaluator, nullptr);
  ASSERT_OK_AND_ASSIGN(SearchOutcome outcome, driver.Run(options, ""));
  ASSERT_OK_AND_ASSIGN(std::vector<Candidate> all, store->ListCandidates(outcome.search_id));
  ASSERT_FALSE(outcome.pareto_front.empty());
  for (size_t i = 0; i < outcome.pareto_front.size(); ++i) {
    const Candidate& member = outcome.pareto_front[i];
    if (i > 0) {
      EXPECT_GT(member.metrics().connections(),
                outcome.pareto_front[i - 1].metrics().connections());
    }
    for (const Candidate& other : all) {
      EXPECT_FALSE(search::Dominates(search::ObjectivesOf(other), search::ObjectivesOf(member)))
          << "#" << other.id() << " dominates front member #" << member.id();
    }
  }
  // Reference: a uniform guess over the 16 tokens, and 2 layers x 4 dense heads x 32 positions.
  EXPECT_DOUBLE_EQ(outcome.hypervolume_reference.loss, std::log(16.0));
  EXPECT_DOUBLE_EQ(outcome.hypervolume_reference.connections, 256.0);
  EXPECT_GT(outcome.hypervolume, 0.0);
}

// The k-sweep's fake: dense reaches 1.0, a sparse model 1 + 0.19 / (mean k per head).
class KSweepEvaluator : public search::Evaluator {
 public:
  absl::StatusOr<headevo::v1::EvaluationResult> Evaluate(
      const headevo::v1::EvaluationRequest& request) override {
    requests.push_back(request);
    headevo::v1::EvaluationResult result;
    double connections = 0;
    for (const auto& head : request.genome().heads()) {
      connections += head.offsets().offsets_size();
      if (request.reference_id() != 0) continue;  // no statistics for a reference model
      auto* stats = result.add_head_stats();
      stats->set_head_id(head.id());
      stats->set_layer(head.layer());
    }
    const bool dense = request.training().model().attention() == headevo::v1::ATTENTION_KIND_DENSE;
    const double mean_k = connections / request.genome().heads_size();
    result.mutable_metrics()->set_val_loss(dense ? 1.0 : 1.0 + 0.19 / mean_k);
    result.mutable_metrics()->set_connections(static_cast<int64_t>(connections));
    return result;
  }
  std::vector<headevo::v1::EvaluationRequest> requests;
};

TEST(SearchDriverTest, KSweepTrainsDenseFirstAndStopsAtTheFirstKThatFallsBehind) {
  search::SearchOptions options = SmallSearch();
  options.mode = search::SearchMode::kKSweep;
  options.initial.count.family = search::CountFamily::kFixed;
  options.k_sweep.k_start = 8;
  options.k_sweep.k_factor = 0.5;
  options.k_sweep.repeats = 2;
  options.k_sweep.tolerance = 0.05;  // k holds while 0.19 / k <= 0.05: k = 8 and 4, not 2
  auto store = MemoryStore();
  KSweepEvaluator evaluator;
  RecordingListener listener;
  SearchDriver driver(store.get(), &evaluator, &listener);
  ASSERT_OK_AND_ASSIGN(SearchOutcome outcome, driver.Run(options, ""));

  ASSERT_FALSE(evaluator.requests.empty());
  EXPECT_EQ(evaluator.requests[0].training().model().attention(),
            headevo::v1::ATTENTION_KIND_DENSE);
  ASSERT_TRUE(outcome.dense.has_value());
  ASSERT_EQ(outcome.k_sweep.size(), 3u);
  EXPECT_EQ(outcome.k_sweep[0].k, 8);
  EXPECT_TRUE(outcome.k_sweep[1].held);
  EXPECT_FALSE(outcome.k_sweep[2].held);
  ASSERT_TRUE(outcome.smallest_k.has_value());
  EXPECT_EQ(*outcome.smallest_k, 4);
  EXPECT_EQ(listener.started_total, 4 * 2);  // the whole schedule (8, 4, 2, 1) x 2 repeats

  // Two random head sets per k, stored as candidates of generation = step, trained from scratch.
  ASSERT_OK_AND_ASSIGN(std::vector<Candidate> all, store->ListCandidates(outcome.search_id));
  ASSERT_EQ(all.size(), 6u);
  for (const Candidate& c : all) {
    EXPECT_EQ(c.parent_id(), 0);
    const int k = 8 >> c.generation();
    for (const auto& head : c.genome().heads()) EXPECT_EQ(head.offsets().offsets_size(), k);
    EXPECT_NE(c.mutation().description().find("k-sweep: mean k " + std::to_string(k)),
              std::string::npos)
        << c.mutation().description();
  }
  EXPECT_EQ(outcome.evaluated, 6);
}

TEST(SearchDriverTest, KSweepWithoutADenseLossFailsTheSearch) {
  search::SearchOptions options = SmallSearch();
  options.mode = search::SearchMode::kKSweep;
  auto store = MemoryStore();
  FakeEvaluator evaluator(Planted(options));
  evaluator.fail_when = [](const headevo::v1::EvaluationRequest& r) {
    return r.training().model().attention() == headevo::v1::ATTENTION_KIND_DENSE;
  };
  SearchDriver driver(store.get(), &evaluator, nullptr);
  auto outcome = driver.Run(options, "");
  ASSERT_FALSE(outcome.ok());
  EXPECT_NE(outcome.status().message().find("dense model"), std::string::npos);
  ASSERT_OK_AND_ASSIGN(storage::SearchRecord search, store->GetSearch(1));
  EXPECT_EQ(search.state, headevo::v1::SEARCH_STATE_FAILED);
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
