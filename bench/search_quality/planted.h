// Part "planted" of search_quality: evolution against random search on the planted-offset task.
#ifndef HEADEVO_BENCH_SEARCH_QUALITY_PLANTED_H_
#define HEADEVO_BENCH_SEARCH_QUALITY_PLANTED_H_

#include "bench/search_quality/common.h"

namespace headevo::search_quality {

// For each of flags.seeds seeds, one evolution and one random search with the same number of
// evaluations; prints a line per search, a table, and the RESULT part=planted line. Exits the
// program when a search fails.
void RunPlanted(const Flags& flags, headevo::search::Evaluator& evaluator);

}  // namespace headevo::search_quality

#endif  // HEADEVO_BENCH_SEARCH_QUALITY_PLANTED_H_
