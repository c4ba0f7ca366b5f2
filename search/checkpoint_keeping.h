// Which trained weights a running search may still need: the checkpoint-keeping rule beside
// selection, whose reach it mirrors. The coordinator keeps these, the parents of unfinished
// jobs and every search's best few; everything else may be collected.
#ifndef HEADEVO_SEARCH_CHECKPOINT_KEEPING_H_
#define HEADEVO_SEARCH_CHECKPOINT_KEEPING_H_

#include <string>
#include <vector>

#include "headevo/v1/candidate.pb.h"
#include "search/search_options.h"

namespace headevo::search {

// The checkpoints of the candidates selection may still pick as parents: truncation's
// num_parents fittest, aging's window of the newest evaluated, any evaluated one for
// tournaments; with [fidelity], also every candidate below the top rung (a promotion continues
// from its checkpoint). Candidates without a checkpoint are skipped; the order is unspecified
// and duplicates are possible.
std::vector<std::string> BreedableCheckpoints(const std::vector<headevo::v1::Candidate>& population,
                                              const SearchOptions& options);

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_CHECKPOINT_KEEPING_H_
