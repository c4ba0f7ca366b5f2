// The synthetic search bench_storage writes: candidates, jobs and results, deterministic from
// the seed.
#ifndef HEADEVO_BENCH_STORAGE_LINEAGE_GENERATOR_H_
#define HEADEVO_BENCH_STORAGE_LINEAGE_GENERATOR_H_

#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "bench/storage/flags.h"
#include "search/search_options.h"
#include "storage/store.h"

namespace headevo::bench_storage {

using headevo::v1::Candidate;
using headevo::v1::EvaluationResult;
using headevo::v1::Head;

// A stand-in for a checkpoint's SHA-256: 64 hex digits, a pure function of the candidate id.
std::string FakeSha256(int64_t candidate_id);

// Candidates, jobs and results of a synthetic search, deterministic from the seed. A child
// carries its parent's heads by id, prunes 1 or 2 and puts as many new SAMPLED heads in their
// slots (same layer), so every genome keeps `heads` heads ordered by layer.
class LineageGenerator {
 public:
  LineageGenerator(const Flags& flags, int64_t search_id)
      : heads_(flags.heads), search_id_(search_id), rng_(flags.seed) {}

  // Generation 0 from nothing, or children of `parents` (the previous generation as stored).
  std::vector<Candidate> Generation(int generation, int size,
                                    const std::vector<Candidate>& parents);

  std::vector<storage::NewJob> Jobs(const std::vector<Candidate>& candidates);

  // Loss drifts down with the generation; every head gets statistics.
  EvaluationResult Result(const Candidate& candidate);

 private:
  int LayerOfSlot(int slot) const { return slot * kNumLayers / heads_; }

  Candidate Root();

  Candidate Child(const Candidate& parent, int generation);

  // A new head for `layer`: half mutate a kept head of the parent in that layer (BEST, with
  // source_head_id), the rest are drawn fresh (FITTED or UNIFORM).
  Head Sampled(const Candidate& parent, int layer, const std::vector<int>& pruned_slots);

  int32_t RandomOffset() { return std::uniform_int_distribution<int32_t>(kMinOffset, -1)(rng_); }

  // 2 to 6 distinct offsets in [-64, -1], sorted.
  headevo::v1::OffsetSet RandomOffsets();

  headevo::v1::OffsetSet MoveOneOffset(const headevo::v1::OffsetSet& from);

  static headevo::v1::OffsetSet ToOffsetSet(const std::set<int32_t>& offsets);

  headevo::v1::HeadStats Stats(const Candidate& candidate, const Head& head);

  const int heads_;
  const int64_t search_id_;
  const headevo::v1::TrainingSpec training_ = headevo::search::DefaultTrainingSpec();
  std::mt19937_64 rng_;
};

}  // namespace headevo::bench_storage

#endif  // HEADEVO_BENCH_STORAGE_LINEAGE_GENERATOR_H_
