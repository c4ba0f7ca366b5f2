// A candidate with just what selection and Pareto code read: id, state, val_loss, connections.
#ifndef HEADEVO_TESTS_SEARCH_EVALUATED_CANDIDATE_H_
#define HEADEVO_TESTS_SEARCH_EVALUATED_CANDIDATE_H_

#include <cstdint>

#include "headevo/v1/candidate.pb.h"

namespace headevo::search::testing {

inline headevo::v1::Candidate Evaluated(
    int64_t id, double loss, int connections,
    headevo::v1::CandidateState state = headevo::v1::CANDIDATE_STATE_DONE) {
  headevo::v1::Candidate c;
  c.set_id(id);
  c.set_state(state);
  c.mutable_metrics()->set_val_loss(loss);
  c.mutable_metrics()->set_connections(connections);
  return c;
}

}  // namespace headevo::search::testing

#endif  // HEADEVO_TESTS_SEARCH_EVALUATED_CANDIDATE_H_
