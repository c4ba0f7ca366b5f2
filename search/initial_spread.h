// Generation 0 spread across k: candidate i of P draws heads whose mean k lies on a geometric
// scale from 1 (the first candidate) to every position of the window (the last), so the first
// Pareto front already reaches the cheap end, and a plain local window (every position of a
// short window) is among the first candidates rather than something evolution must assemble
// one offset at a time.
#ifndef HEADEVO_SEARCH_INITIAL_SPREAD_H_
#define HEADEVO_SEARCH_INITIAL_SPREAD_H_

#include <vector>

#include "headevo/v1/genome.pb.h"
#include "search/head_sampler.h"
#include "search/random.h"

namespace headevo::search {

// The mean k of candidate `index` (0-based) of `population` >= 2 in a layer with `max_k` >= 1
// positions: max_k^(index / (population - 1)), so 1 for the first candidate, max_k for the
// last, and equal ratios between neighbours.
double SpreadMeanK(int index, int population, int max_k);

// Generation 0: `population` genomes of `num_layers` x `heads_per_layer` heads. Without
// `spread_k` (or with one candidate) each is MakeInitialGenome(initial), the same draws as
// before spreading existed. With it, candidate i's heads in layer l are drawn from
// initial.ForLayer(l) with count.mean = SpreadMeanK(i, population, its AvailablePositions()):
// k's family and stddev stay as configured, and each head's parameters record its mean k.
std::vector<headevo::v1::Genome> MakeInitialPopulation(int num_layers, int heads_per_layer,
                                                       const HeadDistribution& initial,
                                                       int population, bool spread_k, Rng& rng);

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_INITIAL_SPREAD_H_
