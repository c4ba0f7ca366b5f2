// A batch of candidates written in one call (one transaction): the writer reads each parent and
// head once per batch (LineageCache) and, from SqliteStore::kBatchWithoutForeignKeys
// candidates on, runs without SQLite's foreign key enforcement. So a batch must come out
// exactly as the same candidates written one at a time, refuse the same bad ones, and leave
// every reference intact with foreign keys back on.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "google/protobuf/util/message_differencer.h"
#include "storage/job_types.h"
#include "tests/storage/candidate_builders.h"
#include "tests/storage/storage_test_util.h"
#include "tests/testutil/status_matchers.h"

namespace headevo::testing {
namespace {

using google::protobuf::util::MessageDifferencer;
using headevo::v1::Candidate;
using headevo::v1::HEAD_ORIGIN_GROWN;
using headevo::v1::HEAD_ORIGIN_SAMPLED;

class BatchTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    ASSERT_OK_AND_ASSIGN(std::vector<Candidate> roots,
                         store_->InsertCandidates({MakeRoot(search_id_), MakeRoot(search_id_)}));
    a_ = roots[0];
    b_ = roots[1];
  }

  // `size` children of a_ and b_ in turns, sharing parents as a generation does: carried
  // heads, sampled heads with a source in the parent and in the other root, grown heads, pruned
  // ones. The default is large enough to be written without foreign key enforcement.
  std::vector<Candidate> Generation(
      size_t size = storage::SqliteStore::kBatchWithoutForeignKeys) const {
    std::vector<Candidate> children;
    for (size_t i = 0; i < size; ++i) {
      const Candidate& parent = i % 2 == 0 ? a_ : b_;
      const Candidate& other = i % 2 == 0 ? b_ : a_;
      std::vector<headevo::v1::Head> heads = {Carry(parent, 0), Carry(parent, 2)};
      heads.push_back(NewHead(0, {-9, -1 - static_cast<int32_t>(i % 8)}, HEAD_ORIGIN_SAMPLED,
                              headevo::v1::SAMPLER_BEST, "", parent.genome().heads(0).id()));
      heads.push_back(NewHead(1, {-4}, HEAD_ORIGIN_SAMPLED, headevo::v1::SAMPLER_BEST, "",
                              other.genome().heads(1).id()));
      if (i % 3 == 1) {
        headevo::v1::Head grown = Carry(parent, 1);
        grown.set_id(0);
        grown.set_origin(HEAD_ORIGIN_GROWN);
        grown.set_source_head_id(parent.genome().heads(1).id());
        grown.set_extra_key_width(8);
        heads.push_back(grown);
      }
      children.push_back(MakeCandidate(search_id_, 1, parent.id(), 2, heads,
                                       {parent.genome().heads(1).id()}, "child"));
    }
    return children;
  }

  Candidate a_, b_;
};

TEST_F(BatchTest, ABatchEqualsTheSameCandidatesWrittenOneByOne) {
  std::unique_ptr<storage::SqliteStore> one_by_one;
  ASSERT_OK_AND_ASSIGN(one_by_one, storage::SqliteStore::Open(":memory:", {}));
  ASSERT_OK(one_by_one->CreateSearch({0, "test", "[model]\n", 7}).status());
  ASSERT_OK(one_by_one->InsertCandidates({MakeRoot(search_id_), MakeRoot(search_id_)}).status());

  // A batch written without foreign key enforcement, then one written with it.
  for (size_t size : {storage::SqliteStore::kBatchWithoutForeignKeys, size_t{5}}) {
    const std::vector<Candidate> generation = Generation(size);
    ASSERT_OK_AND_ASSIGN(std::vector<Candidate> batch, store_->InsertCandidates(generation));
    ASSERT_EQ(batch.size(), generation.size());
    for (size_t i = 0; i < generation.size(); ++i) {
      ASSERT_OK_AND_ASSIGN(std::vector<Candidate> single,
                           one_by_one->InsertCandidates({generation[i]}));
      EXPECT_TRUE(MessageDifferencer::Equals(batch[i], single[0]))
          << "batch:\n"
          << batch[i].DebugString() << "one by one:\n"
          << single[0].DebugString();
      ASSERT_OK_AND_ASSIGN(Candidate stored, store_->GetCandidate(batch[i].id()));
      ASSERT_OK_AND_ASSIGN(Candidate stored_single, one_by_one->GetCandidate(single[0].id()));
      EXPECT_TRUE(MessageDifferencer::Equals(stored, stored_single)) << stored.DebugString();
      EXPECT_TRUE(MessageDifferencer::Equals(stored, batch[i])) << "returned as stored";
    }
  }
}

TEST_F(BatchTest, AChildIsCheckedAgainstItsOwnParentNotAnotherOneInTheBatch) {
  std::vector<Candidate> generation = Generation();
  // Child 1 (of b_) prunes a head of a_, which child 0 (of a_) pruned legitimately.
  generation[1].mutable_mutation()->set_pruned_head_ids(0, a_.genome().heads(1).id());
  EXPECT_TRUE(IsError(store_->InsertCandidates(generation).status(),
                      absl::StatusCode::kInvalidArgument, "candidates[1]"));
  generation = Generation();
  // Child 3 (of b_) grows a head of a_: the source must be a head of its own parent.
  headevo::v1::Head grown = Carry(a_, 1);
  grown.set_id(0);
  grown.set_origin(HEAD_ORIGIN_GROWN);
  grown.set_source_head_id(a_.genome().heads(1).id());
  *generation[3].mutable_genome()->add_heads() = grown;
  EXPECT_TRUE(IsError(store_->InsertCandidates(generation).status(),
                      absl::StatusCode::kInvalidArgument, "candidates[3]"));
  EXPECT_EQ(CountRows("candidates"), 2) << "a refused batch writes nothing";
  EXPECT_EQ(CountRows("heads"), 6);
}

TEST_F(BatchTest, ReferencesHoldAndForeignKeysAreBackOnAfterABatch) {
  const std::vector<Candidate> generation = Generation();
  std::vector<storage::NewJob> jobs(generation.size());
  for (storage::NewJob& job : jobs) job.training.set_steps(10);
  ASSERT_OK(store_->InsertCandidatesWithJobs(generation, jobs, 1000).status());
  std::vector<Candidate> bad = generation;
  bad.back().set_parent_id(4242);
  EXPECT_TRUE(IsError(store_->InsertCandidatesWithJobs(bad, jobs, 2000).status(),
                      absl::StatusCode::kInvalidArgument, "parent candidate 4242"));

  ASSERT_OK_AND_ASSIGN(int64_t dangling, store_->database().QueryInt64(
                                             "SELECT count(*) FROM pragma_foreign_key_check"));
  EXPECT_EQ(dangling, 0);
  ASSERT_OK_AND_ASSIGN(int64_t foreign_keys, store_->database().QueryInt64("PRAGMA foreign_keys"));
  EXPECT_EQ(foreign_keys, 1);
  // And enforced: a row naming a candidate that does not exist is refused by SQLite itself.
  EXPECT_FALSE(store_->database()
                   .Exec("INSERT INTO pruned_heads(candidate_id, position, head_id) "
                         "VALUES (4242, 0, 1)",
                         "inserting a dangling row")
                   .ok());
  EXPECT_EQ(CountRows("candidates"), 2 + static_cast<int64_t>(generation.size()));
  EXPECT_EQ(CountRows("jobs"), static_cast<int64_t>(generation.size()));
}

}  // namespace
}  // namespace headevo::testing
