// Part "brown" of search_quality: evolution against a random k-sweep and fixed sparse baselines
// on byte-level language modelling of the Brown corpus.
#ifndef HEADEVO_BENCH_SEARCH_QUALITY_BROWN_H_
#define HEADEVO_BENCH_SEARCH_QUALITY_BROWN_H_

#include "bench/search_quality/common.h"

namespace headevo::search_quality {

// Runs the k-sweep (which trains dense), evolution and the baselines; prints both Pareto fronts,
// their hypervolumes and dominance, the best head sets within 1/8 of dense's connections, and
// the RESULT part=brown line. Exits the program when a search fails.
void RunBrown(const Flags& flags, headevo::search::Evaluator& evaluator);

}  // namespace headevo::search_quality

#endif  // HEADEVO_BENCH_SEARCH_QUALITY_BROWN_H_
