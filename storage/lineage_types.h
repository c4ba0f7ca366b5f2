// Plain records the lineage queries return: small summaries of candidates (not whole genomes)
// so that walking a thousand ancestors or a whole search stays fast.
#ifndef HEADEVO_STORAGE_LINEAGE_TYPES_H_
#define HEADEVO_STORAGE_LINEAGE_TYPES_H_

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "headevo/v1/candidate.pb.h"
#include "headevo/v1/genome.pb.h"

namespace headevo::storage {

// One candidate as a node of the lineage tree.
struct LineageNode {
  int64_t candidate_id = 0;
  int64_t parent_id = 0;  // 0 for a root
  int generation = 0;
  headevo::v1::CandidateState state{};
  double val_loss = std::numeric_limits<double>::quiet_NaN();  // NaN until DONE (or diverged)
  int64_t connections = 0;                                     // 0 until DONE
  std::string mutation;                                        // the mutation's description
  int depth = 0;  // distance from the node the query started at
  int rung = 0;   // the highest rung finished (multi-fidelity); val_loss is this rung's
};

// One candidate that carried the head.
struct HeadAppearance {
  int64_t candidate_id = 0;
  int generation = 0;
  int slot = 0;
  headevo::v1::HeadOrigin origin{};  // INITIAL or SAMPLED where created, else INHERITED
  bool has_stats = false;            // the candidate's result gave statistics for the head
  headevo::v1::HeadStats stats;
};

// A child that dropped the head its parent carried.
struct HeadPruning {
  int64_t candidate_id = 0;  // the child
  int64_t parent_id = 0;
  int generation = 0;    // the child's
  std::string mutation;  // the child's mutation description (names the pruning rule)
};

// A head another one came from (through source_head_id), with what its growth step recorded.
struct HeadSource {
  headevo::v1::Head head;  // as first written
  int64_t created_candidate_id = 0;
  std::vector<headevo::v1::HeadGrowth> growth;  // records naming this head, candidate id order
};

struct HeadHistory {
  headevo::v1::Head head;  // as first written: origin, sampler, source head, extra_key_width
  int64_t search_id = 0;
  int64_t created_candidate_id = 0;
  std::vector<HeadAppearance> appearances;  // candidate id order; the first is the creator
  std::vector<HeadPruning> prunings;        // candidate id order
  std::vector<int64_t> copies;  // heads made from this one (best-sampler copies, grown heads)
  // What the growth step recorded for this head (a GROWN head: how it was widened; a new head
  // the gradient initialiser set up), candidate id order. Empty for most heads.
  std::vector<headevo::v1::HeadGrowth> growth;
  // The head's source, the source's source, ... up to a head without one: for a GROWN head the
  // narrower heads it grew from, each with its own growth records.
  std::vector<HeadSource> sources;
};

// How long heads carrying one offset lived, over one search.
struct OffsetSurvival {
  int layer = 0;
  int32_t offset = 0;
  int64_t heads = 0;        // distinct heads that had the offset
  int64_t appearances = 0;  // candidates that carried such a head
  // A head's lifetime: the last generation a candidate carried it, minus the generation that
  // created it, plus one.
  double mean_lifetime = 0.0;
  int max_lifetime = 0;
  int64_t alive = 0;  // of `heads`, how many a candidate of the newest generation carries
};

}  // namespace headevo::storage

#endif  // HEADEVO_STORAGE_LINEAGE_TYPES_H_
