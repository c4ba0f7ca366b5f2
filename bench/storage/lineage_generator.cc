#include "bench/storage/lineage_generator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace headevo::bench_storage {

std::string FakeSha256(int64_t candidate_id) {
  uint64_t x = static_cast<uint64_t>(candidate_id);
  std::string hex;
  for (int i = 0; i < 4; ++i) {
    x += 0x9e3779b97f4a7c15ULL;  // splitmix64
    uint64_t z = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    char part[17];
    std::snprintf(part, sizeof part, "%016llx", static_cast<unsigned long long>(z ^ (z >> 31)));
    hex += part;
  }
  return hex;
}

std::vector<Candidate> LineageGenerator::Generation(int generation, int size,
                                  const std::vector<Candidate>& parents) {
  std::vector<Candidate> out;
  out.reserve(size);
  std::uniform_int_distribution<size_t> pick(0, parents.empty() ? 0 : parents.size() - 1);
  for (int i = 0; i < size; ++i) {
    out.push_back(parents.empty() ? Root() : Child(parents[pick(rng_)], generation));
  }
  return out;
}

std::vector<storage::NewJob> LineageGenerator::Jobs(const std::vector<Candidate>& candidates) {
  std::vector<storage::NewJob> jobs(candidates.size());
  for (size_t i = 0; i < candidates.size(); ++i) {
    jobs[i].training = training_;
    jobs[i].training.set_seed(rng_());
    if (candidates[i].parent_id() != 0) {
      jobs[i].parent_checkpoint_sha256 = FakeSha256(candidates[i].parent_id());
    }
  }
  return jobs;
}

EvaluationResult LineageGenerator::Result(const Candidate& candidate) {
  EvaluationResult result;
  result.set_candidate_id(candidate.id());
  headevo::v1::Metrics& m = *result.mutable_metrics();
  std::normal_distribution<double> noise(0.0, 0.05);
  m.set_val_loss(3.0 - 0.001 * candidate.generation() + noise(rng_));
  m.set_train_loss(m.val_loss() - 0.02 + noise(rng_) / 5);
  m.set_steps(training_.steps());
  m.set_train_seconds(std::uniform_real_distribution<double>(20.0, 40.0)(rng_));
  int64_t connections = 0;
  for (const Head& head : candidate.genome().heads()) {
    connections += head.offsets().offsets_size();
    *result.add_head_stats() = Stats(candidate, head);
  }
  m.set_connections(connections);
  result.set_checkpoint_sha256(FakeSha256(candidate.id()));
  return result;
}

Candidate LineageGenerator::Root() {
  Candidate c;
  c.set_search_id(search_id_);
  c.mutable_genome()->set_num_layers(kNumLayers);
  for (int slot = 0; slot < heads_; ++slot) {
    Head& head = *c.mutable_genome()->add_heads();
    head.set_layer(LayerOfSlot(slot));
    head.set_origin(headevo::v1::HEAD_ORIGIN_INITIAL);
    head.set_sampler(headevo::v1::SAMPLER_UNIFORM);
    head.set_sampler_params("k~normal(4,1) off~uniform[-64,-1]");
    *head.mutable_offsets() = RandomOffsets();
  }
  c.mutable_mutation()->set_description("initial");
  return c;
}

Candidate LineageGenerator::Child(const Candidate& parent, int generation) {
  Candidate c;
  c.set_search_id(search_id_);
  c.set_generation(generation);
  c.set_parent_id(parent.id());
  *c.mutable_genome() = parent.genome();
  const int pruned = std::min(heads_, 1 + static_cast<int>(rng_() % 2));
  std::vector<int> slots(heads_);
  for (int i = 0; i < heads_; ++i) slots[i] = i;
  std::shuffle(slots.begin(), slots.end(), rng_);
  slots.resize(pruned);
  std::sort(slots.begin(), slots.end());
  std::vector<int64_t> pruned_ids;
  std::vector<std::string> samplers;
  for (int slot : slots) {
    pruned_ids.push_back(parent.genome().heads(slot).id());
    c.mutable_mutation()->add_pruned_head_ids(pruned_ids.back());
    Head& head = *c.mutable_genome()->mutable_heads(slot);
    head = Sampled(parent, head.layer(), slots);
    samplers.push_back(head.sampler() == headevo::v1::SAMPLER_BEST     ? "best"
                       : head.sampler() == headevo::v1::SAMPLER_FITTED ? "fitted"
                                                                       : "uniform");
  }
  c.mutable_mutation()->set_description(absl::StrCat(
      "prune head", pruned > 1 ? "s " : " ", absl::StrJoin(pruned_ids, ", "),
      " (lowest rank); add ", pruned, " sampled (", absl::StrJoin(samplers, ", "), ")"));
  return c;
}

Head LineageGenerator::Sampled(const Candidate& parent, int layer,
                               const std::vector<int>& pruned_slots) {
  Head head;
  head.set_layer(layer);
  head.set_origin(headevo::v1::HEAD_ORIGIN_SAMPLED);
  std::vector<const Head*> sources;
  for (int slot = 0; slot < parent.genome().heads_size(); ++slot) {
    const Head& h = parent.genome().heads(slot);
    const bool kept =
        std::find(pruned_slots.begin(), pruned_slots.end(), slot) == pruned_slots.end();
    if (kept && h.layer() == layer) sources.push_back(&h);
  }
  const uint64_t draw = rng_() % 10;
  if (draw < 5 && !sources.empty()) {
    const Head& source = *sources[rng_() % sources.size()];
    head.set_sampler(headevo::v1::SAMPLER_BEST);
    head.set_source_head_id(source.id());
    head.set_sampler_params("move 1 offset by ~uniform[-64,-1]");
    *head.mutable_offsets() = MoveOneOffset(source.offsets());
  } else {
    const bool fitted = draw < 8;
    head.set_sampler(fitted ? headevo::v1::SAMPLER_FITTED : headevo::v1::SAMPLER_UNIFORM);
    head.set_sampler_params(fitted ? "k~normal(4.2,0.9) off~mixture(3)"
                                   : "k~normal(4,1) off~uniform[-64,-1]");
    *head.mutable_offsets() = RandomOffsets();
  }
  return head;
}

headevo::v1::OffsetSet LineageGenerator::RandomOffsets() {
  const double k = std::normal_distribution<double>(4.0, 1.0)(rng_);
  const size_t size = static_cast<size_t>(std::clamp(std::lround(k), 2L, 6L));
  std::set<int32_t> offsets;
  while (offsets.size() < size) offsets.insert(RandomOffset());
  return ToOffsetSet(offsets);
}

headevo::v1::OffsetSet LineageGenerator::MoveOneOffset(const headevo::v1::OffsetSet& from) {
  std::set<int32_t> offsets(from.offsets().begin(), from.offsets().end());
  offsets.erase(from.offsets(static_cast<int>(rng_() % from.offsets_size())));
  while (static_cast<int>(offsets.size()) < from.offsets_size()) offsets.insert(RandomOffset());
  return ToOffsetSet(offsets);
}

headevo::v1::OffsetSet LineageGenerator::ToOffsetSet(const std::set<int32_t>& offsets) {
  headevo::v1::OffsetSet set;
  for (int32_t o : offsets) set.add_offsets(o);
  return set;  // std::set iterates in ascending order: sorted and unique
}

headevo::v1::HeadStats LineageGenerator::Stats(const Candidate& candidate, const Head& head) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  headevo::v1::HeadStats s;
  s.set_head_id(head.id());
  s.set_layer(head.layer());
  s.set_entropy(unit(rng_));
  s.set_independence(unit(rng_));
  s.set_weight_norm(std::normal_distribution<double>(1.0, 0.2)(rng_));
  s.set_importance(std::exponential_distribution<double>(100.0)(rng_));
  std::vector<int64_t> same_layer;
  for (const Head& other : candidate.genome().heads()) {
    if (other.layer() == head.layer() && other.id() != head.id()) {
      same_layer.push_back(other.id());
    }
  }
  if (!same_layer.empty()) s.set_most_similar_head_id(same_layer[rng_() % same_layer.size()]);
  return s;
}

}  // namespace headevo::bench_storage
