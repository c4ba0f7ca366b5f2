// `headevo curve CANDIDATE`: a candidate's learning curve in the terminal, one point per rung
// it finished (multi-fidelity; a search without rungs has the one point of its full budget).
#ifndef HEADEVO_CLI_LEARNING_CURVE_H_
#define HEADEVO_CLI_LEARNING_CURVE_H_

#include <string>

#include "headevo/v1/candidate.pb.h"

namespace headevo::cli {

// A table of the rungs (rung, steps, tokens, val_loss, train_loss, seconds, checkpoint) and,
// with two rungs or more, val_loss plotted against steps. A candidate with no rung finished
// says so and what state it is in.
std::string FormatLearningCurve(const headevo::v1::Candidate& candidate);

}  // namespace headevo::cli

#endif  // HEADEVO_CLI_LEARNING_CURVE_H_
