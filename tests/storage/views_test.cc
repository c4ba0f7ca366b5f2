// The versioned read-only views (storage/schema_views.h) that outside readers query: each
// exists in a fresh file, returns the rows the tables hold with "no value" as NULL, and has
// its section in docs/schema.md.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "storage/schema.h"
#include "storage/sqlite_db.h"
#include "tests/storage/candidate_builders.h"
#include "tests/storage/storage_test_util.h"
#include "tests/testutil/status_matchers.h"

namespace headevo::testing {
namespace {

using headevo::v1::HEAD_ORIGIN_SAMPLED;

const std::vector<std::string> kViews = {
    "v1_candidate_heads", "v1_candidates", "v1_events",       "v1_head_stats", "v1_heads",
    "v1_lineage_edges",   "v1_pruned_heads", "v1_rung_results", "v1_searches"};

class ViewsTest : public StoreTest {
 protected:
  // Every row of `sql`, each row's columns as text ("NULL" for NULL), joined by '|'. The
  // column count is read off the SELECT list (the queries here list plain column names).
  std::vector<std::string> Rows(const std::string& sql) {
    std::vector<std::string> rows;
    absl::StatusOr<storage::Statement> stmt = store_->database().Prepare(sql);
    EXPECT_TRUE(stmt.ok()) << stmt.status();
    if (!stmt.ok()) return rows;
    const std::string select_list = sql.substr(0, sql.find(" FROM "));
    const int columns =
        1 + static_cast<int>(std::count(select_list.begin(), select_list.end(), ','));
    absl::Status walked = stmt->ForEachRow([&](const storage::Statement& row) {
      std::string text;
      for (int c = 0; c < columns; ++c) {
        absl::StrAppend(&text, c ? "|" : "", row.ColumnIsNull(c) ? "NULL" : row.ColumnText(c));
      }
      rows.push_back(text);
    });
    EXPECT_TRUE(walked.ok()) << walked;
    return rows;
  }
};

TEST_F(ViewsTest, EveryViewExistsInAFreshFileAtTheLatestVersion) {
  EXPECT_EQ(storage::LatestSchemaVersion(), 8);
  std::vector<std::string> names;
  for (const std::string& row :
       Rows("SELECT name FROM sqlite_master WHERE type = 'view' ORDER BY name")) {
    names.push_back(row);
  }
  EXPECT_EQ(names, kViews);
}

TEST_F(ViewsTest, ViewsReturnTheLineageWithNullForNoValue) {
  ASSERT_OK_AND_ASSIGN(int64_t worker, store_->RegisterWorker({0, "host", "cpu", 0, 0, 0}, 100));
  storage::NewJob job;
  job.training.set_steps(10);
  ASSERT_OK_AND_ASSIGN(auto written, store_->InsertCandidatesWithJobs({MakeRoot(search_id_)},
                                                                      {job}, 100));
  const headevo::v1::Candidate root = written.front();
  storage::LeaseOptions lease_options;
  lease_options.worker_id = worker;
  lease_options.now_ms = 200;
  lease_options.lease_ms = 1000;
  ASSERT_OK_AND_ASSIGN(std::optional<storage::Lease> lease, store_->LeaseJob(lease_options));
  ASSERT_TRUE(lease.has_value());
  headevo::v1::EvaluationResult result;
  result.set_candidate_id(root.id());
  result.mutable_metrics()->set_val_loss(1.5);
  result.mutable_metrics()->set_train_loss(1.75);
  result.mutable_metrics()->set_connections(6);
  result.mutable_metrics()->set_steps(10);
  result.mutable_metrics()->set_tokens(640);
  result.mutable_metrics()->set_train_seconds(0.5);
  for (const auto& head : root.genome().heads()) {
    auto* stats = result.add_head_stats();
    stats->set_head_id(head.id());
    stats->set_layer(head.layer());
    stats->set_entropy(0.25);
    stats->set_independence(0.5);
    stats->set_weight_norm(1.0);
    stats->set_importance(2.0);
  }
  result.set_checkpoint_sha256("abcd");
  ASSERT_OK(store_->CompleteJob(lease->job_id, lease->attempt, result, 300));

  const int64_t pruned = root.genome().heads(1).id();
  const headevo::v1::Candidate child = Insert(MakeCandidate(
      search_id_, 1, root.id(), 2,
      {Carry(root, 0), Carry(root, 2),
       NewHead(0, {-4}, HEAD_ORIGIN_SAMPLED, headevo::v1::SAMPLER_BEST, "near", pruned)},
      {pruned}, "pruned 1, sampled 1"));
  ASSERT_OK(store_->AppendEvent({0, search_id_, 400, "new_best", "candidate 1"}).status());

  const std::string s = absl::StrCat(search_id_);
  const std::string r = absl::StrCat(root.id()), c = absl::StrCat(child.id());
  EXPECT_EQ(Rows("SELECT search_id, name, state, seed, config_toml FROM v1_searches"),
            std::vector<std::string>({s + "|test|" + "RUNNING|7|[model]\n"}));
  EXPECT_EQ(Rows("SELECT candidate_id, search_id, generation, parent_id, state, rung, mutation, "
                 "train_loss, val_loss, connections, steps, train_seconds, checkpoint_sha256, "
                 "error FROM v1_candidates ORDER BY candidate_id"),
            std::vector<std::string>(
                {r + "|" + s + "|0|NULL|DONE|0|initial|1.75|1.5|6|10|0.5|abcd|NULL",
                 c + "|" + s + "|1|" + r +
                     "|PENDING|0|pruned 1, sampled 1|NULL|NULL|NULL|NULL|NULL|NULL|NULL"}));
  const std::string h0 = absl::StrCat(root.genome().heads(0).id());
  const std::string h2 = absl::StrCat(root.genome().heads(2).id());
  const std::string h_new = absl::StrCat(child.genome().heads(2).id());
  EXPECT_EQ(Rows("SELECT head_id, search_id, layer, offsets, k, origin, sampler, sampler_params, "
                 "source_head_id, created_candidate_id, extra_key_width FROM v1_heads "
                 "WHERE head_id IN (" + h0 + ", " + h_new + ") ORDER BY head_id"),
            std::vector<std::string>(
                {h0 + "|" + s + "|0|-3,-1|2|INITIAL|UNIFORM|k~normal(3,1)|NULL|" + r + "|0",
                 h_new + "|" + s + "|0|-4|1|SAMPLED|BEST|near|" + absl::StrCat(pruned) + "|" +
                     c + "|0"}));
  EXPECT_EQ(Rows("SELECT candidate_id, slot, head_id, layer, origin FROM v1_candidate_heads "
                 "WHERE candidate_id = " + c + " ORDER BY slot"),
            std::vector<std::string>({c + "|0|" + h0 + "|0|INHERITED",
                                      c + "|1|" + h2 + "|1|INHERITED",
                                      c + "|2|" + h_new + "|0|SAMPLED"}));
  EXPECT_EQ(Rows("SELECT candidate_id, head_id, layer, entropy, independence, weight_norm, "
                 "importance, most_similar_head_id FROM v1_head_stats WHERE head_id = " + h0),
            std::vector<std::string>({r + "|" + h0 + "|0|0.25|0.5|1.0|2.0|NULL"}));
  EXPECT_EQ(Rows("SELECT parent_id, child_id, search_id, generation, mutation "
                 "FROM v1_lineage_edges"),
            std::vector<std::string>({r + "|" + c + "|" + s + "|1|pruned 1, sampled 1"}));
  EXPECT_EQ(Rows("SELECT candidate_id, position, head_id FROM v1_pruned_heads"),
            std::vector<std::string>({c + "|0|" + absl::StrCat(pruned)}));
  EXPECT_EQ(Rows("SELECT search_id, time_ms, kind, message FROM v1_events"),
            std::vector<std::string>({s + "|400|new_best|candidate 1"}));
  EXPECT_EQ(Rows("SELECT candidate_id, rung, steps, tokens, train_loss, val_loss, train_seconds, "
                 "checkpoint_sha256, finished_ms FROM v1_rung_results"),
            std::vector<std::string>({r + "|0|10|640|1.75|1.5|0.5|abcd|300"}));
}

// One check per fact: the view list above is the schema's, and docs/schema.md has a section
// for each (ctest sets HEADEVO_SOURCE_DIR).
TEST_F(ViewsTest, DocsSchemaMdDocumentsEveryView) {
  const char* source_dir = std::getenv("HEADEVO_SOURCE_DIR");
  if (source_dir == nullptr) GTEST_SKIP() << "HEADEVO_SOURCE_DIR is not set";
  const std::string doc = ReadFileBytes(std::string(source_dir) + "/docs/schema.md");
  ASSERT_FALSE(doc.empty()) << "docs/schema.md is missing";
  for (const std::string& view : kViews) {
    EXPECT_NE(doc.find("### `" + view + "`"), std::string::npos)
        << "docs/schema.md has no section for " << view;
  }
}

}  // namespace
}  // namespace headevo::testing
