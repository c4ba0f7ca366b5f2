#include "cli/report_tree.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/formatting.h"

namespace headevo::cli {
namespace {

using headevo::v1::Candidate;
using headevo::v1::CandidateSummary;

// A DOT double-quoted string; "\n" in `text` stays a DOT line break, other escapes cannot start.
std::string Quote(const std::string& text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      out += "\\n";
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// "-2 +2 best" from the genome when we have it, else the stored description, cut short.
std::string ShortMutation(const CandidateSummary& c,
                          const std::map<int64_t, const Candidate*>& full) {
  if (c.parent_id() == 0) return "initial";
  auto it = full.find(c.id());
  if (it == full.end()) return OneLine(c.mutation(), 30);
  const Candidate& child = *it->second;
  std::vector<std::string> samplers;
  for (int slot : child.mutation().added_head_slots()) {
    if (slot < 0 || slot >= child.genome().heads_size()) continue;
    const std::string name = SamplerName(child.genome().heads(slot).sampler());
    if (std::find(samplers.begin(), samplers.end(), name) == samplers.end())
      samplers.push_back(name);
  }
  std::string out = absl::StrCat("-", child.mutation().pruned_head_ids_size(), " +",
                                 child.mutation().added_head_slots_size());
  if (!samplers.empty()) absl::StrAppend(&out, " ", absl::StrJoin(samplers, ","));
  return out;
}

std::string Node(const CandidateSummary& c, const std::map<int64_t, const Candidate*>& full,
                 const std::string& style) {
  const std::string conn =
      c.state() == headevo::v1::CANDIDATE_STATE_DONE ? absl::StrCat(c.connections()) : "-";
  const std::string label = absl::StrCat("#", c.id(), "  gen ", c.generation(), "\nloss ",
                                         FormatLoss(c.state(), c.val_loss()), "  conn ", conn, "\n",
                                         ShortMutation(c, full));
  return absl::StrCat("  c", c.id(), " [label=", Quote(label), ", tooltip=", Quote(c.mutation()),
                      style, "];\n");
}

// Lower loss first; unevaluated last.
bool Better(const CandidateSummary* a, const CandidateSummary* b) {
  const double la = std::isfinite(a->val_loss()) ? a->val_loss() : INFINITY;
  const double lb = std::isfinite(b->val_loss()) ? b->val_loss() : INFINITY;
  return la != lb ? la < lb : a->id() < b->id();
}

}  // namespace

std::string LineageTreeDot(const ReportData& data) {
  std::string dot =
      "digraph lineage {\n"
      "  graph [rankdir=TB, nodesep=0.25, ranksep=0.35, fontname=\"sans\", bgcolor=\"white\"];\n"
      "  node [shape=box, style=\"rounded,filled\", fontname=\"sans\", fontsize=10, "
      "fillcolor=\"#eeeeee\", color=\"#999999\", fontcolor=\"#333333\"];\n"
      "  edge [color=\"#888888\", arrowsize=0.6];\n";
  if (data.best_lineage.empty()) return dot + "  none [label=\"no evaluated candidate yet\"];\n}\n";

  std::map<int64_t, const CandidateSummary*> by_id;
  std::map<int64_t, std::vector<const CandidateSummary*>> children;
  for (const CandidateSummary& c : data.candidates) {
    by_id[c.id()] = &c;
    if (c.parent_id() != 0) children[c.parent_id()].push_back(&c);
  }
  for (auto& [parent, kids] : children) std::sort(kids.begin(), kids.end(), Better);
  std::map<int64_t, const Candidate*> full;
  for (const Candidate& c : data.evaluated) full[c.id()] = &c;
  for (const Candidate& c : data.best_lineage) full[c.id()] = &c;

  const int64_t best = data.best_lineage.front().id();
  std::set<int64_t> chain;
  for (const Candidate& c : data.best_lineage) chain.insert(c.id());
  std::string edges;
  auto add_more = [&](int64_t parent, int hidden, const char* what) {
    if (hidden <= 0) return;
    absl::StrAppend(&dot, "  more", parent, " [label=",
                    Quote(absl::StrCat("+", hidden, " more ", what, hidden == 1 ? "" : "s")),
                    ", shape=plaintext, style=\"\"];\n");
    absl::StrAppend(&edges, "  c", parent, " -> more", parent, " [style=dashed];\n");
  };
  for (const Candidate& ancestor : data.best_lineage) {
    auto it = by_id.find(ancestor.id());
    if (it == by_id.end()) continue;
    const bool is_best = ancestor.id() == best;
    absl::StrAppend(&dot, Node(*it->second, full,
                               is_best ? ", fillcolor=\"#ffd966\", color=\"#b8860b\", penwidth=2"
                                       : ", fillcolor=\"#cfe2f3\", color=\"#4477aa\""));
    if (ancestor.parent_id() != 0) {
      absl::StrAppend(&edges, "  c", ancestor.parent_id(), " -> c", ancestor.id(),
                      " [color=\"#4477aa\", penwidth=2];\n");
    }
    if (is_best) continue;
    int shown = 0, hidden = 0;
    for (const CandidateSummary* kid : children[ancestor.id()]) {
      if (chain.count(kid->id())) continue;
      if (shown == kMaxSiblingsShown) {
        ++hidden;
        continue;
      }
      ++shown;
      absl::StrAppend(&dot, Node(*kid, full, ""));
      absl::StrAppend(&edges, "  c", ancestor.id(), " -> c", kid->id(), ";\n");
    }
    add_more(ancestor.id(), hidden, "sibling");
  }
  // The best candidate's children, then theirs, breadth first.
  std::vector<int64_t> frontier = {best};
  int shown = 0;
  for (int depth = 0; depth < 2; ++depth) {
    std::vector<int64_t> next;
    for (int64_t parent : frontier) {
      int hidden = 0;
      for (const CandidateSummary* kid : children[parent]) {
        if (shown == kMaxDescendantsShown) {
          ++hidden;
          continue;
        }
        ++shown;
        absl::StrAppend(&dot, Node(*kid, full, ", fillcolor=\"#d9ead3\", color=\"#228833\""));
        absl::StrAppend(&edges, "  c", parent, " -> c", kid->id(), ";\n");
        next.push_back(kid->id());
      }
      add_more(parent, hidden, "descendant");
    }
    frontier = next;
  }
  return dot + edges + "}\n";
}

}  // namespace headevo::cli
