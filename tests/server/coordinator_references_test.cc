// The coordinator's reference models and k-sweep as jobs (fake evaluator, fake clocks): what
// is queued when, resuming both after a restart, failures, and waits that read the injected
// clock.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/config/search_config.h"
#include "server/engine/coordinator.h"
#include "tests/server/coordinator_fixture.h"
#include "tests/testutil/status_matchers.h"

namespace headevo::server {
namespace {

using headevo::v1::Candidate;

constexpr char kModel[] =
    "[model]\nseq_len = 16\nlayers = 2\nheads_per_layer = 2\n[task]\nplanted_offsets = [-1, -3]\n"
    "[initial]\nwindow = 6\n";

std::string EvolveConfig() {
  return std::string("[search]\nseed = 5\npopulation = 3\ngenerations = 1\n"
                     "schedule = \"generational\"\ncompare_with_dense = true\n"
                     "[selection]\nparents = 2\n[baselines]\nrun = [\"local\", \"strided\"]\n"
                     "window = 4\n") +
         kModel;
}

std::string KSweepConfig() {
  return std::string("[search]\nseed = 9\nmode = \"k_sweep\"\n[selection]\nparents = 2\n"
                     "[k_sweep]\nk_start = 4\nk_factor = 0.5\nk_min = 1\nrepeats = 2\n"
                     "tolerance = 10\n") +
         kModel;
}

class CoordinatorReferencesTest : public CoordinatorFixture {};

TEST_F(CoordinatorReferencesTest, BaselinesAreQueuedOnceTheBudgetIsSpentAndEndTheSearch) {
  const int64_t id = Create(EvolveConfig());
  int candidates = 0;
  std::optional<storage::Lease> lease;
  while ((lease = Lease()) && lease->request.reference_id() == 0) {
    EXPECT_TRUE(Finish(*lease).candidate.has_value());
    ++candidates;
  }
  EXPECT_EQ(candidates, 6) << "every candidate comes before any reference model";
  ASSERT_TRUE(lease.has_value());
  headevo::v1::SearchSummary summary = Summary(id);
  EXPECT_EQ(summary.state(), headevo::v1::SEARCH_STATE_RUNNING);
  ASSERT_EQ(summary.references_size(), 3);
  EXPECT_EQ(summary.references(0).description(), "dense attention");
  EXPECT_EQ(summary.references(1).description(), "local attention (window 4)");
  EXPECT_EQ(summary.references(2).description(), "strided attention (stride 4)");
  EXPECT_EQ(summary.references(0).state(), headevo::v1::CANDIDATE_STATE_RUNNING);
  EXPECT_EQ(lease->request.training().model().attention(), headevo::v1::ATTENTION_KIND_DENSE);
  EXPECT_EQ(lease->request.candidate_id(), 0);
  EXPECT_EQ(lease->request.genome().heads_size(), 4);

  // The report says what it recorded: the reference model, with its metrics.
  JobReport report = Finish(*lease);
  ASSERT_TRUE(report.reference.has_value());
  EXPECT_FALSE(report.candidate.has_value());
  EXPECT_EQ(report.reference->state(), headevo::v1::CANDIDATE_STATE_DONE);
  EXPECT_GT(report.reference->metrics().val_loss(), 0);

  // A failing baseline costs only its comparison.
  std::optional<storage::Lease> local = Lease();
  ASSERT_TRUE(local.has_value());
  ASSERT_OK_AND_ASSIGN(JobReport failed,
                       coordinator_->ReportFailure(worker_, local->job_id, local->attempt,
                                                   "out of patience", /*permanent=*/true));
  ASSERT_TRUE(failed.reference.has_value());
  EXPECT_EQ(failed.reference->state(), headevo::v1::CANDIDATE_STATE_FAILED);
  EXPECT_EQ(Drain(), 1);
  summary = Summary(id);
  EXPECT_EQ(summary.state(), headevo::v1::SEARCH_STATE_DONE);
  EXPECT_EQ(summary.references(1).error(), "out of patience");
  EXPECT_EQ(summary.references(2).state(), headevo::v1::CANDIDATE_STATE_DONE);
  ASSERT_OK_AND_ASSIGN(auto all, store_->ListCandidates(id));
  EXPECT_EQ(all.size(), 6u) << "reference models are not candidates";
  ASSERT_OK_AND_ASSIGN(auto jobs, store_->ListJobs(id));
  EXPECT_EQ(jobs.size(), 9u);
}

TEST_F(CoordinatorReferencesTest, AReferenceLeasedAcrossARestartIsRecordedOnce) {
  const int64_t id = Create(EvolveConfig());
  std::optional<storage::Lease> lease;
  while ((lease = Lease()) && lease->request.reference_id() == 0) Finish(*lease);
  ASSERT_TRUE(lease.has_value());
  const int64_t old_worker = worker_;
  Open("c.db");  // a new coordinator on the same file; the lease is still held
  ASSERT_OK_AND_ASSIGN(auto before, store_->ListReferences(id));
  EXPECT_EQ(before.size(), 3u) << "the restart queues no second set of baselines";
  auto result = evaluator_.Evaluate(lease->request);
  ASSERT_TRUE(result.ok());
  // The worker that held it reports to the new coordinator: its lease counts.
  ASSERT_OK_AND_ASSIGN(JobReport first, coordinator_->ReportResult(old_worker, lease->job_id,
                                                                   lease->attempt, *result));
  EXPECT_FALSE(first.already_recorded);
  ASSERT_OK_AND_ASSIGN(JobReport again,
                       coordinator_->ReportResult(old_worker, lease->job_id, lease->attempt, *result));
  EXPECT_TRUE(again.already_recorded);
  ASSERT_TRUE(again.reference.has_value());
  EXPECT_EQ(Drain(), 2);
  EXPECT_EQ(Summary(id).state(), headevo::v1::SEARCH_STATE_DONE);
  ASSERT_OK_AND_ASSIGN(auto after, store_->ListReferences(id));
  ASSERT_EQ(after.size(), 3u);
  for (const auto& r : after) EXPECT_EQ(r.state(), headevo::v1::CANDIDATE_STATE_DONE);
}

TEST_F(CoordinatorReferencesTest, KSweepTrainsDenseThenOneStepAtATimeAndResumes) {
  const int64_t id = Create(KSweepConfig());
  std::optional<storage::Lease> dense = Lease();
  ASSERT_TRUE(dense.has_value());
  EXPECT_NE(dense->request.reference_id(), 0);
  EXPECT_FALSE(Lease().has_value()) << "no step is queued before dense has its loss";
  Finish(*dense);
  std::optional<storage::Lease> first = Lease();
  ASSERT_TRUE(first.has_value());
  ASSERT_OK_AND_ASSIGN(Candidate c, store_->GetCandidate(first->request.candidate_id()));
  EXPECT_EQ(c.generation(), 0);
  EXPECT_EQ(c.mutation().description(), "k-sweep: mean k 4, head set 1 of 2");
  Finish(*first);

  // A new coordinator mid-step continues where the sweep stood.
  Open("c.db");
  EXPECT_EQ(Drain(), 5) << "the rest of k = 4, then k = 2 and k = 1";
  headevo::v1::SearchSummary summary = Summary(id);
  EXPECT_EQ(summary.state(), headevo::v1::SEARCH_STATE_DONE);
  EXPECT_EQ(summary.mode(), "k_sweep");
  ASSERT_EQ(summary.k_sweep_steps_size(), 3);
  EXPECT_EQ(summary.k_sweep_steps(0).mean_k(), 4);
  EXPECT_EQ(summary.k_sweep_steps(2).mean_k(), 1);
  EXPECT_EQ(summary.k_sweep_steps(1).val_losses_size(), 2);
  ASSERT_TRUE(summary.has_k_sweep_smallest_k());
  EXPECT_EQ(summary.k_sweep_smallest_k(), 1) << "tolerance 10 lets every k hold";
  ASSERT_EQ(summary.references_size(), 1);
  EXPECT_EQ(summary.references(0).role(), "k_sweep_bar");

  // The same sweep without the restart draws the same head sets.
  ASSERT_OK_AND_ASSIGN(auto resumed, store_->ListCandidates(id));
  Open("straight.db");
  const int64_t straight_id = Create(KSweepConfig());
  EXPECT_EQ(Drain(), 7);
  ASSERT_OK_AND_ASSIGN(auto straight, store_->ListCandidates(straight_id));
  ASSERT_EQ(straight.size(), resumed.size());
  for (size_t i = 0; i < straight.size(); ++i) {
    ASSERT_EQ(straight[i].genome().heads_size(), resumed[i].genome().heads_size());
    for (int h = 0; h < straight[i].genome().heads_size(); ++h) {
      EXPECT_EQ(straight[i].genome().heads(h).offsets().SerializeAsString(),
                resumed[i].genome().heads(h).offsets().SerializeAsString());
    }
  }
}

TEST_F(CoordinatorReferencesTest, AKSweepWhoseDenseModelFailsFails) {
  const int64_t id = Create(KSweepConfig());
  std::optional<storage::Lease> dense = Lease();
  ASSERT_TRUE(dense.has_value());
  ASSERT_OK(coordinator_
                ->ReportFailure(worker_, dense->job_id, dense->attempt, "CUDA out of memory",
                                /*permanent=*/true)
                .status());
  headevo::v1::SearchSummary summary = Summary(id);
  EXPECT_EQ(summary.state(), headevo::v1::SEARCH_STATE_FAILED);
  EXPECT_FALSE(Lease().has_value());
  ASSERT_OK_AND_ASSIGN(auto events, store_->ListEvents(id, 0, 100));
  ASSERT_FALSE(events.empty());
  EXPECT_NE(events.back().message.find("CUDA out of memory"), std::string::npos)
      << events.back().message;
}

TEST_F(CoordinatorReferencesTest, AKSweepTakesNoInitialGenomes) {
  auto options = ParseSearchConfig(KSweepConfig(), "test.toml");
  ASSERT_TRUE(options.ok());
  headevo::v1::Genome genome;
  genome.add_heads()->mutable_offsets()->add_offsets(-1);
  auto id = coordinator_->CreateSearch(*options, KSweepConfig(), {genome});
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(id.status().message().find("k-sweep"), std::string::npos);
}

// Waits read the injected wait clock: a deadline a minute away passes as soon as that clock
// says so, with no real minute spent.
TEST_F(CoordinatorReferencesTest, WaitsEndWhenTheInjectedClockPassesTheirDeadline) {
  coordinator_.reset();
  std::atomic<int> reads{0};
  CoordinatorOptions options;
  options.clock = [this] { return now_ms_; };
  // The first read sets the deadline; every later one is an hour on.
  options.wait_clock = [&reads] { return reads++ == 0 ? int64_t{0} : int64_t{3'600'000}; };
  ASSERT_OK_AND_ASSIGN(coordinator_, Coordinator::Create(store_.get(), options));
  ASSERT_OK_AND_ASSIGN(WorkerRegistration w, coordinator_->RegisterWorker({0, "t", "cpu"}));
  ASSERT_OK_AND_ASSIGN(auto lease, coordinator_->WaitForJob(w.worker_id, 60'000, nullptr));
  EXPECT_FALSE(lease.has_value());
  EXPECT_EQ(reads.load(), 2);

  const int64_t id = Create(EvolveConfig());
  Coordinator::EventCursor cursor;
  ASSERT_OK_AND_ASSIGN(auto replayed, coordinator_->NextEvents(id, cursor, 60'000));
  EXPECT_FALSE(replayed.empty()) << "the stored history comes first";
  reads = 0;
  ASSERT_OK_AND_ASSIGN(auto live, coordinator_->NextEvents(id, cursor, 60'000));
  EXPECT_TRUE(live.empty());
  EXPECT_EQ(reads.load(), 2);
}

}  // namespace
}  // namespace headevo::server
