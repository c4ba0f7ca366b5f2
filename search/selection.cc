#include "search/selection.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace headevo::search {

absl::Status SelectionOptions::Validate() const {
  if (num_parents < 1) {
    return absl::InvalidArgumentError(absl::StrCat("parents must be >= 1, got ", num_parents));
  }
  if (!(connection_cost >= 0.0) || !std::isfinite(connection_cost)) {
    return absl::InvalidArgumentError(
        absl::StrCat("connection_cost must be a finite number >= 0, got ", connection_cost));
  }
  return absl::OkStatus();
}

double Fitness(const headevo::v1::Candidate& candidate, const SelectionOptions& options) {
  return candidate.metrics().val_loss() +
         options.connection_cost * static_cast<double>(candidate.metrics().connections());
}

std::vector<const headevo::v1::Candidate*> RankByFitness(
    const std::vector<headevo::v1::Candidate>& population, const SelectionOptions& options,
    int limit) {
  std::vector<const headevo::v1::Candidate*> done;
  for (const auto& c : population) {
    if (c.state() == headevo::v1::CANDIDATE_STATE_DONE) done.push_back(&c);
  }
  std::sort(done.begin(), done.end(), [&](const auto* a, const auto* b) {
    const double fa = Fitness(*a, options), fb = Fitness(*b, options);
    if (fa != fb) return fa < fb;
    return a->id() < b->id();
  });
  if (static_cast<int>(done.size()) > limit) done.resize(limit);
  return done;
}

std::vector<const headevo::v1::Candidate*> SelectParents(
    const std::vector<headevo::v1::Candidate>& population, const SelectionOptions& options) {
  return RankByFitness(population, options, options.num_parents);
}

}  // namespace headevo::search
