// The lineage figure of `headevo report` as Graphviz DOT: the best candidate's ancestors back to
// the root, each ancestor's other children (the siblings the chain beat, the best-scoring few),
// and the best candidate's children and grandchildren. Each node shows id, generation,
// val_loss, connections and its mutation in short ("-2 +2 best": heads pruned, heads added and
// by which sampler).
//
// Pure: no I/O; any thread. Every label is quoted and escaped, so any mutation text is valid
// DOT. A search with no evaluated candidate gives a one-node graph saying so.
#ifndef HEADEVO_CLI_REPORT_TREE_H_
#define HEADEVO_CLI_REPORT_TREE_H_

#include <string>

#include "cli/report_data.h"

namespace headevo::cli {

// At most this many other children per ancestor and descendants of the best; the rest are
// summed up in a "+N more" node, so the drawing stays readable in a large search.
inline constexpr int kMaxSiblingsShown = 4;
inline constexpr int kMaxDescendantsShown = 8;

std::string LineageTreeDot(const ReportData& data);

}  // namespace headevo::cli

#endif  // HEADEVO_CLI_REPORT_TREE_H_
