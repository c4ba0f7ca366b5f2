#include "cli/report_page.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/formatting.h"

namespace headevo::cli {
namespace {

constexpr const char* kStyle = R"(
body { font-family: sans-serif; color: #222; max-width: 1160px; margin: 24px auto; padding: 0 16px; }
h1 { font-size: 1.6em; margin-bottom: 4px; }
p.source { color: #666; margin-top: 0; }
table.summary { border-collapse: collapse; margin: 12px 0 24px; }
table.summary th { text-align: left; padding: 4px 16px 4px 0; vertical-align: top; color: #555; }
table.summary td { padding: 4px 0; font-variant-numeric: tabular-nums; }
table.arms { border-collapse: collapse; margin: 8px 0; }
table.arms th, table.arms td { border: 1px solid #ccc; padding: 3px 10px; text-align: right; }
figure.headevo-figure { margin: 0 0 36px; padding: 12px; border: 1px solid #ddd; border-radius: 6px; }
figure.headevo-figure h2 { font-size: 1.2em; margin: 0 0 8px; }
figure.headevo-figure svg { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figcaption { color: #444; line-height: 1.45; margin-top: 8px; }
code, pre { font-family: monospace; }
pre { background: #f6f6f6; padding: 10px; overflow-x: auto; }
)";

// Marks each figure whose SVG the browser laid out with a non-empty box, and counts the shapes
// and texts inside it that it laid out with a non-empty box (data-drawn).
constexpr const char* kScript = R"(
(function () {
  var rendered = 0;
  document.querySelectorAll('figure.headevo-figure').forEach(function (figure) {
    var svg = figure.querySelector('svg');
    var box = svg ? svg.getBBox() : null;
    var drawn = 0;
    if (svg) {
      svg.querySelectorAll('path, use, polygon, polyline, ellipse, circle, rect, text')
          .forEach(function (shape) {
            var b = shape.getBBox();
            if (b.width > 0 || b.height > 0) drawn++;
          });
    }
    var ok = box !== null && box.width > 0 && box.height > 0 && drawn > 0;
    if (box) {
      figure.setAttribute('data-bbox', Math.round(box.width) + 'x' + Math.round(box.height));
    }
    figure.setAttribute('data-drawn', String(drawn));
    figure.setAttribute('data-rendered', ok ? 'yes' : 'no');
    if (ok) rendered++;
  });
  document.body.setAttribute('data-figures-rendered', String(rendered));
})();
)";

std::string Row(const std::string& name, const std::string& value_html) {
  return absl::StrCat("<tr><th>", HtmlEscape(name), "</th><td>", value_html, "</td></tr>\n");
}

std::string ConfigSummary(const ReportData& data) {
  const headevo::v1::SearchSummary& s = data.summary;
  std::vector<std::string> parts;
  if (data.population > 0) {
    parts.push_back(absl::StrCat("population ", data.population, ", ", data.generations,
                                 " generations after the first"));
  }
  if (!data.selection_method.empty()) parts.push_back("selection " + data.selection_method);
  if (!data.sampler.empty()) {
    std::string sampler = "sampler " + data.sampler;
    if (!data.arm_names.empty())
      absl::StrAppend(&sampler, " (arms ", absl::StrJoin(data.arm_names, ", "), ")");
    parts.push_back(sampler);
  }
  if (!s.schedule().empty()) parts.push_back(absl::StrCat("schedule ", s.schedule()));
  parts.push_back(absl::StrCat("seed ", s.seed()));
  return HtmlEscape(absl::StrJoin(parts, "; "));
}

std::string BestCandidate(const ReportData& data) {
  if (data.best_lineage.empty()) return "none evaluated yet";
  const headevo::v1::Candidate& best = data.best_lineage.front();
  std::string html = HtmlEscape(
      absl::StrFormat("#%d (generation %d): val_loss %.4f, %d connections per query, %d ancestors",
                      best.id(), best.generation(), best.metrics().val_loss(),
                      best.metrics().connections(), data.best_lineage.size() - 1));
  for (int layer = 0; layer < best.genome().num_layers(); ++layer) {
    std::vector<std::string> heads;
    for (const headevo::v1::Head& head : best.genome().heads()) {
      if (head.layer() == layer) heads.push_back(FormatOffsets(head.offsets()));
    }
    absl::StrAppend(&html, "<br><code>layer ", layer, ": ", HtmlEscape(absl::StrJoin(heads, " ")),
                    "</code>");
  }
  return html;
}

std::string SummaryTable(const ReportData& data) {
  const headevo::v1::SearchSummary& s = data.summary;
  std::string html = "<table class=\"summary\">\n";
  absl::StrAppend(
      &html, Row("Search", HtmlEscape(absl::StrCat("#", s.id(), " \"", s.name(), "\""))),
      Row("State", HtmlEscape(SearchStateName(s.state()))), Row("Config", ConfigSummary(data)),
      Row("Candidates", HtmlEscape(absl::StrCat(s.candidates(), " written of ", s.planned(),
                                                " planned: ", s.done(), " evaluated, ", s.failed(),
                                                " failed, ", s.running(), " running, ", s.queued(),
                                                " queued; newest generation ", s.generation()))),
      Row("Best candidate", BestCandidate(data)),
      Row("Pareto front", HtmlEscape(absl::StrCat(data.front.size(), " candidates"))));
  // Multi-fidelity: each rung's budget and finishers, as `headevo status` shows them.
  if (s.rung_steps_size() > 1) {
    std::vector<std::string> rungs;
    for (int i = 0; i < s.rung_steps_size(); ++i) {
      rungs.push_back(absl::StrCat("rung ", i, " = ", s.rung_steps(i),
                                   " steps: ", i < s.rung_finished_size() ? s.rung_finished(i) : 0,
                                   " finished"));
    }
    absl::StrAppend(&html, Row("Rungs", HtmlEscape(absl::StrJoin(rungs, "; "))));
  }
  if (s.rung_steps_size() > 1 || s.budget_steps() > 0) {
    absl::StrAppend(
        &html,
        Row("Compute", HtmlEscape(s.budget_steps() > 0
                                      ? absl::StrCat(s.steps_committed(), " of ", s.budget_steps(),
                                                     " training steps committed")
                                      : absl::StrCat(s.steps_committed(),
                                                     " training steps committed (no "
                                                     "budget_steps limit)"))));
  }
  // Trained beside the candidates, outside the lineage: what the search is compared with.
  for (const headevo::v1::Reference& r : s.references()) {
    absl::StrAppend(&html, Row(r.role() == "k_sweep_bar" ? "k-sweep bar" : "Baseline",
                               HtmlEscape(FormatReference(r))));
  }
  if (s.has_k_sweep_smallest_k()) {
    absl::StrAppend(&html, Row("k-sweep", HtmlEscape(absl::StrCat(
                                              "the smallest mean k per head that held against "
                                              "dense is ",
                                              s.k_sweep_smallest_k()))));
  }
  if (data.evaluated_truncated) {
    absl::StrAppend(
        &html,
        Row("Note", HtmlEscape(absl::StrCat("head statistics (offset survival, sampler usage) "
                                            "cover the best ",
                                            kMaxEvaluated, " evaluated candidates"))));
  }
  return html + "</table>\n";
}

// The adaptive sampler's bandit, when the database holds its state.
std::string ArmsTable(const ReportData& data) {
  if (data.arm_names.empty() || !data.strategy.has_value() || data.strategy->arms().empty()) {
    return "";  // not an adaptive search, or its config no longer parses
  }
  std::string html =
      "<table class=\"arms\"><tr><th>adaptive arm</th><th>pulls</th><th>mean reward</th>"
      "<th>reward sd</th></tr>\n";
  for (int i = 0; i < data.strategy->arms_size(); ++i) {
    const headevo::v1::BanditArm& arm = data.strategy->arms(i);
    const std::string name =
        i < static_cast<int>(data.arm_names.size()) ? data.arm_names[i] : absl::StrCat("arm ", i);
    const double n = static_cast<double>(arm.pulls());
    const double mean = n > 0 ? arm.reward_sum() / n : NAN;
    const double var = n > 1 ? (arm.reward_sum_squares() - n * mean * mean) / (n - 1) : NAN;
    absl::StrAppend(&html, "<tr><td>", HtmlEscape(name), "</td><td>", arm.pulls(), "</td><td>",
                    n > 0 ? absl::StrFormat("%.4g", mean) : "-", "</td><td>",
                    var >= 0 ? absl::StrFormat("%.3g", std::sqrt(var)) : "-", "</td></tr>\n");
  }
  return html +
         "</table><p>The bandit's view of its arms: how often it pulled each and the mean "
         "reward (fitness gain minus cost) the children it made with that arm earned.</p>\n";
}

}  // namespace

std::string HtmlEscape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string ReportPage(const ReportData& data, const std::vector<Figure>& figures,
                       const std::string& source) {
  const std::string title =
      absl::StrCat("headevo report: search ", data.summary.id(), " \"", data.summary.name(), "\"");
  std::string html = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>",
      HtmlEscape(title), "</title>\n<style>", kStyle, "</style>\n</head>\n<body>\n<h1>",
      HtmlEscape(title), "</h1>\n<p class=\"source\">From ", HtmlEscape(source),
      ". Figures drawn with gnuplot and Graphviz.</p>\n", SummaryTable(data));
  for (const Figure& figure : figures) {
    absl::StrAppend(&html, "<figure class=\"headevo-figure\" id=\"", HtmlEscape(figure.id),
                    "\">\n<h2>", HtmlEscape(figure.title), "</h2>\n", figure.svg, "\n<figcaption>",
                    HtmlEscape(figure.caption), "</figcaption>\n",
                    figure.id == "samplers" ? ArmsTable(data) : "", "</figure>\n");
  }
  if (!data.config_toml.empty()) {
    absl::StrAppend(&html, "<details><summary>The config as written</summary><pre>",
                    HtmlEscape(data.config_toml), "</pre></details>\n");
  }
  return absl::StrCat(html, "<script>", kScript, "</script>\n</body>\n</html>\n");
}

}  // namespace headevo::cli
