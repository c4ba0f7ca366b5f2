#include "search/evaluated_index.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace headevo::search {

using headevo::v1::Candidate;

bool EvaluatedIndex::Rank::operator<(const Rank& other) const {
  if (rung != other.rung) return rung > other.rung;
  if (fitness != other.fitness) return fitness < other.fitness;
  return id < other.id;
}

EvaluatedIndex::EvaluatedIndex(const SelectionOptions& options, bool fitness_may_change)
    : options_(options), fitness_may_change_(fitness_may_change) {}

void EvaluatedIndex::Reset() {
  synced_ = 0;
  first_id_ = last_id_ = 0;
  pending_.clear();
  evaluated_.clear();
  by_fitness_.clear();
  position_of_.clear();
}

bool EvaluatedIndex::Settle(size_t position) {
  const Candidate& c = (*population_)[position];
  if (c.state() == headevo::v1::CANDIDATE_STATE_FAILED) return true;
  if (c.state() != headevo::v1::CANDIDATE_STATE_DONE) return false;
  evaluated_.insert(std::upper_bound(evaluated_.begin(), evaluated_.end(), position), position);
  if (!fitness_may_change_) {
    const double f = Fitness(c, options_);
    by_fitness_.insert(
        {c.rung(), std::isnan(f) ? std::numeric_limits<double>::infinity() : f, c.id(), position});
  }
  return true;
}

bool EvaluatedIndex::Sync(const std::vector<Candidate>& population) {
  const bool continues =
      population.size() >= synced_ &&
      (synced_ == 0 ||
       (population.front().id() == first_id_ && population[synced_ - 1].id() == last_id_));
  if (!continues) Reset();
  population_ = &population;
  // Those still training when last seen, then the new ones, in creation order.
  std::vector<size_t> still_pending;
  for (size_t position : pending_) {
    if (!Settle(position)) still_pending.push_back(position);
  }
  for (size_t position = synced_; position < population.size(); ++position) {
    position_of_[population[position].id()] = position;
    if (!Settle(position)) still_pending.push_back(position);
  }
  pending_ = std::move(still_pending);
  synced_ = population.size();
  if (synced_ > 0) {
    first_id_ = population.front().id();
    last_id_ = population.back().id();
  }
  return continues;
}

std::vector<const Candidate*> EvaluatedIndex::Evaluated() const {
  std::vector<const Candidate*> done;
  done.reserve(evaluated_.size());
  for (size_t position : evaluated_) done.push_back(&(*population_)[position]);
  return done;
}

std::vector<const Candidate*> EvaluatedIndex::Fittest(int limit) const {
  const size_t keep = std::min(evaluated_.size(), static_cast<size_t>(std::max(limit, 0)));
  std::vector<const Candidate*> fittest;
  fittest.reserve(keep);
  if (!fitness_may_change_) {
    for (auto it = by_fitness_.begin(); fittest.size() < keep; ++it) {
      fittest.push_back(&(*population_)[it->position]);
    }
    return fittest;
  }
  std::vector<const Candidate*> done = Evaluated();
  std::partial_sort(done.begin(), done.begin() + keep, done.end(),
                    [&](const Candidate* a, const Candidate* b) {
                      return IsFitter(*a, *b, options_);
                    });
  done.resize(keep);
  return done;
}

const Candidate* EvaluatedIndex::Find(int64_t id) const {
  auto it = position_of_.find(id);
  return it == position_of_.end() ? nullptr : &(*population_)[it->second];
}

}  // namespace headevo::search
