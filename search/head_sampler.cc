#include "search/head_sampler.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"

namespace headevo::search {
namespace {

int DrawCount(const InitialDistribution& dist, Rng& rng) {
  double k = dist.mean_k;
  if (dist.count == CountDistribution::kNormal) k += dist.stddev_k * rng.Normal();
  const int rounded = static_cast<int>(std::lround(k));
  return std::clamp(rounded, 1, dist.AvailablePositions());
}

int DrawMagnitude(const InitialDistribution& dist, Rng& rng) {
  if (dist.offsets == OffsetDistribution::kUniform) {
    return static_cast<int>(rng.UniformInt(1, dist.window));
  }
  const double m = 1.0 + std::fabs(dist.offset_stddev * rng.Normal());
  return std::min(dist.window, static_cast<int>(std::floor(m)));
}

// One candidate offset; the caller rejects duplicates.
int DrawOffset(const InitialDistribution& dist, Rng& rng) {
  if (dist.allow_zero) {
    // Offset 0 gets the same chance as any single other position.
    if (rng.UniformInt(0, dist.AvailablePositions() - 1) == 0) return 0;
  }
  const int magnitude = DrawMagnitude(dist, rng);
  if (dist.causal) return -magnitude;
  return rng.UniformInt(0, 1) == 0 ? -magnitude : magnitude;
}

}  // namespace

int InitialDistribution::AvailablePositions() const {
  return (causal ? window : 2 * window) + (allow_zero ? 1 : 0);
}

absl::Status InitialDistribution::Validate() const {
  if (window < 1)
    return absl::InvalidArgumentError(absl::StrCat("window must be >= 1, got ", window));
  if (!(mean_k >= 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat("k mean must be >= 1, got ", mean_k));
  }
  if (mean_k > AvailablePositions()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "k mean ", mean_k, " exceeds the ", AvailablePositions(), " positions the window allows"));
  }
  if (!(stddev_k >= 0.0)) {
    return absl::InvalidArgumentError(absl::StrCat("k stddev must be >= 0, got ", stddev_k));
  }
  if (!(offset_stddev > 0.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("offset stddev must be > 0, got ", offset_stddev));
  }
  return absl::OkStatus();
}

headevo::v1::OffsetSet SampleOffsetSet(const InitialDistribution& dist, Rng& rng) {
  const int k = DrawCount(dist, rng);
  std::set<int> chosen;
  // A peaked offset distribution may need many draws for k unique offsets; past a bound the
  // remaining ones are filled uniformly so sampling always terminates.
  const int max_draws = 64 * k + 256;
  for (int draw = 0; static_cast<int>(chosen.size()) < k && draw < max_draws; ++draw) {
    chosen.insert(DrawOffset(dist, rng));
  }
  InitialDistribution uniform = dist;
  uniform.offsets = OffsetDistribution::kUniform;
  while (static_cast<int>(chosen.size()) < k) chosen.insert(DrawOffset(uniform, rng));

  headevo::v1::OffsetSet set;
  for (int offset : chosen) set.add_offsets(offset);  // std::set iterates in sorted order
  return set;
}

headevo::v1::Head SampleUniformHead(const InitialDistribution& dist, int layer,
                                    headevo::v1::HeadOrigin origin, Rng& rng) {
  headevo::v1::Head head;
  head.set_layer(layer);
  *head.mutable_offsets() = SampleOffsetSet(dist, rng);
  head.set_origin(origin);
  head.set_sampler(headevo::v1::SAMPLER_UNIFORM);
  head.set_sampler_params(DescribeDistribution(dist));
  return head;
}

std::string DescribeDistribution(const InitialDistribution& dist) {
  const std::string count = dist.count == CountDistribution::kFixed
                                ? absl::StrCat("k=", dist.mean_k)
                                : absl::StrCat("k~normal(", dist.mean_k, ",", dist.stddev_k, ")");
  const std::string shape = dist.offsets == OffsetDistribution::kUniform
                                ? std::string("uniform")
                                : absl::StrCat("halfnormal(", dist.offset_stddev, ")");
  const std::string range =
      dist.causal ? absl::StrCat("[-", dist.window, ",", dist.allow_zero ? 0 : -1, "]")
                  : absl::StrCat("[-", dist.window, ",", dist.window, "]");
  return absl::StrCat(count, " offsets~", shape, range);
}

}  // namespace headevo::search
