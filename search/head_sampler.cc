#include "search/head_sampler.h"

#include <set>
#include <vector>

#include "absl/strings/str_cat.h"

namespace headevo::search {
namespace {

bool HasNegativeSide(const HeadDistribution& dist) {
  return dist.causal || dist.negative_fraction > 0.0;
}

bool HasPositiveSide(const HeadDistribution& dist) {
  return !dist.causal && dist.negative_fraction < 1.0;
}

// -1 or +1 for a non-zero offset.
int DrawSign(const HeadDistribution& dist, Rng& rng) {
  if (!HasPositiveSide(dist)) return -1;
  if (!HasNegativeSide(dist)) return 1;
  // Mirrored heads keep the draw of earlier versions, so their seeds give the same heads.
  if (dist.negative_fraction == 0.5) return rng.UniformInt(0, 1) == 0 ? -1 : 1;
  return rng.Uniform() < dist.negative_fraction ? -1 : 1;
}

// One candidate offset; the caller rejects duplicates.
int DrawOffset(const HeadDistribution& dist, Rng& rng) {
  if (dist.allow_zero) {
    // Offset 0 gets the same chance as any single other position.
    if (rng.UniformInt(0, dist.AvailablePositions() - 1) == 0) return 0;
  }
  const int magnitude = SampleMagnitude(dist.offsets, dist.window, rng);
  return DrawSign(dist, rng) * magnitude;
}

}  // namespace

std::vector<int> AllowedOffsets(const HeadDistribution& dist) {
  std::vector<int> positions;
  if (HasNegativeSide(dist)) {
    for (int offset = -dist.window; offset <= -1; ++offset) positions.push_back(offset);
  }
  if (dist.allow_zero) positions.push_back(0);
  if (HasPositiveSide(dist)) {
    for (int offset = 1; offset <= dist.window; ++offset) positions.push_back(offset);
  }
  return positions;
}

int HeadDistribution::AvailablePositions() const {
  const int sides = (HasNegativeSide(*this) ? 1 : 0) + (HasPositiveSide(*this) ? 1 : 0);
  return sides * window + (allow_zero ? 1 : 0);
}

absl::Status HeadDistribution::Validate() const {
  if (window < 1) {
    return absl::InvalidArgumentError(absl::StrCat("window must be >= 1, got ", window));
  }
  if (auto s = count.Validate(); !s.ok()) return s;
  if (!(negative_fraction >= 0.0 && negative_fraction <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("negative_fraction must be in [0, 1], got ", negative_fraction));
  }
  if (count.mean > AvailablePositions()) {
    return absl::InvalidArgumentError(absl::StrCat("k mean ", count.mean, " exceeds the ",
                                                   AvailablePositions(),
                                                   " positions the window allows"));
  }
  if (auto s = local.Validate(window); !s.ok()) return s;
  if (auto s = layer_windows.Validate(); !s.ok()) return s;
  if (offsets.low > window) {
    return absl::InvalidArgumentError(
        absl::StrCat("offset low ", offsets.low, " exceeds the window ", window));
  }
  // With high = 0 resolved, offsets.Validate() can check that a dilated range holds a power.
  OffsetDistribution resolved = offsets;
  if (resolved.high == 0.0) resolved.high = window;
  return resolved.Validate();
}

HeadDistribution HeadDistribution::ForLayer(int layer) const {
  HeadDistribution resolved = *this;
  resolved.window = LayerWindow(window, layer_windows, layer);
  resolved.layer_windows.growth = 1.0;
  return resolved;
}

headevo::v1::OffsetSet SampleOffsetSet(const HeadDistribution& dist, Rng& rng) {
  const int k = SampleCount(dist.count, dist.AvailablePositions(), rng);
  std::set<int> chosen;
  if (DrawsLocalBlock(dist.local, rng)) {
    for (int offset : LocalBlockOffsets(dist.local, AllowedOffsets(dist))) chosen.insert(offset);
  }
  // A peaked offset distribution may need many draws for k unique offsets; past a bound the
  // remaining ones are filled uniformly so sampling always terminates.
  const int max_draws = 64 * k + 256;
  for (int draw = 0; static_cast<int>(chosen.size()) < k && draw < max_draws; ++draw) {
    chosen.insert(DrawOffset(dist, rng));
  }
  if (static_cast<int>(chosen.size()) < k) {
    std::vector<int> free;
    for (int offset : AllowedOffsets(dist)) {
      if (chosen.count(offset) == 0) free.push_back(offset);
    }
    // k <= AvailablePositions() == AllowedOffsets().size(), so `free` never runs out.
    while (static_cast<int>(chosen.size()) < k) {
      const auto i = static_cast<size_t>(rng.UniformInt(0, static_cast<int64_t>(free.size()) - 1));
      chosen.insert(free[i]);
      free[i] = free.back();
      free.pop_back();
    }
  }

  headevo::v1::OffsetSet set;
  for (int offset : chosen) set.add_offsets(offset);  // std::set iterates in sorted order
  return set;
}

headevo::v1::Head SampleUniformHead(const HeadDistribution& dist, int layer,
                                    headevo::v1::HeadOrigin origin, Rng& rng) {
  headevo::v1::Head head;
  head.set_layer(layer);
  *head.mutable_offsets() = SampleOffsetSet(dist, rng);
  head.set_origin(origin);
  head.set_sampler(headevo::v1::SAMPLER_UNIFORM);
  head.set_sampler_params(DescribeDistribution(dist));
  return head;
}

std::string DescribeDistribution(const HeadDistribution& dist) {
  const int lowest = HasNegativeSide(dist) ? -dist.window : (dist.allow_zero ? 0 : 1);
  const int highest = HasPositiveSide(dist) ? dist.window : (dist.allow_zero ? 0 : -1);
  std::string range = absl::StrCat("[", lowest, ",", highest, "]");
  if (HasNegativeSide(dist) && HasPositiveSide(dist) && dist.negative_fraction != 0.5) {
    absl::StrAppend(&range, " p(neg)=", dist.negative_fraction);
  }
  const OffsetDistribution& off = dist.offsets;
  // Uniform over the whole window reads as the signed range alone, as in earlier versions'
  // lineages ("uniform[-16,-1]").
  const bool whole_window = off.family == OffsetFamily::kUniform && off.low == 1.0 &&
                            (off.high == 0.0 || off.high == dist.window);
  const std::string local = DescribeLocalBlock(dist.local);
  if (whole_window) return absl::StrCat(DescribeCount(dist.count), " off~", local, "uniform", range);
  return absl::StrCat(DescribeCount(dist.count), " off~", local, DescribeOffsets(off, dist.window),
                      " in ", range);
}

}  // namespace headevo::search
