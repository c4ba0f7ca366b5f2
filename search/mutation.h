// The best sampler's mutation: a copy of a top head with one move applied (an offset shifted,
// a free position added, or an offset dropped). How far a shift may go is constant, or grows
// with the offset's distance from the query, so a search can fine-tune a near offset by one
// position and still move a far one (the row above in an image, -28) across a useful range.
#ifndef HEADEVO_SEARCH_MUTATION_H_
#define HEADEVO_SEARCH_MUTATION_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "headevo/v1/genome.pb.h"
#include "search/head_sampler.h"
#include "search/random.h"

namespace headevo::search {

enum class ShiftScaling {
  kConstant,      // every offset moves by 1..max_shift
  kProportional,  // offset o moves by 1..max(1, round(|o| * shift_fraction))
};

// "constant", "proportional"; InvalidArgument naming both for any other.
absl::StatusOr<ShiftScaling> ParseShiftScaling(std::string_view name);
std::string_view ShiftScalingName(ShiftScaling scaling);

// One of three moves, chosen with these relative weights among the moves possible for the head.
struct MutationOptions {
  double shift_weight = 1.0;
  double add_weight = 1.0;
  double drop_weight = 1.0;
  // constant: a shifted offset moves by 1..max_shift positions, either way.
  int max_shift = 2;
  ShiftScaling shift_scaling = ShiftScaling::kConstant;
  // proportional: the largest shift of offset o is max(1, round(|o| * shift_fraction)), so
  // offsets nearer than 1.5 / shift_fraction move by exactly 1. In (0, 1].
  double shift_fraction = 0.25;

  absl::Status Validate() const;
};

// The largest distance `offset` may be shifted by under `options`.
int MaxShift(const MutationOptions& options, int offset);

// `source` with one move applied, sorted; `move` receives its description ("shift -5->-6",
// "add -3", "drop -7", or "unmutated (no allowed move)"). Every offset of the result is one of
// AllowedOffsets(dist) and unique: a shift lands only on a free allowed position, so no move
// makes a duplicate or leaves the window. Constant shifts are drawn uniformly among every
// (offset, target) pair; proportional ones pick the offset uniformly first, so far offsets,
// which have more targets, are not shifted more often than near ones.
std::vector<int> MutateOffsets(const headevo::v1::OffsetSet& source, const HeadDistribution& dist,
                               const MutationOptions& options, Rng& rng, std::string* move);

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_MUTATION_H_
