// The distribution fresh heads are drawn from, and the sampler that draws them: a count
// k ~ G, then k unique offsets whose magnitudes follow C (seed 000's "first research"),
// optionally around a local block (local_prior.h), within a window that may grow with the
// layer's depth (layer_windows.h).
#ifndef HEADEVO_SEARCH_HEAD_SAMPLER_H_
#define HEADEVO_SEARCH_HEAD_SAMPLER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "headevo/v1/genome.pb.h"
#include "search/distributions.h"
#include "search/layer_windows.h"
#include "search/local_prior.h"
#include "search/random.h"

namespace headevo::search {

struct HeadDistribution {
  // k, clipped to [1, AvailablePositions()].
  CountDistribution count;
  // |offset|, in [1, window].
  OffsetDistribution offsets;
  // Bidirectional heads: the probability that an offset is negative (0.5: mirrored to +/-; 0 or
  // 1 keep one side only). Causal heads ignore it: their offsets are always negative.
  double negative_fraction = 0.5;
  // Offsets lie in [-window, window] (causal: [-window, 0]); 0 means the query's own position.
  int window = 16;
  // Causal heads only look back (offsets <= 0).
  bool causal = true;
  // Whether offset 0 (the query's own position) may be drawn; it gets the chance of any single
  // other position.
  bool allow_zero = false;
  // A head holding the local block holds every offset of it and draws k - |block| more
  // (none when k <= |block|) from `offsets`, beyond the block: k counts both, and such a head
  // has max(k, |block|) offsets. Disabled (width 0) by default.
  LocalBlock local;
  // `window` is layer 0's; deeper layers' grow by this (ForLayer). Growth 1 by default.
  LayerWindows layer_windows;

  // InvalidArgument naming the field when a value is out of range, including "k mean X exceeds
  // the N positions the window allows" and the errors of count, offsets, local and
  // layer_windows Validate().
  absl::Status Validate() const;
  // How many distinct offsets can be drawn (the side negative_fraction excludes does not count).
  int AvailablePositions() const;
  // The distribution of heads in `layer`: a copy whose window is LayerWindow(window,
  // layer_windows, layer) and whose layer_windows is reset to growth 1, so it is final. With
  // growth 1 it equals *this, so every draw is the same as without per-layer windows. Every
  // sampler draws, mutates and fits a layer's heads through it.
  HeadDistribution ForLayer(int layer) const;
};

// Every offset a head drawn from `dist` may hold, ascending: the window's sides that
// causality and negative_fraction leave open, and 0 when allow_zero.
std::vector<int> AllowedOffsets(const HeadDistribution& dist);

// Draws one offset set: sorted, unique, within the window, causal => all <= 0; with the local
// block when DrawsLocalBlock says so. Requires dist.Validate().ok(). Always terminates: when a
// peaked offset distribution keeps repeating itself (or keeps landing in the block), the
// offsets still missing after a bounded number of draws are filled uniformly from the
// positions not yet taken.
headevo::v1::OffsetSet SampleOffsetSet(const HeadDistribution& dist, Rng& rng);

// A fresh head in `layer` (id 0, sampler UNIFORM, origin as given), its parameters recorded.
headevo::v1::Head SampleUniformHead(const HeadDistribution& dist, int layer,
                                    headevo::v1::HeadOrigin origin, Rng& rng);

// Recorded with every sampled head for the lineage: "k~normal(3,1) off~gamma(shape=2,scale=4)
// in [-16,-1]"; uniform magnitudes over the whole window read "k~normal(3,1) off~uniform[-16,-1]";
// a local block is prefixed to the offsets: "k~normal(6,1) off~local(4)+log_uniform[1,16] in
// [-16,-1]". The window is dist.window: describe ForLayer(layer) for a layer's heads.
std::string DescribeDistribution(const HeadDistribution& dist);

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_HEAD_SAMPLER_H_
