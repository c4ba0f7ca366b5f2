#include "search/local_prior.h"

#include <cmath>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"

namespace headevo::search {

absl::Status LocalBlock::Validate(int window) const {
  if (width < 0 || width > window) {
    return absl::InvalidArgumentError(
        absl::StrCat("local_width must be in [0, window ", window, "], got ", width));
  }
  if (!(probability >= 0.0 && probability <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("local_probability must be in [0, 1], got ", probability));
  }
  return absl::OkStatus();
}

std::vector<int> LocalBlockOffsets(const LocalBlock& block, const std::vector<int>& allowed) {
  std::vector<int> offsets;
  for (int offset : allowed) {
    if (offset != 0 && std::abs(offset) <= block.width) offsets.push_back(offset);
  }
  return offsets;
}

bool DrawsLocalBlock(const LocalBlock& block, Rng& rng) {
  if (!block.enabled() || block.probability <= 0.0) return false;
  if (block.probability >= 1.0) return true;
  return rng.Uniform() < block.probability;
}

std::string DescribeLocalBlock(const LocalBlock& block) {
  if (!block.enabled()) return "";
  if (block.probability >= 1.0) return absl::StrCat("local(", block.width, ")+");
  return absl::StrCat("local(", block.width, ",p=", block.probability, ")+");
}

}  // namespace headevo::search
