// Small builders for the protos the storage tests write, and a fixture with an in-memory store.
#ifndef HEADEVO_TESTS_STORAGE_CANDIDATE_BUILDERS_H_
#define HEADEVO_TESTS_STORAGE_CANDIDATE_BUILDERS_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "headevo/v1/candidate.pb.h"
#include "storage/sqlite_store.h"
#include "tests/testutil/status_matchers.h"

namespace headevo::testing {

inline headevo::v1::Head NewHead(int layer, std::initializer_list<int32_t> offsets,
                                 headevo::v1::HeadOrigin origin,
                                 headevo::v1::SamplerKind sampler = headevo::v1::SAMPLER_UNIFORM,
                                 const std::string& params = "k~normal(3,1)",
                                 int64_t source_head_id = 0) {
  headevo::v1::Head head;
  head.set_layer(layer);
  for (int32_t offset : offsets) head.mutable_offsets()->add_offsets(offset);
  head.set_origin(origin);
  head.set_sampler(sampler);
  head.set_sampler_params(params);
  head.set_source_head_id(source_head_id);
  return head;
}

// A head of `parent` as a child genome carries it: a plain copy, still with the parent's
// origin (storage must turn it into INHERITED).
inline headevo::v1::Head Carry(const headevo::v1::Candidate& parent, int slot) {
  return parent.genome().heads(slot);
}

inline headevo::v1::Candidate MakeCandidate(int64_t search_id, int generation, int64_t parent_id,
                                            int num_layers,
                                            const std::vector<headevo::v1::Head>& heads,
                                            const std::vector<int64_t>& pruned = {},
                                            const std::string& description = "") {
  headevo::v1::Candidate candidate;
  candidate.set_search_id(search_id);
  candidate.set_generation(generation);
  candidate.set_parent_id(parent_id);
  candidate.mutable_genome()->set_num_layers(num_layers);
  for (const headevo::v1::Head& head : heads) *candidate.mutable_genome()->add_heads() = head;
  for (int64_t id : pruned) candidate.mutable_mutation()->add_pruned_head_ids(id);
  candidate.mutable_mutation()->set_description(description);
  return candidate;
}

// A gen-0 candidate with three INITIAL heads over two layers.
inline headevo::v1::Candidate MakeRoot(int64_t search_id) {
  using headevo::v1::HEAD_ORIGIN_INITIAL;
  return MakeCandidate(
      search_id, 0, 0, 2,
      {NewHead(0, {-3, -1}, HEAD_ORIGIN_INITIAL), NewHead(0, {-17, -5, -2}, HEAD_ORIGIN_INITIAL),
       NewHead(1, {-1}, HEAD_ORIGIN_INITIAL)},
      {}, "initial");
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(store_, storage::SqliteStore::Open(":memory:", {}));
    ASSERT_OK_AND_ASSIGN(search_id_, store_->CreateSearch({0, "test", "[model]\n", 7}));
  }

  // Inserts one candidate, failing the test on error.
  headevo::v1::Candidate Insert(const headevo::v1::Candidate& candidate) {
    absl::StatusOr<std::vector<headevo::v1::Candidate>> written =
        store_->InsertCandidates({candidate});
    EXPECT_TRUE(written.ok()) << written.status();
    if (!written.ok() || written->size() != 1) return {};
    return written->front();
  }

  int64_t CountRows(const std::string& table) {
    absl::StatusOr<int64_t> count = store_->database().QueryInt64("SELECT count(*) FROM " + table);
    EXPECT_TRUE(count.ok()) << count.status();
    return count.value_or(-1);
  }

  std::unique_ptr<storage::SqliteStore> store_;
  int64_t search_id_ = 0;
};

}  // namespace headevo::testing

#endif  // HEADEVO_TESTS_STORAGE_CANDIDATE_BUILDERS_H_
