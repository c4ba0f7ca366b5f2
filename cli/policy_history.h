// How the CLI shows the learned offset policy (search/offset_policy.h) as it changed over a
// search: SearchSummary.policy_history, its bin distributions per layer, oldest first. `headevo
// status` prints each layer's first and newest distribution; `headevo report` draws them all.
//
// Pure: no I/O; any thread.
#ifndef HEADEVO_CLI_POLICY_HISTORY_H_
#define HEADEVO_CLI_POLICY_HISTORY_H_

#include <string>
#include <utility>
#include <vector>

#include "headevo/v1/search_service.pb.h"

namespace headevo::cli {

// One row per layer the policy has learned for: ("policy L0", "updates 0 -> 120: |offset|
// 0-1 .06->.02, 2-3 .12->.41, ..."). Empty when the search has no policy history.
std::vector<std::pair<std::string, std::string>> PolicyStatusRows(
    const headevo::v1::SearchSummary& summary);

// The report's gnuplot script: one row per (layer, distance bin), one column per snapshot
// (labelled by the updates it was taken after), colour and label = the bin's probability.
// A valid script with an empty frame when there is no history.
std::string PolicyScript(const headevo::v1::SearchSummary& summary);

}  // namespace headevo::cli

#endif  // HEADEVO_CLI_POLICY_HISTORY_H_
