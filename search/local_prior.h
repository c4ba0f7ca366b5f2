// The "local block plus far offsets" prior: a head that always (or with a set probability)
// attends to the positions nearest its query, and draws the rest of its offsets from its
// offset distribution beyond them. Real data (text, and images whose row above is a fixed
// offset away) rewards exactly this shape: a plain local window beats heads whose offsets are
// all drawn, yet some far offsets still pay for themselves.
#ifndef HEADEVO_SEARCH_LOCAL_PRIOR_H_
#define HEADEVO_SEARCH_LOCAL_PRIOR_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "search/random.h"

namespace headevo::search {

struct LocalBlock {
  // The block is every allowed offset with 1 <= |offset| <= width (causal: -width..-1;
  // bidirectional: both sides the head may look at). 0 = no block: every offset is drawn.
  int width = 0;
  // The chance that a head holds the block; otherwise all its offsets are drawn.
  double probability = 1.0;

  bool enabled() const { return width > 0; }
  // InvalidArgument naming the field: width in [0, window], probability in [0, 1].
  absl::Status Validate(int window) const;
};

// The block's offsets among `allowed` (ascending, as AllowedOffsets returns them): those with
// 1 <= |offset| <= block.width.
std::vector<int> LocalBlockOffsets(const LocalBlock& block, const std::vector<int>& allowed);

// Whether the next head holds the block: always when probability is 1 (without a draw, so a
// block that is always present costs no randomness), never when the block is disabled.
bool DrawsLocalBlock(const LocalBlock& block, Rng& rng);

// "local(4)+" or "local(4,p=0.5)+", prefixed to the far offsets' description; "" when disabled.
std::string DescribeLocalBlock(const LocalBlock& block);

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_LOCAL_PRIOR_H_
