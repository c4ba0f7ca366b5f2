// The digest of a worker's report that the store keeps with the job it completed, so that a
// report arriving again can be told apart: the same report (a retry after a lost reply) is
// answered "already recorded", a different one for the same lease is refused.
#ifndef HEADEVO_STORAGE_REPORT_DIGEST_H_
#define HEADEVO_STORAGE_REPORT_DIGEST_H_

#include <string>

#include "headevo/v1/candidate.pb.h"

namespace headevo::storage {

// SHA-256, in lower-case hex, of the result's deterministic serialization: the same message
// gives the same digest in every process of this build, whatever order its sender wrote
// fields in.
std::string ReportDigest(const headevo::v1::EvaluationResult& result);

}  // namespace headevo::storage

#endif  // HEADEVO_STORAGE_REPORT_DIGEST_H_
