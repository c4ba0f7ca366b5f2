// Multi-fidelity in the coordinator (fake evaluator, fake clock): first jobs stop at the first
// rung with the schedule of the full budget, ASHA promotes the top 1/eta of each rung by
// continuing from the candidate's checkpoint, the best is taken at the highest rung, a failed
// promotion keeps the candidate's result, a restart resumes with every rung intact, and
// budget_steps stops the search at equal compute.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "search/fidelity.h"
#include "server/engine/coordinator.h"
#include "tests/server/coordinator_fixture.h"
#include "tests/testutil/status_matchers.h"

namespace headevo::server {
namespace {

// 12 candidates (population 4, 2 generations after the first), rungs 10, 30 and 90 steps.
constexpr char kConfig[] =
    "[search]\nseed = 5\npopulation = 4\ngenerations = 2\ncompare_with_dense = false\n"
    "[selection]\nparents = 2\n[model]\nseq_len = 16\n"
    "[task]\nplanted_offsets = [-1, -3]\n[initial]\nwindow = 6\n"
    "[training]\nsteps = 90\n"
    "[fidelity]\nenabled = true\nmin_steps = 10\nreduction_factor = 3\n";

constexpr int kRungSteps[] = {10, 30, 90};

class CoordinatorFidelityTest : public CoordinatorFixture {
 protected:
  // Every job's request, in the order leased, until none is left.
  std::vector<headevo::v1::EvaluationRequest> DrainRequests() {
    std::vector<headevo::v1::EvaluationRequest> requests;
    while (auto lease = Lease()) {
      requests.push_back(lease->request);
      auto result = evaluator_.Evaluate(lease->request);
      if (result.ok()) {
        EXPECT_OK(coordinator_->ReportResult(worker_, lease->job_id, lease->attempt, *result)
                      .status());
      } else {
        EXPECT_OK(coordinator_
                      ->ReportFailure(worker_, lease->job_id, lease->attempt,
                                      std::string(result.status().message()), false)
                      .status());
      }
    }
    return requests;
  }

  std::vector<headevo::v1::Candidate> Candidates(int64_t search) {
    auto candidates = store_->ListCandidates(search);
    EXPECT_TRUE(candidates.ok()) << candidates.status();
    return candidates.ok() ? *candidates : std::vector<headevo::v1::Candidate>();
  }

  std::vector<std::string> EventKinds(int64_t search) {
    auto events = store_->ListEvents(search, 0, 100000);
    EXPECT_TRUE(events.ok()) << events.status();
    std::vector<std::string> kinds;
    if (events.ok()) {
      for (const auto& e : *events) kinds.push_back(e.kind);
    }
    return kinds;
  }
};

TEST_F(CoordinatorFidelityTest, FirstJobsStopAtTheFirstRungAndPromotionsContinueThem) {
  const int64_t search = Create(kConfig);
  const std::vector<headevo::v1::EvaluationRequest> requests = DrainRequests();
  EXPECT_EQ(State(search), headevo::v1::SEARCH_STATE_DONE);

  std::map<int64_t, uint64_t> first_seed;
  std::map<std::string, int64_t> checkpoint_owner;  // every checkpoint a result named
  int promotions = 0;
  for (const auto& r : requests) {
    EXPECT_EQ(r.training().schedule_steps(), 90) << "the schedule spans the full budget";
    if (r.resume_checkpoint_sha256().empty()) {
      EXPECT_EQ(r.training().steps(), 10);
      first_seed[r.candidate_id()] = r.training().seed();
      continue;
    }
    ++promotions;
    EXPECT_TRUE(r.training().steps() == 30 || r.training().steps() == 90) << r.DebugString();
    EXPECT_TRUE(r.parent_checkpoint_sha256().empty());
    EXPECT_EQ(r.training().seed(), first_seed.at(r.candidate_id()))
        << "a promotion continues the candidate's own run";
    // It continues from the checkpoint of the rung below: rung 1 from the first job's file.
    const std::string below = r.training().steps() == 30
                                  ? "ckpt-" + std::to_string(r.candidate_id())
                                  : "ckpt-" + std::to_string(r.candidate_id()) + "-30";
    EXPECT_EQ(r.resume_checkpoint_sha256(), below);
  }
  ASSERT_EQ(first_seed.size(), 12u);

  const std::vector<headevo::v1::Candidate> population = Candidates(search);
  search::SelectionOptions selection;
  selection.num_parents = 2;
  // Every candidate in the final top third of rung 0 (4 of 12) reached rung 1, and the top
  // third of rung 1's finishers reached rung 2; each rung result is on the learning curve.
  const auto rung0 = search::RankAtRung(population, 0, selection);
  ASSERT_EQ(rung0.size(), 12u);
  for (size_t i = 0; i < 4; ++i) EXPECT_GE(rung0[i]->rung(), 1) << "candidate " << rung0[i]->id();
  const auto rung1 = search::RankAtRung(population, 1, selection);
  ASSERT_GE(rung1.size(), 4u);
  for (size_t i = 0; i < rung1.size() / 3; ++i) EXPECT_EQ(rung1[i]->rung(), 2);
  int at_rung[3] = {0, 0, 0};
  for (const auto& c : population) {
    ASSERT_EQ(c.rungs_size(), c.rung() + 1) << c.DebugString();
    for (int r = 0; r <= c.rung(); ++r) {
      ++at_rung[r];
      EXPECT_EQ(c.rungs(r).steps(), kRungSteps[r]);
    }
    EXPECT_EQ(c.metrics().val_loss(), c.rungs(c.rung()).val_loss());
    EXPECT_EQ(c.checkpoint_sha256(), c.rungs(c.rung()).checkpoint_sha256());
    if (c.rung() > 0) {
      EXPECT_LT(c.rungs(c.rung()).val_loss(), c.rungs(0).val_loss()) << "trained further";
    }
  }
  EXPECT_EQ(promotions, at_rung[1] + at_rung[2]);

  const headevo::v1::SearchSummary summary = Summary(search);
  ASSERT_EQ(summary.rung_steps_size(), 3);
  EXPECT_EQ(summary.rung_steps(2), 90);
  ASSERT_EQ(summary.rung_finished_size(), 3);
  EXPECT_EQ(summary.rung_finished(0), 12);
  EXPECT_EQ(summary.rung_finished(1), at_rung[1]);
  EXPECT_EQ(summary.rung_finished(2), at_rung[2]);
  EXPECT_EQ(summary.steps_committed(), 12 * 10 + at_rung[1] * 20 + at_rung[2] * 60);
  // The best is the fittest of the top rung, never a first-rung loss.
  ASSERT_NE(summary.best_candidate_id(), 0);
  const auto best = std::find_if(population.begin(), population.end(), [&](const auto& c) {
    return c.id() == summary.best_candidate_id();
  });
  ASSERT_NE(best, population.end());
  EXPECT_EQ(best->rung(), 2);
  EXPECT_EQ(best->id(), search::RankAtRung(population, 2, selection).front()->id());

  // The front compares only candidates trained to the full budget.
  ASSERT_OK_AND_ASSIGN(auto front, store_->ParetoFront(search));
  ASSERT_FALSE(front.empty());
  for (const auto& node : front) EXPECT_EQ(node.rung, 2) << node.candidate_id;

  const std::vector<std::string> kinds = EventKinds(search);
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "candidate_promoted"), promotions);
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "rung_finished"), promotions);
}

TEST_F(CoordinatorFidelityTest, AFailedPromotionKeepsTheCandidatesResultAndTheSearchEnds) {
  evaluator_.fail_when = [](const headevo::v1::EvaluationRequest& r) {
    return !r.resume_checkpoint_sha256().empty();
  };
  const int64_t search = Create(kConfig);
  DrainRequests();
  EXPECT_EQ(State(search), headevo::v1::SEARCH_STATE_DONE);
  for (const auto& c : Candidates(search)) {
    EXPECT_EQ(c.state(), headevo::v1::CANDIDATE_STATE_DONE) << c.DebugString();
    EXPECT_EQ(c.rung(), 0);
    EXPECT_EQ(c.rungs_size(), 1);
  }
  // Each failed promotion is tried max_attempts (2) times and never queued again.
  ASSERT_OK_AND_ASSIGN(std::vector<storage::JobRecord> jobs, store_->ListJobs(search));
  std::set<int64_t> promoted;
  for (const auto& job : jobs) {
    if (job.rung == 0) continue;
    EXPECT_EQ(job.state, storage::JobState::kFailed);
    EXPECT_EQ(job.attempt, 2);
    EXPECT_TRUE(promoted.insert(job.candidate_id).second) << "promoted twice";
  }
  EXPECT_FALSE(promoted.empty());
  const std::vector<std::string> kinds = EventKinds(search);
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "promotion_failed"),
            static_cast<long>(promoted.size()));
}

TEST_F(CoordinatorFidelityTest, ARestartedCoordinatorResumesWithEveryRungIntact) {
  Open("straight.db");
  Create(kConfig);
  std::vector<std::string> straight;
  for (const auto& r : DrainRequests()) straight.push_back(r.SerializeAsString());

  Open("restarted.db");
  const int64_t search = Create(kConfig);
  std::vector<std::string> restarted;
  int n = 0;
  bool expired_once = false;
  while (auto lease = Lease()) {
    if (!expired_once && !lease->request.resume_checkpoint_sha256().empty()) {
      // A worker dies mid-promotion and the coordinator restarts: the lease runs out and the
      // promotion is leased again, from the same checkpoint.
      expired_once = true;
      Open("restarted.db");
      now_ms_ += 10'000;
      ASSERT_OK(coordinator_->ExpireLeases());
      auto again = Lease();
      ASSERT_TRUE(again.has_value());
      EXPECT_EQ(again->job_id, lease->job_id);
      EXPECT_EQ(again->attempt, lease->attempt + 1);
      EXPECT_EQ(again->request.resume_checkpoint_sha256(),
                lease->request.resume_checkpoint_sha256());
      lease = again;
    }
    restarted.push_back(lease->request.SerializeAsString());
    Finish(*lease);
    if (++n % 5 == 0) Open("restarted.db");  // a restart between jobs
  }
  EXPECT_TRUE(expired_once);
  EXPECT_EQ(State(search), headevo::v1::SEARCH_STATE_DONE);
  EXPECT_EQ(restarted, straight) << "the same jobs in the same order, rungs included";
}

TEST_F(CoordinatorFidelityTest, BudgetStepsStopsTheSearchAtEqualCompute) {
  // No rungs: 4 first candidates of 50 steps, then children while 300 steps allow: 2 more.
  const int64_t search = Create(
      "[search]\nseed = 5\npopulation = 4\ngenerations = 5\ncompare_with_dense = false\n"
      "budget_steps = 300\n[selection]\nparents = 2\n[model]\nseq_len = 16\n"
      "[task]\nplanted_offsets = [-1, -3]\n[initial]\nwindow = 6\n[training]\nsteps = 50\n");
  EXPECT_EQ(static_cast<int>(DrainRequests().size()), 6);
  EXPECT_EQ(State(search), headevo::v1::SEARCH_STATE_DONE);
  const headevo::v1::SearchSummary summary = Summary(search);
  EXPECT_EQ(summary.steps_committed(), 300);
  EXPECT_EQ(summary.budget_steps(), 300);
  ASSERT_EQ(summary.rung_steps_size(), 1);
  EXPECT_EQ(summary.rung_finished(0), 6);
}

}  // namespace
}  // namespace headevo::server
