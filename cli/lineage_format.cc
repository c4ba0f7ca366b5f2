#include "cli/lineage_format.h"

#include <algorithm>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/formatting.h"
#include "google/protobuf/util/json_util.h"

namespace headevo::cli {
namespace {

using headevo::v1::Candidate;
using headevo::v1::CandidateSummary;
using headevo::v1::GetLineageResponse;

// Connections count only once a worker has measured them.
std::string CandidateConnections(const Candidate& c) {
  if (c.state() != headevo::v1::CANDIDATE_STATE_DONE) return "-";
  return absl::StrCat(c.metrics().connections());
}

std::string NodeLabel(int64_t id, int generation, const std::string& loss, const std::string& conn,
                      const std::string& mutation) {
  std::string label = absl::StrFormat("#%d gen %d val_loss %s conn %s", id, generation, loss, conn);
  if (!mutation.empty()) absl::StrAppend(&label, "  ", OneLine(mutation, 80));
  return label;
}

std::string NodeLabel(const Candidate& c) {
  return NodeLabel(c.id(), c.generation(), FormatLoss(c.state(), c.metrics().val_loss()),
                   CandidateConnections(c), c.mutation().description());
}

std::string NodeLabel(const CandidateSummary& c) {
  return NodeLabel(c.id(), c.generation(), FormatLoss(c.state(), c.val_loss()),
                   absl::StrCat(c.connections()), c.mutation());
}

std::string HeadText(const headevo::v1::Head& head) {
  std::string text = absl::StrFormat("head %d layer %d offsets %s", head.id(), head.layer(),
                                     FormatOffsets(head.offsets()));
  if (head.extra_key_width() > 0) absl::StrAppend(&text, " d_k +", head.extra_key_width());
  return text;
}

// The "- head ..." and "+ head ..." lines of one child. `parent` (null for the root or when the
// response stops short of it) supplies the offsets of the heads the child pruned.
std::vector<std::string> MutationLines(const Candidate& child, const Candidate* parent) {
  std::vector<std::string> lines;
  for (int64_t pruned_id : child.mutation().pruned_head_ids()) {
    std::string line = absl::StrCat("- head ", pruned_id);
    if (parent != nullptr) {
      for (const headevo::v1::Head& head : parent->genome().heads()) {
        if (head.id() == pruned_id) line = absl::StrCat("- ", HeadText(head));
      }
    }
    lines.push_back(line);
  }
  for (int slot : child.mutation().added_head_slots()) {
    if (slot < 0 || slot >= child.genome().heads_size()) {
      lines.push_back(absl::StrCat("+ slot ", slot, " (not in the genome)"));
      continue;
    }
    const headevo::v1::Head& head = child.genome().heads(slot);
    std::string line = absl::StrCat("+ ", HeadText(head), " sampler ", SamplerName(head.sampler()));
    if (head.source_head_id() != 0) absl::StrAppend(&line, " from head ", head.source_head_id());
    lines.push_back(line);
  }
  return lines;
}

// For each node of a depth-first list: whether no later sibling follows it, i.e. whether it is
// drawn with "└─" rather than "├─". Walks backwards, forgetting deeper levels at each node
// because a node ends the sibling groups below it.
std::vector<bool> IsLastSibling(const std::vector<int>& depths) {
  std::vector<bool> last(depths.size());
  std::vector<bool> sibling_follows;
  for (size_t i = depths.size(); i-- > 0;) {
    const size_t d = static_cast<size_t>(std::max(depths[i], 0));
    if (sibling_follows.size() <= d) sibling_follows.resize(d + 1, false);
    last[i] = !sibling_follows[d];
    sibling_follows.resize(d + 1);
    sibling_follows[d] = true;
  }
  return last;
}

std::string DescendantTree(const GetLineageResponse& response) {
  std::vector<int> depths;
  for (const CandidateSummary& c : response.descendants()) depths.push_back(c.depth());
  const std::vector<bool> last = IsLastSibling(depths);
  std::vector<bool> ancestor_is_last;  // by depth: whether that level's open node was the last
  std::string out;
  for (int i = 0; i < response.descendants_size(); ++i) {
    const size_t d = static_cast<size_t>(std::max(depths[i], 0));
    if (ancestor_is_last.size() <= d) ancestor_is_last.resize(d + 1, true);
    ancestor_is_last[d] = last[i];
    std::string prefix;
    for (size_t k = 1; k < d; ++k) absl::StrAppend(&prefix, ancestor_is_last[k] ? "   " : "│  ");
    if (d > 0) absl::StrAppend(&prefix, last[i] ? "└─ " : "├─ ");
    absl::StrAppend(&out, prefix, NodeLabel(response.descendants(i)), "\n");
  }
  return out;
}

// "-2 +2 best": heads pruned, heads added, and the samplers that made them.
std::string MutationSummary(const Candidate& child) {
  std::vector<std::string> samplers;
  for (int slot : child.mutation().added_head_slots()) {
    if (slot < 0 || slot >= child.genome().heads_size()) continue;
    const std::string name = SamplerName(child.genome().heads(slot).sampler());
    if (std::find(samplers.begin(), samplers.end(), name) == samplers.end()) {
      samplers.push_back(name);
    }
  }
  std::string summary = absl::StrFormat("-%d +%d", child.mutation().pruned_head_ids_size(),
                                        child.mutation().added_head_slots_size());
  if (!samplers.empty()) absl::StrAppend(&summary, " ", absl::StrJoin(samplers, ","));
  return summary;
}

// A DOT double-quoted string: quotes and backslashes escaped (so user text cannot end the string
// or start a DOT escape such as \N), line breaks turned into spaces.
std::string DotQuote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c == '\n' || c == '\r' ? ' ' : c);
  }
  return out + "\"";
}

// Lines of a DOT label, joined with DOT's own line break after each is escaped.
std::string DotLabel(const std::vector<std::string>& lines) {
  std::vector<std::string> quoted;
  for (const std::string& line : lines) {
    const std::string q = DotQuote(line);
    quoted.push_back(q.substr(1, q.size() - 2));
  }
  return absl::StrCat("\"", absl::StrJoin(quoted, "\\n"), "\"");
}

std::string JsonQuote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      absl::StrAppend(&out, "\\", std::string(1, c));
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppendFormat(&out, "\\u%04x", static_cast<int>(c));
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

}  // namespace

std::string FormatLineageTree(const GetLineageResponse& response) {
  const int n = response.ancestors_size();
  if (n == 0) return "no lineage: the response names no candidate\n";
  std::string out;
  // ancestors runs candidate -> root; the tree runs root -> candidate, one level per step.
  for (int level = 0; level < n; ++level) {
    const Candidate& node = response.ancestors(n - 1 - level);
    const Candidate* parent = level > 0 ? &response.ancestors(n - level) : nullptr;
    const std::string indent(3 * std::max(level - 1, 0), ' ');
    absl::StrAppend(&out, indent, level > 0 ? "└─ " : "", NodeLabel(node), "\n");
    for (const std::string& line : MutationLines(node, parent)) {
      absl::StrAppend(&out, std::string(3 * level, ' '), line, "\n");
    }
  }
  if (response.descendants_size() > 1) {
    absl::StrAppend(&out, "\ndescendants of #", response.ancestors(0).id(), ":\n",
                    DescendantTree(response));
  }
  return out;
}

std::string FormatLineageDot(const GetLineageResponse& response) {
  const int64_t asked = response.ancestors_size() > 0     ? response.ancestors(0).id()
                        : response.descendants_size() > 0 ? response.descendants(0).id()
                                                          : 0;
  std::string nodes;
  std::string edges;
  std::set<int64_t> seen_nodes;
  std::set<std::pair<int64_t, int64_t>> seen_edges;
  const auto add_node = [&](int64_t id, const std::string& loss, const std::string& conn) {
    if (!seen_nodes.insert(id).second) return;
    absl::StrAppend(&nodes, "  c", id, " [label=",
                    DotLabel({absl::StrCat("#", id), "val_loss " + loss, "conn " + conn}),
                    id == asked ? ", style=filled, fillcolor=gold" : "", "];\n");
  };
  const auto add_edge = [&](int64_t parent, int64_t child, const std::string& label,
                            const std::string& tooltip) {
    if (parent == 0 || !seen_edges.insert({parent, child}).second) return;
    absl::StrAppend(&edges, "  c", parent, " -> c", child, " [label=", DotQuote(label),
                    ", tooltip=", DotQuote(OneLine(tooltip, 200)), "];\n");
  };
  for (int i = response.ancestors_size() - 1; i >= 0; --i) {
    const Candidate& c = response.ancestors(i);
    add_node(c.id(), FormatLoss(c.state(), c.metrics().val_loss()), CandidateConnections(c));
    if (i + 1 < response.ancestors_size()) {
      add_edge(response.ancestors(i + 1).id(), c.id(), MutationSummary(c),
               c.mutation().description());
    }
  }
  for (const CandidateSummary& c : response.descendants()) {
    add_node(c.id(), FormatLoss(c.state(), c.val_loss()), absl::StrCat(c.connections()));
    if (c.depth() > 0) add_edge(c.parent_id(), c.id(), OneLine(c.mutation(), 30), c.mutation());
  }
  return absl::StrCat("digraph lineage {\n  node [shape=box, fontname=\"monospace\"];\n", nodes,
                      edges, "}\n");
}

std::string FormatLineageJson(const GetLineageResponse& response) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  std::string json;
  const auto status = google::protobuf::util::MessageToJsonString(response, &json, options);
  if (!status.ok()) return absl::StrCat("{\"error\": ", JsonQuote(status.ToString()), "}\n");
  if (json.empty() || json.back() != '\n') json.push_back('\n');
  return json;
}

}  // namespace headevo::cli
