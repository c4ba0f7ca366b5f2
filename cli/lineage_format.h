// Text for `headevo lineage CANDIDATE --format tree|dot|json`.
//
// Each function takes a GetLineageResponse as SearchService returns it: `ancestors` holds the
// candidate asked about first, then its parent, and so on up to the root, as full Candidates with
// genomes; `descendants` holds the candidate's subtree depth-first, the candidate itself first at
// depth 0, and may be empty. Pure: no I/O, any thread; the same response gives the same text,
// which ends with a newline. Missing or NaN values print as "-" or "nan" and never fail.
#ifndef HEADEVO_CLI_LINEAGE_FORMAT_H_
#define HEADEVO_CLI_LINEAGE_FORMAT_H_

#include <string>

#include "headevo/v1/search_service.pb.h"

namespace headevo::cli {

// The ancestry from the root down to the candidate, one "└─ " step deeper per generation:
//   #3 gen 0 val_loss 0.1528 conn 19
//   └─ #9 gen 1 val_loss 0.0800 conn 20  prune 1, add 1
//      - head 17 layer 0 offsets {-3,-1}
//      + head 31 layer 0 offsets {-5,-2} sampler best from head 12
// Under each child, the heads it pruned (looked up in its parent's genome for their offsets) and
// the heads it added. Then, when the candidate has descendants, their subtree drawn by depth.
// No ancestors: a one-line note saying so.
std::string FormatLineageTree(const headevo::v1::GetLineageResponse& response);

// Graphviz DOT, `digraph lineage { ... }`: one node per candidate (ancestors and descendants,
// each once) labelled with id, val_loss and connections; one edge per parent -> child labelled
// with a short mutation summary ("-2 +2 best") and the full description as its tooltip. The
// candidate asked about is filled. Every label is quoted and escaped, so any text is valid DOT.
std::string FormatLineageDot(const headevo::v1::GetLineageResponse& response);

// The response as pretty-printed JSON with the proto field names (ancestors, val_loss, ...),
// which JsonStringToMessage reads back into an equal message. If the conversion fails:
// {"error": "<why>"}.
std::string FormatLineageJson(const headevo::v1::GetLineageResponse& response);

}  // namespace headevo::cli

#endif  // HEADEVO_CLI_LINEAGE_FORMAT_H_
