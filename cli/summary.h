// Human-readable text for a search: one progress line per candidate and the final summary.
#ifndef HEADEVO_CLI_SUMMARY_H_
#define HEADEVO_CLI_SUMMARY_H_

#include <string>

#include "headevo/v1/candidate.pb.h"
#include "search/search_options.h"
#include "server/embedded/search_driver.h"
#include "server/embedded/search_listener.h"

namespace headevo::cli {

// "[ 5/24] gen 1  #13  <- #4    loss 0.4123  conn 12    best #9 loss 0.3987 conn 14"
std::string FormatProgressLine(const server::CandidateProgress& progress);

// "{-11,-5} {-2} {-3,-1}": the heads of one layer; a grown head adds its extra query/key
// columns, "{-2}(d_k+8)".
std::string FormatLayerHeads(const headevo::v1::Genome& genome, int layer);

// The Pareto front of (val_loss, connections) and its hypervolume; "" if the front is empty.
std::string FormatParetoFront(const server::SearchOutcome& outcome);

// The k-sweep's table: each mean k, its losses, whether it held; then the smallest that held.
std::string FormatKSweep(const server::SearchOutcome& outcome);

// The closing summary: best candidate, its heads per layer, its loss beside the dense model's,
// the connections it keeps, and (for the planted-offset task) which planted offsets it covers.
std::string FormatSummary(const search::SearchOptions& options,
                          const server::SearchOutcome& outcome, double wall_seconds);

}  // namespace headevo::cli

#endif  // HEADEVO_CLI_SUMMARY_H_
