// The figures of `headevo report`: each chart's gnuplot script (report_charts.h) and the
// lineage DOT (report_tree.h) run through `gnuplot` and `dot -Tsvg` (cli/external_tool.h), and
// the SVG they print made fit to sit inline in one HTML page beside the others.
#ifndef HEADEVO_CLI_REPORT_FIGURES_H_
#define HEADEVO_CLI_REPORT_FIGURES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/external_tool.h"
#include "cli/report_data.h"

namespace headevo::cli {

// The programs the figures need, with their Debian packages.
inline const ExternalTool kGnuplot = {"gnuplot", "gnuplot-nox"};
inline const ExternalTool kGraphviz = {"dot", "graphviz"};

struct Figure {
  std::string id;       // HTML id, also the prefix of the SVG's own ids ("fitness")
  std::string title;    // plain text
  std::string caption;  // plain text: how to read the figure
  std::string svg;      // "<svg ...>...</svg>", ready to inline
};

// The figures in page order: fitness, pareto, curves (only with more than one rung,
// ShowsLearningCurves), lineage, survival, samplers, policy (only with a learned sampler's
// history, SearchSummary.policy_history).
// `scratch_dir` must be writable (RunTool's files); it is left as it was.
// Errors: RunTool's (NotFound naming a missing program and its package; Internal naming the
// program and its error output when it fails).
absl::StatusOr<std::vector<Figure>> DrawFigures(const ReportData& data,
                                                const std::string& scratch_dir);

// `svg_document` (a whole SVG file as gnuplot or dot print it) from its "<svg" on, with every
// id it defines, and every reference to one ("#name" in href and url()), prefixed with
// "<prefix>-", so that several documents' ids cannot collide in one page. InvalidArgument when
// there is no <svg element.
absl::StatusOr<std::string> InlineSvg(const std::string& svg_document, const std::string& prefix);

}  // namespace headevo::cli

#endif  // HEADEVO_CLI_REPORT_FIGURES_H_
