// The text of `headevo candidate`, `workers` and `delete`, from hand-built messages.
#include "cli/record_format.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace headevo::cli {
namespace {

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

headevo::v1::Candidate TwoHeadCandidate() {
  headevo::v1::Candidate c;
  c.set_id(42);
  c.set_search_id(3);
  c.set_generation(2);
  c.set_parent_id(17);
  c.mutable_genome()->set_num_layers(1);
  for (int i = 0; i < 2; ++i) {
    headevo::v1::Head& h = *c.mutable_genome()->add_heads();
    h.set_id(7 + i);
    h.set_layer(0);
    h.mutable_offsets()->add_offsets(-3 + i);
    h.mutable_offsets()->add_offsets(-1);
    h.set_origin(headevo::v1::HEAD_ORIGIN_INHERITED);
    h.set_sampler(headevo::v1::SAMPLER_UNIFORM);
  }
  c.mutable_mutation()->set_description("pruned 5 (rank); +1 uniform");
  c.mutable_mutation()->add_pruned_head_ids(5);
  c.set_state(headevo::v1::CANDIDATE_STATE_PENDING);
  return c;
}

TEST(RecordFormatTest, CandidateBeforeAndAfterItsResult) {
  headevo::v1::Candidate c = TwoHeadCandidate();
  std::string text = FormatCandidateDetail(c);
  EXPECT_TRUE(Has(text, "candidate #42 of search 3, generation 2, parent #17: pending")) << text;
  EXPECT_TRUE(Has(text, "val_loss     -\n")) << text;
  EXPECT_TRUE(Has(text, "checkpoint   none")) << text;
  EXPECT_TRUE(Has(text, "heads (2):")) << text;
  EXPECT_TRUE(Has(text, "{-3,-1}")) << text;
  EXPECT_TRUE(Has(text, "pruned from the parent: heads 5")) << text;
  EXPECT_FALSE(Has(text, "0.2500")) << "no statistics before a result: " << text;

  c.set_state(headevo::v1::CANDIDATE_STATE_DONE);
  c.mutable_metrics()->set_val_loss(1.25);
  c.mutable_metrics()->set_connections(4);
  c.set_checkpoint_sha256(std::string(64, 'f'));
  headevo::v1::HeadStats& s = *c.add_head_stats();
  s.set_head_id(8);
  s.set_entropy(0.25);
  s.set_independence(std::numeric_limits<double>::quiet_NaN());
  headevo::v1::HeadGrowth& g = *c.add_growth();
  g.set_head_id(8);
  g.set_source_head_id(2);
  g.set_kind(headevo::v1::GROWTH_KIND_WIDEN);
  g.set_added_key_width(4);
  text = FormatCandidateDetail(c);
  EXPECT_TRUE(Has(text, "val_loss     1.2500")) << text;
  EXPECT_TRUE(Has(text, "connections  4")) << text;
  EXPECT_TRUE(Has(text, std::string(64, 'f'))) << text;
  EXPECT_TRUE(Has(text, "0.2500")) << text;
  EXPECT_TRUE(Has(text, "nan")) << text;
  EXPECT_TRUE(Has(text, "head 8 (layer 0) widened from head 2 by 4")) << text;
  EXPECT_EQ(text.back(), '\n');
}

TEST(RecordFormatTest, WorkersWithAndWithoutJobs) {
  headevo::v1::ListWorkersResponse none;
  EXPECT_TRUE(Has(FormatWorkerTable(none), "headevo worker --coordinator"));

  headevo::v1::ListWorkersResponse r;
  headevo::v1::WorkerSummary& busy = *r.add_workers();
  busy.set_id(1);
  busy.set_name("gpu-host");
  busy.set_device("cuda:0");
  busy.set_memory_bytes(int64_t{80} << 30);
  busy.set_registered_ms(0);
  busy.set_last_seen_ms(60'000);
  headevo::v1::WorkerJob& j = *busy.add_jobs();
  j.set_job_id(12);
  j.set_search_id(3);
  j.set_candidate_id(34);
  j.set_attempt(2);
  j.set_lease_expires_ms(120'000);
  headevo::v1::WorkerSummary& idle = *r.add_workers();
  idle.set_id(2);
  idle.set_device("cpu");
  const std::string text = FormatWorkerTable(r);
  EXPECT_TRUE(Has(text, "80.0 GiB")) << text;
  EXPECT_TRUE(Has(text, "1970-01-01 00:01:00 UTC")) << text;
  EXPECT_TRUE(Has(text,
                  "job 12: candidate #34 of search 3, attempt 2, lease until "
                  "1970-01-01 00:02:00 UTC"))
      << text;
  EXPECT_TRUE(Has(text, "idle")) << text;
}

TEST(RecordFormatTest, DeletionPlanSaysWhatGoesAndToAddYes) {
  headevo::v1::SearchSummary s;
  s.set_id(3);
  s.set_name("big");
  s.set_state(headevo::v1::SEARCH_STATE_DONE);
  s.set_candidates(16);
  std::string text = FormatDeletionPlan(s);
  EXPECT_TRUE(Has(text, "would delete search 3 'big' (done)")) << text;
  EXPECT_TRUE(Has(text, "16 candidates")) << text;
  EXPECT_TRUE(Has(text, "add --yes")) << text;
  EXPECT_FALSE(Has(text, "stop it first")) << text;
  s.set_state(headevo::v1::SEARCH_STATE_RUNNING);
  EXPECT_TRUE(Has(FormatDeletionPlan(s), "stop it first (headevo stop 3)"));

  headevo::v1::DeleteSearchResponse deleted;
  deleted.set_candidates_deleted(16);
  deleted.set_checkpoints_deleted(5);
  EXPECT_EQ(FormatDeleted(3, deleted), "deleted search 3: 16 candidates, 5 checkpoint files\n");
}

}  // namespace
}  // namespace headevo::cli
