// Part "fidelity" of search_quality: multi-fidelity at equal compute on the planted-offset
// task. For each seed, four searches with the same budget of training steps: evolution with
// rungs (ASHA promotions), evolution without, random search with rungs (plain ASHA) and
// random search without; for each, the training steps spent until its best candidate (the
// coordinator's: highest rung, then fitness) first holds every planted offset.
#ifndef HEADEVO_BENCH_SEARCH_QUALITY_FIDELITY_H_
#define HEADEVO_BENCH_SEARCH_QUALITY_FIDELITY_H_

#include "bench/search_quality/common.h"

namespace headevo::search_quality {

// Prints a line per search, a table, and
//   RESULT part=fidelity seeds=<n> ... steps_ratio=<with/without> rungs_all=<seeds solved>
// `evaluator` must keep checkpoints (promotions continue from them). Exits on a failed search.
void RunFidelity(const Flags& flags, headevo::search::Evaluator& evaluator);

}  // namespace headevo::search_quality

#endif  // HEADEVO_BENCH_SEARCH_QUALITY_FIDELITY_H_
