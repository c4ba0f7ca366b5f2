// Searches, candidates, heads and lineage: what InsertCandidates writes and the readers rebuild.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"
#include "tests/storage/candidate_builders.h"
#include "tests/storage/storage_test_util.h"
#include "tests/testutil/status_matchers.h"

namespace headevo::testing {
namespace {

using google::protobuf::util::MessageDifferencer;
using headevo::v1::Candidate;
using headevo::v1::HEAD_ORIGIN_INHERITED;
using headevo::v1::HEAD_ORIGIN_INITIAL;
using headevo::v1::HEAD_ORIGIN_SAMPLED;
using storage::SearchRecord;

std::vector<int64_t> Ids(const std::vector<Candidate>& candidates) {
  std::vector<int64_t> ids;
  for (const Candidate& c : candidates) ids.push_back(c.id());
  return ids;
}

std::vector<int64_t> HeadIds(const Candidate& c) {
  std::vector<int64_t> ids;
  for (const auto& head : c.genome().heads()) ids.push_back(head.id());
  return ids;
}

TEST_F(StoreTest, CreatesAndGetsSearches) {
  SearchRecord record{0, "big", "[search]\nseed = 1\n", std::numeric_limits<uint64_t>::max(),
                      headevo::v1::SEARCH_STATE_PAUSED};
  ASSERT_OK_AND_ASSIGN(int64_t id, store_->CreateSearch(record));
  EXPECT_EQ(id, search_id_ + 1);
  ASSERT_OK_AND_ASSIGN(SearchRecord got, store_->GetSearch(id));
  EXPECT_EQ(got.id, id);
  EXPECT_EQ(got.name, "big");
  EXPECT_EQ(got.config_toml, "[search]\nseed = 1\n");
  EXPECT_EQ(got.seed, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(got.state, headevo::v1::SEARCH_STATE_PAUSED);

  ASSERT_OK(store_->SetSearchState(id, headevo::v1::SEARCH_STATE_DONE));
  ASSERT_OK_AND_ASSIGN(got, store_->GetSearch(id));
  EXPECT_EQ(got.state, headevo::v1::SEARCH_STATE_DONE);
}

TEST_F(StoreTest, UnknownSearchIsNotFoundNamingTheId) {
  EXPECT_TRUE(IsError(store_->GetSearch(4242).status(), absl::StatusCode::kNotFound, "4242"));
  EXPECT_TRUE(IsError(store_->SetSearchState(4242, headevo::v1::SEARCH_STATE_DONE),
                      absl::StatusCode::kNotFound, "4242"));
  EXPECT_TRUE(IsError(store_->ListCandidates(4242).status(), absl::StatusCode::kNotFound, "4242"));
  EXPECT_TRUE(IsError(store_->InsertCandidates({MakeRoot(4242)}).status(),
                      absl::StatusCode::kNotFound, "search 4242"));
}

TEST_F(StoreTest, UnspecifiedSearchStateIsRejected) {
  SearchRecord record{0, "x", "", 1, headevo::v1::SEARCH_STATE_UNSPECIFIED};
  EXPECT_EQ(store_->CreateSearch(record).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->SetSearchState(search_id_, headevo::v1::SEARCH_STATE_UNSPECIFIED).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, InitialCandidatesGetIdsAndReadBackExactly) {
  ASSERT_OK_AND_ASSIGN(std::vector<Candidate> written,
                       store_->InsertCandidates({MakeRoot(search_id_), MakeRoot(search_id_)}));
  ASSERT_EQ(written.size(), 2u);
  EXPECT_EQ(written[0].id(), 1);
  EXPECT_EQ(written[1].id(), 2);
  EXPECT_EQ(HeadIds(written[0]), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(HeadIds(written[1]), (std::vector<int64_t>{4, 5, 6}));
  const Candidate& root = written[0];
  EXPECT_EQ(root.state(), headevo::v1::CANDIDATE_STATE_PENDING);
  EXPECT_EQ(std::vector<int>(root.mutation().added_head_slots().begin(),
                             root.mutation().added_head_slots().end()),
            (std::vector<int>{0, 1, 2}));
  for (const auto& head : root.genome().heads()) EXPECT_EQ(head.origin(), HEAD_ORIGIN_INITIAL);

  ASSERT_OK_AND_ASSIGN(Candidate got, store_->GetCandidate(root.id()));
  EXPECT_TRUE(MessageDifferencer::Equals(got, root)) << "got:\n"
                                                     << got.DebugString() << "written:\n"
                                                     << root.DebugString();
  EXPECT_EQ(got.genome().heads(1).offsets().offsets_size(), 3);
  EXPECT_EQ(got.genome().heads(1).offsets().offsets(0), -17);
  EXPECT_FALSE(got.has_metrics());

  ASSERT_OK_AND_ASSIGN(std::vector<Candidate> listed, store_->ListCandidates(search_id_));
  EXPECT_EQ(Ids(listed), (std::vector<int64_t>{1, 2}));
}

TEST_F(StoreTest, ChildRecordsInheritedNewAndPrunedHeads) {
  Candidate root = Insert(MakeRoot(search_id_));
  const int64_t pruned_id = root.genome().heads(1).id();
  const int64_t also_pruned_id = root.genome().heads(0).id();
  Candidate child_in = MakeCandidate(
      search_id_, 1, root.id(), 2,
      {Carry(root, 2),
       NewHead(0, {-9, -4}, HEAD_ORIGIN_SAMPLED, headevo::v1::SAMPLER_BEST, "shift +1", pruned_id),
       NewHead(0, {-2}, HEAD_ORIGIN_SAMPLED, headevo::v1::SAMPLER_FITTED, "t(3)")},
      {pruned_id, also_pruned_id}, "prune 2, resample 2");
  Candidate child = Insert(child_in);
  ASSERT_NE(child.id(), 0);

  EXPECT_EQ(child.parent_id(), root.id());
  ASSERT_EQ(child.genome().heads_size(), 3);
  EXPECT_EQ(child.genome().heads(0).id(), root.genome().heads(2).id());
  EXPECT_EQ(child.genome().heads(0).origin(), HEAD_ORIGIN_INHERITED);
  EXPECT_EQ(child.genome().heads(1).origin(), HEAD_ORIGIN_SAMPLED);
  EXPECT_EQ(child.genome().heads(1).sampler(), headevo::v1::SAMPLER_BEST);
  EXPECT_EQ(child.genome().heads(1).source_head_id(), pruned_id);
  EXPECT_EQ(child.genome().heads(2).sampler(), headevo::v1::SAMPLER_FITTED);
  EXPECT_GT(child.genome().heads(1).id(), root.genome().heads(2).id());
  EXPECT_EQ(std::vector<int>(child.mutation().added_head_slots().begin(),
                             child.mutation().added_head_slots().end()),
            (std::vector<int>{1, 2}));
  EXPECT_EQ(std::vector<int64_t>(child.mutation().pruned_head_ids().begin(),
                                 child.mutation().pruned_head_ids().end()),
            (std::vector<int64_t>{pruned_id, also_pruned_id}));  // the order given

  ASSERT_OK_AND_ASSIGN(Candidate got, store_->GetCandidate(child.id()));
  EXPECT_TRUE(MessageDifferencer::Equals(got, child)) << "got:\n"
                                                      << got.DebugString() << "written:\n"
                                                      << child.DebugString();
  EXPECT_EQ(got.mutation().description(), "prune 2, resample 2");
  EXPECT_EQ(got.genome().heads(1).sampler_params(), "shift +1");

  // The carried head is still, as a head, the INITIAL one its creator made.
  ASSERT_OK_AND_ASSIGN(headevo::v1::Head carried, store_->GetHead(child.genome().heads(0).id()));
  EXPECT_EQ(carried.origin(), HEAD_ORIGIN_INITIAL);
  ASSERT_OK_AND_ASSIGN(headevo::v1::Head sampled, store_->GetHead(child.genome().heads(1).id()));
  EXPECT_EQ(sampled.origin(), HEAD_ORIGIN_SAMPLED);
  EXPECT_EQ(sampled.source_head_id(), pruned_id);
  EXPECT_EQ(sampled.offsets().offsets(0), -9);
  EXPECT_TRUE(IsError(store_->GetHead(999).status(), absl::StatusCode::kNotFound, "999"));

  EXPECT_EQ(CountRows("pruned_heads"), 2);
  EXPECT_EQ(CountRows("heads"), 5);
}

TEST_F(StoreTest, ListsEveryHeadAppearanceInOrder) {
  Candidate root = Insert(MakeRoot(search_id_));
  Candidate child =
      Insert(MakeCandidate(search_id_, 1, root.id(), 2,
                           {Carry(root, 0), NewHead(1, {-4}, HEAD_ORIGIN_SAMPLED), Carry(root, 2)},
                           {root.genome().heads(1).id()}));
  ASSERT_OK_AND_ASSIGN(std::vector<storage::CandidateHeadRow> rows,
                       store_->ListCandidateHeads(search_id_));
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows[0].candidate_id, root.id());
  EXPECT_EQ(rows[0].origin, HEAD_ORIGIN_INITIAL);
  EXPECT_EQ(rows[3].candidate_id, child.id());
  EXPECT_EQ(rows[3].head_id, root.genome().heads(0).id());
  EXPECT_EQ(rows[3].origin, HEAD_ORIGIN_INHERITED);
  EXPECT_EQ(rows[4].slot, 1);
  EXPECT_EQ(rows[4].origin, HEAD_ORIGIN_SAMPLED);
  EXPECT_EQ(rows[5].head_id, root.genome().heads(2).id());
}

TEST_F(StoreTest, HeadFromAnotherSearchIsRejectedAndNothingIsWritten) {
  Candidate root = Insert(MakeRoot(search_id_));
  ASSERT_OK_AND_ASSIGN(int64_t other_search, store_->CreateSearch({0, "other", "", 8}));
  const int64_t foreign_head = root.genome().heads(0).id();
  const int64_t candidates = CountRows("candidates"), heads = CountRows("heads"),
                appearances = CountRows("candidate_heads");

  Candidate thief = MakeCandidate(other_search, 0, 0, 2,
                                  {root.genome().heads(0), NewHead(1, {-1}, HEAD_ORIGIN_INITIAL)});
  // A valid candidate first in the batch: it must not land either.
  absl::StatusOr<std::vector<Candidate>> written =
      store_->InsertCandidates({MakeRoot(other_search), thief});
  EXPECT_TRUE(IsError(written.status(), absl::StatusCode::kInvalidArgument,
                      absl::StrCat("head ", foreign_head)));
  EXPECT_TRUE(IsError(written.status(), absl::StatusCode::kInvalidArgument, "candidates[1]"));

  EXPECT_EQ(CountRows("candidates"), candidates);
  EXPECT_EQ(CountRows("heads"), heads);
  EXPECT_EQ(CountRows("candidate_heads"), appearances);
  ASSERT_OK_AND_ASSIGN(std::vector<Candidate> listed, store_->ListCandidates(other_search));
  EXPECT_TRUE(listed.empty());
}

TEST_F(StoreTest, RejectsInconsistentCandidates) {
  Candidate root = Insert(MakeRoot(search_id_));
  const int64_t r0 = root.genome().heads(0).id();
  struct Case {
    const char* name;
    Candidate candidate;
    const char* message;
  };
  Candidate with_id = MakeRoot(search_id_);
  with_id.set_id(77);
  Candidate moved_head = MakeCandidate(search_id_, 1, root.id(), 2, {Carry(root, 0)});
  moved_head.mutable_genome()->mutable_heads(0)->set_layer(1);
  const std::vector<Case> cases = {
      {"candidate id set", with_id, "77"},
      {"unknown head",
       MakeCandidate(search_id_, 1, root.id(), 2,
                     {Carry(root, 0),
                      [] {
                        auto h = NewHead(0, {-1}, HEAD_ORIGIN_INHERITED);
                        h.set_id(999);
                        return h;
                      }()}),
       "head 999 does not exist"},
      {"unknown parent", MakeCandidate(search_id_, 1, 555, 2, {Carry(root, 0)}),
       "parent candidate 555"},
      {"layer out of range",
       MakeCandidate(search_id_, 0, 0, 2, {NewHead(2, {-1}, HEAD_ORIGIN_INITIAL)}), "layer 2"},
      {"unsorted offsets",
       MakeCandidate(search_id_, 0, 0, 2, {NewHead(0, {-1, -3}, HEAD_ORIGIN_INITIAL)}), "sorted"},
      {"empty offsets", MakeCandidate(search_id_, 0, 0, 2, {NewHead(0, {}, HEAD_ORIGIN_INITIAL)}),
       "empty"},
      {"new head claims INHERITED",
       MakeCandidate(search_id_, 0, 0, 2, {NewHead(0, {-1}, HEAD_ORIGIN_INHERITED)}),
       "INITIAL, SAMPLED or GROWN"},
      {"head twice", MakeCandidate(search_id_, 1, root.id(), 2, {Carry(root, 0), Carry(root, 0)}),
       "appears at slots 0 and 1"},
      {"carried head changed", moved_head, "is stored as layer 0"},
      {"pruned head not in parent",
       MakeCandidate(search_id_, 1, root.id(), 2, {Carry(root, 1)}, {12345}), "12345"},
      {"pruned head still present",
       MakeCandidate(search_id_, 1, root.id(), 2, {Carry(root, 0)}, {r0}), "still in the genome"},
      {"pruned without parent",
       MakeCandidate(search_id_, 0, 0, 2, {NewHead(0, {-1}, HEAD_ORIGIN_INITIAL)}, {r0}),
       "without a parent"},
      {"unknown source head",
       MakeCandidate(search_id_, 0, 0, 2,
                     {NewHead(0, {-1}, HEAD_ORIGIN_SAMPLED, headevo::v1::SAMPLER_BEST, "", 888)}),
       "source head 888"},
  };
  const int64_t heads = CountRows("heads");
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_TRUE(IsError(store_->InsertCandidates({c.candidate}).status(),
                        absl::StatusCode::kInvalidArgument, c.message));
  }
  EXPECT_EQ(CountRows("candidates"), 1);
  EXPECT_EQ(CountRows("heads"), heads);
}

TEST_F(StoreTest, ParentFromAnotherSearchIsRejected) {
  Candidate root = Insert(MakeRoot(search_id_));
  ASSERT_OK_AND_ASSIGN(int64_t other_search, store_->CreateSearch({0, "other", "", 8}));
  Candidate child =
      MakeCandidate(other_search, 1, root.id(), 2, {NewHead(0, {-1}, HEAD_ORIGIN_SAMPLED)});
  EXPECT_TRUE(IsError(store_->InsertCandidates({child}).status(),
                      absl::StatusCode::kInvalidArgument,
                      absl::StrCat("belongs to search ", search_id_)));
}

TEST_F(StoreTest, AncestorsRunFromChildToRoot) {
  Candidate root = Insert(MakeRoot(search_id_));
  Candidate sibling = Insert(MakeRoot(search_id_));
  Candidate mid = Insert(
      MakeCandidate(search_id_, 1, root.id(), 2, {Carry(root, 0), Carry(root, 1), Carry(root, 2)}));
  Candidate leaf =
      Insert(MakeCandidate(search_id_, 2, mid.id(), 2,
                           {Carry(mid, 0), NewHead(0, {-6}, HEAD_ORIGIN_SAMPLED), Carry(mid, 2)},
                           {mid.genome().heads(1).id()}));

  ASSERT_OK_AND_ASSIGN(std::vector<Candidate> lineage, store_->Ancestors(leaf.id()));
  EXPECT_EQ(Ids(lineage), (std::vector<int64_t>{leaf.id(), mid.id(), root.id()}));
  EXPECT_TRUE(MessageDifferencer::Equals(lineage[0], leaf));
  EXPECT_EQ(lineage[2].genome().heads(0).id(), leaf.genome().heads(0).id());  // same head id
  ASSERT_OK_AND_ASSIGN(lineage, store_->Ancestors(sibling.id()));
  EXPECT_EQ(Ids(lineage), (std::vector<int64_t>{sibling.id()}));
  EXPECT_TRUE(IsError(store_->Ancestors(31337).status(), absl::StatusCode::kNotFound, "31337"));
  EXPECT_TRUE(IsError(store_->GetCandidate(31337).status(), absl::StatusCode::kNotFound,
                      "candidate 31337"));
}

}  // namespace
}  // namespace headevo::testing
