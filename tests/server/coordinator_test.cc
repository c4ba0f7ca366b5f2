// The coordinator's engine in one process, with a fake evaluator and a fake clock: schedules,
// pause/resume/stop, lease expiry and hand-back, resume after a restart, checkpoint keeping.
#include "server/engine/coordinator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "server/engine/checkpoint_store.h"
#include "server/config/search_config.h"
#include "server/engine/search_queries.h"
#include "storage/store.h"
#include "tests/server/coordinator_fixture.h"
#include "tests/testutil/fake_evaluator.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace headevo::server {
namespace {

using headevo::v1::Candidate;
using testing::FakeEvaluator;

std::string Config(const std::string& schedule, int population = 4, int generations = 2,
                   bool inherit = false) {
  return absl::StrFormat(
      "[search]\nseed = 3\npopulation = %d\ngenerations = %d\nschedule = \"%s\"\n"
      "inherit_weights = %s\n[selection]\nparents = %d\n[model]\nseq_len = 16\n"
      "[task]\nplanted_offsets = [-1, -3]\n[initial]\nwindow = 6\n",
      population, generations, schedule, inherit ? "true" : "false", std::min(2, population));
}

class CoordinatorTest : public CoordinatorFixture {};

TEST_F(CoordinatorTest, SteadyStateBreedsAChildAsSoonAsOneParentIsRanked) {
  const int64_t id = Create(Config("steady_state"));
  std::vector<storage::Lease> generation0;
  for (int i = 0; i < 4; ++i) generation0.push_back(*Lease());
  Finish(generation0[2]);
  // Three of generation 0 are still out, yet a free worker gets a child of the one finished.
  std::optional<storage::Lease> child = Lease();
  ASSERT_TRUE(child.has_value());
  ASSERT_OK_AND_ASSIGN(Candidate c, store_->GetCandidate(child->request.candidate_id()));
  EXPECT_EQ(c.parent_id(), generation0[2].request.candidate_id());
  EXPECT_EQ(c.generation(), 1);
  for (int i : {0, 1, 3}) Finish(generation0[i]);
  Finish(*child);
  // The other children, then the dense model the config compares with (a job like any other).
  EXPECT_EQ(Drain(), 12 - 5 + 1);
  EXPECT_EQ(State(id), headevo::v1::SEARCH_STATE_DONE);
  ASSERT_OK_AND_ASSIGN(auto all, store_->ListCandidates(id));
  EXPECT_EQ(all.size(), 12u);
}

TEST_F(CoordinatorTest, GenerationalWaitsForTheWholeGeneration) {
  const int64_t id = Create(Config("generational"));
  std::vector<storage::Lease> generation0;
  for (int i = 0; i < 4; ++i) generation0.push_back(*Lease());
  for (int i = 0; i < 3; ++i) Finish(generation0[i]);
  EXPECT_FALSE(Lease().has_value()) << "the barrier holds while one candidate is out";
  Finish(generation0[3]);
  std::optional<storage::Lease> next = Lease();
  ASSERT_TRUE(next.has_value());
  ASSERT_OK_AND_ASSIGN(Candidate c, store_->GetCandidate(next->request.candidate_id()));
  EXPECT_EQ(c.generation(), 1);
  Finish(*next);
  EXPECT_EQ(Drain(), 7 + 1) << "the rest of the generations, then the dense reference model";
  EXPECT_EQ(State(id), headevo::v1::SEARCH_STATE_DONE);
}

TEST_F(CoordinatorTest, ARestartedCoordinatorContinuesExactlyLikeAnUninterruptedOne) {
  for (const char* schedule : {"steady_state", "generational"}) {
    SCOPED_TRACE(schedule);
    // Uninterrupted, in its own database.
    const int64_t straight = Create(Config(schedule, 4, 4));
    Drain();
    ASSERT_OK_AND_ASSIGN(auto expected, store_->ListCandidates(straight));

    // The same search, the coordinator (and its store) destroyed and reopened every 3 jobs.
    const int64_t resumed = Create(Config(schedule, 4, 4));
    for (int done = 0;; ++done) {
      if (done % 3 == 2) Open();
      std::optional<storage::Lease> lease = Lease();
      if (!lease) break;
      Finish(*lease);
    }
    ASSERT_OK_AND_ASSIGN(auto got, store_->ListCandidates(resumed));
    ASSERT_EQ(got.size(), expected.size());
    EXPECT_EQ(State(resumed), headevo::v1::SEARCH_STATE_DONE);
    const int64_t shift = got.front().id() - expected.front().id();
    for (size_t i = 0; i < got.size(); ++i) {
      SCOPED_TRACE(i);
      EXPECT_EQ(got[i].parent_id() == 0 ? 0 : got[i].parent_id() - shift,
                expected[i].parent_id());
      ASSERT_EQ(got[i].genome().heads_size(), expected[i].genome().heads_size());
      for (int h = 0; h < got[i].genome().heads_size(); ++h) {
        EXPECT_EQ(got[i].genome().heads(h).offsets().SerializeAsString(),
                  expected[i].genome().heads(h).offsets().SerializeAsString());
      }
      // Same mutation; head ids differ (both searches share one database).
      EXPECT_EQ(got[i].mutation().pruned_head_ids_size(),
                expected[i].mutation().pruned_head_ids_size());
      EXPECT_EQ(got[i].mutation().added_head_slots().size(),
                expected[i].mutation().added_head_slots().size());
    }
  }
}

TEST_F(CoordinatorTest, PauseResumeAndStop) {
  const int64_t id = Create(Config("steady_state"));
  std::optional<storage::Lease> out = Lease();
  ASSERT_TRUE(out.has_value());
  ASSERT_OK(coordinator_->Pause(id).status());
  EXPECT_FALSE(Lease().has_value()) << "a paused search hands out nothing";
  Finish(*out);  // a job already out still counts
  ASSERT_OK_AND_ASSIGN(Candidate c, store_->GetCandidate(out->request.candidate_id()));
  EXPECT_EQ(c.state(), headevo::v1::CANDIDATE_STATE_DONE);
  EXPECT_EQ(coordinator_->Pause(id).status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_OK(coordinator_->Resume(id).status());
  EXPECT_TRUE(Lease().has_value());
  ASSERT_OK_AND_ASSIGN(auto stopped, coordinator_->Stop(id));
  EXPECT_EQ(stopped.state(), headevo::v1::SEARCH_STATE_STOPPED);
  EXPECT_FALSE(Lease().has_value());
  EXPECT_EQ(coordinator_->Resume(id).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(coordinator_->Stop(id).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(coordinator_->Pause(999).status().code(), absl::StatusCode::kNotFound);
  // A restarted coordinator leaves a stopped search alone.
  Open();
  EXPECT_EQ(State(id), headevo::v1::SEARCH_STATE_STOPPED);
  EXPECT_FALSE(Lease().has_value());
}

TEST_F(CoordinatorTest, AnExpiredLeaseIsQueuedAgainThenFailsWhenAttemptsAreSpent) {
  const int64_t id = Create(Config("steady_state", 1, 0));
  std::optional<storage::Lease> first = Lease();
  ASSERT_TRUE(first.has_value());
  now_ms_ += 1001;
  ASSERT_OK(coordinator_->ExpireLeases());
  std::optional<storage::Lease> second = Lease();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->job_id, first->job_id);
  EXPECT_EQ(second->attempt, 2);
  // The first epoch is fenced off.
  EXPECT_EQ(coordinator_->Heartbeat(worker_, first->job_id, 1, 0, 0).status().code(),
            absl::StatusCode::kFailedPrecondition);
  now_ms_ += 1001;
  ASSERT_OK(coordinator_->ExpireLeases());
  ASSERT_OK_AND_ASSIGN(Candidate c, store_->GetCandidate(first->request.candidate_id()));
  EXPECT_EQ(c.state(), headevo::v1::CANDIDATE_STATE_FAILED);
  EXPECT_NE(c.error().find("lease expired"), std::string::npos) << c.error();
  EXPECT_EQ(State(id), headevo::v1::SEARCH_STATE_FAILED) << "all of generation 0 failed";
}

TEST_F(CoordinatorTest, AHandedBackJobIsQueuedAtOnceWithoutSpendingAnAttempt) {
  Create(Config("steady_state", 1, 0));
  std::optional<storage::Lease> first = Lease();
  ASSERT_TRUE(first.has_value());
  ASSERT_OK(coordinator_->ReleaseJob(worker_, first->job_id, first->attempt, "shutting down"));
  std::optional<storage::Lease> second = Lease();
  ASSERT_TRUE(second.has_value());
  ASSERT_OK_AND_ASSIGN(storage::JobRecord job, store_->GetJob(first->job_id));
  EXPECT_EQ(job.attempt, 2);
  EXPECT_EQ(job.max_attempts, 3) << "the hand-back gave its attempt back";
}

TEST_F(CoordinatorTest, BadSearchesAreRefusedAndNothingIsWritten) {
  auto sweep = ParseSearchConfig(Config("steady_state") + "", "t.toml");
  ASSERT_OK(sweep.status());
  sweep->mode = search::SearchMode::kKSweep;
  EXPECT_EQ(coordinator_->CreateSearch(*sweep, "", {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto options = ParseSearchConfig(Config("steady_state"), "t.toml");
  headevo::v1::Genome bad;
  bad.set_num_layers(2);
  for (int layer = 0; layer < 2; ++layer) {
    auto* head = bad.add_heads();
    head->set_layer(layer);
    head->mutable_offsets()->add_offsets(layer == 0 ? -1 : 4);  // causal: +4 looks ahead
  }
  auto refused = coordinator_->CreateSearch(*options, "", {bad});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("offset 4"), std::string::npos) << refused.status();
  ASSERT_OK_AND_ASSIGN(auto searches, store_->ListSearches());
  EXPECT_TRUE(searches.empty());
}

TEST_F(CoordinatorTest, GrowthRecordsAreStoredWithTheResultAndGarbageIsRefused) {
  const int64_t id = Create(Config("generational", 4, 1, /*inherit=*/true) +
                            "[resampling]\nsampler = \"growth\"\ngrowth_width = 3\n");
  evaluator_.report_growth = true;
  for (int i = 0; i < 4; ++i) Finish(*Lease());
  std::optional<storage::Lease> lease = Lease();
  ASSERT_TRUE(lease.has_value());
  ASSERT_OK_AND_ASSIGN(headevo::v1::EvaluationResult result, evaluator_.Evaluate(lease->request));
  ASSERT_FALSE(result.growth().empty()) << "a growth child has a grown head";
  const headevo::v1::HeadGrowth valid = result.growth(0);

  // Garbage: a head not in the genome, a NaN, an unknown kind. Each is refused by name and
  // leaves the job leased and nothing written.
  const struct {
    std::function<void(headevo::v1::HeadGrowth&)> spoil;
    std::string message;
  } cases[] = {
      {[](headevo::v1::HeadGrowth& g) { g.set_head_id(987654); },
       "head 987654 is not a head of candidate"},
      {[](headevo::v1::HeadGrowth& g) { g.set_measured_loss_change(std::nan("")); },
       "growth[0].measured_loss_change must be finite"},
      {[](headevo::v1::HeadGrowth& g) { g.set_kind(static_cast<headevo::v1::GrowthKind>(5)); },
       "growth[0].kind must be GROWTH_KIND_WIDEN or GROWTH_KIND_NEW_HEAD, got 5"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    headevo::v1::EvaluationResult bad = result;
    c.spoil(*bad.mutable_growth(0));
    absl::StatusOr<JobReport> outcome =
        coordinator_->ReportResult(worker_, lease->job_id, lease->attempt, bad);
    ASSERT_FALSE(outcome.ok());
    EXPECT_EQ(outcome.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(outcome.status().message().find(c.message), std::string::npos)
        << outcome.status().message();
  }
  ASSERT_OK_AND_ASSIGN(Candidate pending, store_->GetCandidate(lease->request.candidate_id()));
  EXPECT_NE(pending.state(), headevo::v1::CANDIDATE_STATE_DONE);
  EXPECT_EQ(pending.growth_size(), 0);

  ASSERT_OK(coordinator_->ReportResult(worker_, lease->job_id, lease->attempt, result).status());
  EXPECT_GT(Drain(), 0);
  EXPECT_EQ(State(id), headevo::v1::SEARCH_STATE_DONE);
  ASSERT_OK_AND_ASSIGN(auto all, store_->ListCandidates(id));
  int grown = 0;
  for (const Candidate& c : all) {
    for (const headevo::v1::Head& head : c.genome().heads()) {
      if (head.origin() != headevo::v1::HEAD_ORIGIN_GROWN) continue;
      ++grown;
      EXPECT_EQ(head.sampler(), headevo::v1::SAMPLER_GROWTH);
      EXPECT_EQ(head.extra_key_width(), 3);
      ASSERT_OK_AND_ASSIGN(storage::HeadHistory history, store_->GetHeadHistory(head.id()));
      ASSERT_EQ(history.growth.size(), 1u);
      EXPECT_EQ(history.growth[0].source_head_id(), head.source_head_id());
      ASSERT_FALSE(history.sources.empty());
      EXPECT_EQ(history.sources[0].head.id(), head.source_head_id());
      // The RPC's answer carries the same chain: the head with its record, then its sources.
      ASSERT_OK_AND_ASSIGN(const headevo::v1::GetHeadHistoryResponse answer,
                           QueryHeadHistory(*store_, head.id()));
      ASSERT_EQ(answer.growth_chain_size(), 1 + static_cast<int>(history.sources.size()));
      EXPECT_EQ(answer.growth_chain(0).head().id(), head.id());
      ASSERT_EQ(answer.growth_chain(0).growth_size(), 1);
      EXPECT_EQ(answer.growth_chain(0).growth(0).measured_loss_change(), -0.01);
      EXPECT_EQ(answer.growth_chain(1).head().id(), head.source_head_id());
    }
  }
  EXPECT_GT(grown, 0);
  ASSERT_OK_AND_ASSIGN(Candidate first, store_->GetCandidate(lease->request.candidate_id()));
  ASSERT_GE(first.growth_size(), 1);
  EXPECT_EQ(first.growth(0).head_id(), valid.head_id());
}

TEST_F(CoordinatorTest, CheckpointsNoLivingCandidateNeedsAreCollected) {
  const int64_t id = Create(Config("generational", 4, 2, /*inherit=*/true));
  // The fake's checkpoint names are not hashes; give each result a real-looking one.
  std::vector<storage::Lease> generation0;
  for (int i = 0; i < 4; ++i) generation0.push_back(*Lease());
  std::map<int64_t, std::string> sha_of;
  for (const storage::Lease& lease : generation0) {
    ASSERT_OK_AND_ASSIGN(auto result, evaluator_.Evaluate(lease.request));
    const std::string sha = absl::StrFormat("%064x", lease.request.candidate_id());
    result.set_checkpoint_sha256(sha);
    sha_of[lease.request.candidate_id()] = sha;
    ASSERT_OK(coordinator_->ReportResult(worker_, lease.job_id, lease.attempt, result).status());
  }
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> keep, coordinator_->CheckpointsToKeep());
  const std::set<std::string> kept(keep.begin(), keep.end());
  // Truncation with parents = 2: the two fittest may still breed; their checkpoints (which
  // the queued children start from) stay, the other two may go.
  ASSERT_OK_AND_ASSIGN(auto best, store_->BestCandidates(id, 4));
  EXPECT_TRUE(kept.count(sha_of[best[0].candidate_id]));
  EXPECT_TRUE(kept.count(sha_of[best[1].candidate_id]));
  EXPECT_FALSE(kept.count(sha_of[best[3].candidate_id]));

  ASSERT_OK_AND_ASSIGN(auto checkpoints, CheckpointStore::Open(dir_.File("ckpt")));
  for (const auto& [candidate, sha] : sha_of) {
    std::ofstream(checkpoints->PathOf(sha)) << "weights";
  }
  std::ofstream(dir_.File("ckpt/README")) << "not a checkpoint: never touched";
  ASSERT_OK_AND_ASSIGN(int removed, checkpoints->Collect(kept, /*min_age_ms=*/0));
  EXPECT_EQ(removed, static_cast<int>(4 - kept.size()));
  EXPECT_TRUE(checkpoints->Has(sha_of[best[0].candidate_id]));
  EXPECT_FALSE(checkpoints->Has(sha_of[best[3].candidate_id]));
  EXPECT_TRUE(std::filesystem::exists(dir_.File("ckpt/README")));
  // A young file is spared whatever the keep set says.
  ASSERT_OK_AND_ASSIGN(removed, checkpoints->Collect({}, /*min_age_ms=*/3'600'000));
  EXPECT_EQ(removed, 0);
}

TEST_F(CoordinatorTest, InitialGenomesThatDoNotFitAreRefusedAndNothingIsStored) {
  const std::string toml = Config("steady_state");  // 2 layers, seq_len 16, causal
  auto options = ParseSearchConfig(toml, "test.toml");
  ASSERT_TRUE(options.ok()) << options.status();
  const auto genome = [](std::vector<std::pair<int, std::vector<int>>> heads) {
    headevo::v1::Genome g;
    for (const auto& [layer, offsets] : heads) {
      headevo::v1::Head* head = g.add_heads();
      head->set_layer(layer);
      for (int o : offsets) head->mutable_offsets()->add_offsets(o);
    }
    return g;
  };
  const struct {
    headevo::v1::Genome genome;
    std::string message;
  } cases[] = {
      {genome({{0, {-1}}, {2, {-1}}}), "heads[1].layer must be in [0, num_layers = 2)"},
      {genome({{0, {}}, {1, {-1}}}), "heads[0].offsets must not be empty"},
      {genome({{0, {-1, -3}}, {1, {-1}}}), "heads[0].offsets[1] must be greater than -1"},
      {genome({{0, {-16}}, {1, {-1}}}), "offset -16 does not fit the model (|offset| < seq_len 16"},
      {genome({{0, {1}}, {1, {-1}}}), "offset 1 does not fit the model"},
      {genome({{0, {-1}}, {0, {-2}}}), "has no head in layer 1"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    auto id = coordinator_->CreateSearch(*options, toml, {genome({{0, {-2}}, {1, {-1}}}), c.genome});
    ASSERT_FALSE(id.ok());
    EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(id.status().message().find(c.message), std::string::npos) << id.status();
  }
  ASSERT_OK_AND_ASSIGN(auto searches, store_->ListSearches());
  EXPECT_TRUE(searches.empty());
  // A fitting genome is taken as fresh heads of generation 0.
  ASSERT_OK_AND_ASSIGN(int64_t id, coordinator_->CreateSearch(
                                       *options, toml, {genome({{0, {-3, -1}}, {1, {-2}}})}));
  ASSERT_OK_AND_ASSIGN(auto all, store_->ListCandidates(id));
  EXPECT_EQ(all[0].mutation().description(), "initial: given genome");
  EXPECT_EQ(all[0].genome().heads(0).origin(), headevo::v1::HEAD_ORIGIN_INITIAL);
}

}  // namespace
}  // namespace headevo::server
