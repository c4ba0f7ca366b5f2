#include "cli/report_figures.h"

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cli/policy_history.h"
#include "cli/report_charts.h"
#include "cli/report_tree.h"

namespace headevo::cli {
namespace {

// The name that starts at `text[i]` and ends before a quote, ')' or whitespace.
std::string NameAt(const std::string& text, size_t i) {
  size_t end = i;
  while (end < text.size() && text[end] != '"' && text[end] != '\'' && text[end] != ')' &&
         text[end] != ' ' && text[end] != '>') {
    ++end;
  }
  return text.substr(i, end - i);
}

// Every value of an id="..." or id='...' attribute in `svg`.
std::set<std::string> DefinedIds(const std::string& svg) {
  std::set<std::string> ids;
  for (size_t i = svg.find("id="); i != std::string::npos; i = svg.find("id=", i + 3)) {
    const bool attribute = i > 0 && (svg[i - 1] == ' ' || svg[i - 1] == '\t' || svg[i - 1] == '\n');
    if (attribute && i + 3 < svg.size() && (svg[i + 3] == '"' || svg[i + 3] == '\'')) {
      ids.insert(NameAt(svg, i + 4));
    }
  }
  return ids;
}

absl::StatusOr<Figure> Gnuplot(const std::string& id, const std::string& title,
                               const std::string& caption, const std::string& script,
                               const std::string& scratch_dir) {
  absl::StatusOr<std::string> svg = RunTool(kGnuplot, {}, script, scratch_dir);
  if (!svg.ok()) return svg.status();
  absl::StatusOr<std::string> inlined = InlineSvg(*svg, id);
  if (!inlined.ok()) return inlined.status();
  return Figure{id, title, caption, *std::move(inlined)};
}

}  // namespace

absl::StatusOr<std::string> InlineSvg(const std::string& svg_document, const std::string& prefix) {
  const size_t start = svg_document.find("<svg");
  if (start == std::string::npos) {
    return absl::InvalidArgumentError("the plotting program printed no <svg> element");
  }
  const std::string svg = svg_document.substr(start);
  const std::set<std::string> ids = DefinedIds(svg);
  std::string out;
  out.reserve(svg.size() + svg.size() / 8);
  for (size_t i = 0; i < svg.size();) {
    size_t name_at = std::string::npos;
    for (const char* lead : {"id=\"", "id='", "href=\"#", "href='#", "url(#"}) {
      const bool id_attribute = lead[0] == 'i';
      if (svg.compare(i, std::char_traits<char>::length(lead), lead) != 0) continue;
      if (id_attribute &&
          (i == 0 || (svg[i - 1] != ' ' && svg[i - 1] != '\t' && svg[i - 1] != '\n'))) {
        continue;
      }
      name_at = i + std::char_traits<char>::length(lead);
      break;
    }
    if (name_at == std::string::npos) {
      out += svg[i++];
      continue;
    }
    const std::string name = NameAt(svg, name_at);
    out.append(svg, i, name_at - i);
    out += ids.count(name) ? absl::StrCat(prefix, "-", name) : name;
    i = name_at + name.size();
  }
  return out;
}

absl::StatusOr<std::vector<Figure>> DrawFigures(const ReportData& data,
                                                const std::string& scratch_dir) {
  std::vector<Figure> figures;
  absl::StatusOr<Figure> fitness = Gnuplot(
      "fitness", "Fitness over time",
      "Each blue dot is one evaluated candidate's validation loss, placed by candidate id (the "
      "order the search created them; generation by generation). The red step line is the best "
      "loss found so far: it drops when the search finds a better candidate and stays flat "
      "otherwise. Red crosses along the top mark candidates that failed (no loss to plot). The "
      "loss axis turns logarithmic when the losses span a factor of ten or more.",
      FitnessScript(data), scratch_dir);
  if (!fitness.ok()) return fitness.status();
  figures.push_back(*std::move(fitness));

  absl::StatusOr<Figure> pareto = Gnuplot(
      "pareto", "Pareto front: loss against cost",
      "Every evaluated candidate in grey: further left is cheaper (fewer attention connections "
      "per query position, summed over all heads), lower is better. The green staircase joins "
      "the Pareto front, the candidates that no other beats on both loss and connections, "
      "labelled with their ids (`headevo lineage ID` tells where one came from).",
      ParetoScript(data), scratch_dir);
  if (!pareto.ok()) return pareto.status();
  figures.push_back(*std::move(pareto));

  if (ShowsLearningCurves(data)) {
    absl::StatusOr<Figure> curves = Gnuplot(
        "curves", "Learning curves across the rungs",
        absl::StrCat(
            "Multi-fidelity: each line is one evaluated candidate's validation loss at the end of "
            "every rung it finished (rung i ends at the step count on the x axis, a log scale), "
            "coloured by the highest rung it reached; most candidates stop at the first rung, a "
            "line that goes on is one ASHA promoted for being in the top of its rung. The legend "
            "counts the candidates whose highest rung each is (the summary above counts every "
            "finisher of a rung). The thick black line is the best candidate. `headevo curve ID` "
            "prints one candidate's curve.",
            data.evaluated_truncated
                ? absl::StrCat(" Drawn for the best ", kMaxEvaluated, " evaluated candidates.")
                : ""),
        LearningCurvesScript(data), scratch_dir);
    if (!curves.ok()) return curves.status();
    figures.push_back(*std::move(curves));
  }

  absl::StatusOr<std::string> tree =
      RunTool(kGraphviz, {"-Tsvg"}, LineageTreeDot(data), scratch_dir);
  if (!tree.ok()) return tree.status();
  absl::StatusOr<std::string> tree_svg = InlineSvg(*tree, "lineage");
  if (!tree_svg.ok()) return tree_svg.status();
  figures.push_back(Figure{
      "lineage", "Lineage of the best candidate",
      absl::StrCat(
          "The best candidate (gold) and its ancestors back to generation 0 (blue, joined by "
          "thick arrows); in grey, each ancestor's other children (the best ",
          kMaxSiblingsShown,
          " by loss), in green the best candidate's own children and grandchildren. Each box: "
          "candidate id, generation, validation loss, connections per query, and the mutation "
          "that made it: \"-P +A sampler\" = P heads pruned from the parent, A heads added by "
          "that sampler. Hover over a box for the whole mutation."),
      *std::move(tree_svg)});

  absl::StatusOr<Figure> survival = Gnuplot(
      "survival", "Surviving offsets per layer",
      "One cell per (layer, relative offset) that some evaluated candidate's head attended to. "
      "Colour: how many generations, on average, the heads with that offset stayed in the "
      "population (from the generation a head first appears in to the last one that carries it); "
      "bright cells are offsets the search kept. The number in a cell is how many distinct heads "
      "had "
      "the offset. On a planted-offset task, look for the planted offsets among the bright cells.",
      SurvivalScript(data), scratch_dir);
  if (!survival.ok()) return survival.status();
  figures.push_back(*std::move(survival));

  const SamplerUsage usage = ComputeSamplerUsage(data);
  absl::StatusOr<Figure> samplers = Gnuplot(
      "samplers", "Sampler usage",
      absl::StrCat(
          "Left: heads newly made in each generation, stacked by where they came from: "
          "\"initial\" (drawn for generation 0) or the sampler that replaced a pruned head "
          "(uniform, best, fitted, growth for a widened head; the adaptive sampler's heads count "
          "under the arm it pulled). "
          "Right: per source, the distinct heads it made, how many of them the best ",
          usage.top,
          " candidates carry, and how many the best candidate carries: a sampler whose heads "
          "reach the best candidates earns its keep. Counted over the evaluated candidates."),
      SamplerScript(usage), scratch_dir);
  if (!samplers.ok()) return samplers.status();
  figures.push_back(*std::move(samplers));

  if (data.summary.policy_history_size() > 0) {
    absl::StatusOr<Figure> policy = Gnuplot(
        "policy", "What the offset policy learned",
        "The learned sampler (sampler \"policy\", or the adaptive sampler's \"policy\" arm) "
        "proposes a new head's offsets by first drawing a distance bin (|offset| 0-1, 2-3, 4-7, "
        "... up to the layer's window), then a position within it. Each row is one layer's bin, "
        "each column a moment of the search (labelled by how many updates the policy had made: "
        "one per rewarded child whose heads it proposed); colour and number are the bin's "
        "probability, under the surviving heads of the layer it learned from last. Column 0 is "
        "where it started (uniform over the window's offsets, so far bins hold more); a bin "
        "that darkens is one whose heads earned reward (fitness gain minus connection cost). "
        "The heads it proposed say so in the lineage (sampler policy, \"policy proposal N\").",
        PolicyScript(data.summary), scratch_dir);
    if (!policy.ok()) return policy.status();
    figures.push_back(*std::move(policy));
  }
  return figures;
}

}  // namespace headevo::cli
