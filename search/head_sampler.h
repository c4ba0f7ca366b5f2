// The search's initial distribution over heads, and the uniform sampler that draws from it:
// a count k ~ G, then k unique offsets ~ C inside the window (seed 000's "first research").
#ifndef HEADEVO_SEARCH_HEAD_SAMPLER_H_
#define HEADEVO_SEARCH_HEAD_SAMPLER_H_

#include <string>

#include "absl/status/status.h"
#include "headevo/v1/genome.pb.h"
#include "search/random.h"

namespace headevo::search {

enum class CountDistribution {
  kFixed,   // k = mean_k
  kNormal,  // k = round(N(mean_k, stddev_k)), clipped to [1, available positions]
};

enum class OffsetDistribution {
  kUniform,  // |offset| uniform in [1, window]
  kNormal,   // |offset| = 1 + |N(0, offset_stddev)|, clipped to the window: short range favoured
};

struct InitialDistribution {
  CountDistribution count = CountDistribution::kNormal;
  double mean_k = 3.0;
  double stddev_k = 1.0;  // only for kNormal
  OffsetDistribution offsets = OffsetDistribution::kUniform;
  double offset_stddev = 8.0;  // only for kNormal
  // Offsets lie in [-window, window] (causal: [-window, 0]); 0 means the query's own position.
  int window = 16;
  // Causal heads only look back (offsets <= 0).
  bool causal = true;
  // Whether offset 0 (the query's own position) may be drawn.
  bool allow_zero = false;

  // InvalidArgument naming the field when a value is out of range.
  absl::Status Validate() const;
  // How many distinct offsets the window allows.
  int AvailablePositions() const;
};

// Draws one offset set: sorted, unique, within the window. Requires dist.Validate().ok().
headevo::v1::OffsetSet SampleOffsetSet(const InitialDistribution& dist, Rng& rng);

// A fresh head in `layer` (id 0, sampler UNIFORM, origin as given), its parameters recorded.
headevo::v1::Head SampleUniformHead(const InitialDistribution& dist, int layer,
                                    headevo::v1::HeadOrigin origin, Rng& rng);

// "k~normal(3,1) offsets~uniform[-16,-1]": recorded with every sampled head for the lineage.
std::string DescribeDistribution(const InitialDistribution& dist);

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_HEAD_SAMPLER_H_
