// The HTML of `headevo report`: one self-contained page (styles, figures and script inline; no
// network, no external file) with a header table (search, state, config, counts, best
// candidate; with rungs or a budget_steps, each rung's budget and finishers and the steps
// committed) and the figures, each a <figure class="headevo-figure" id="..."> holding its SVG
// and a caption saying how to read it.
//
// An inline script run when the page loads sets on each figure data-drawn (how many shapes and
// texts of its SVG the browser laid out with a non-empty box, getBBox) and data-rendered "yes"
// when the SVG itself has a non-empty box and data-drawn > 0, "no" otherwise; and on <body>
// data-figures-rendered, the count of "yes". A headless browser's DOM dump so shows whether
// every figure was drawn.
//
// Pure: no I/O, no clock; any thread.
#ifndef HEADEVO_CLI_REPORT_PAGE_H_
#define HEADEVO_CLI_REPORT_PAGE_H_

#include <string>
#include <vector>

#include "cli/report_data.h"
#include "cli/report_figures.h"

namespace headevo::cli {

// `source` says where the data came from ("database search.db", "coordinator HOST:PORT").
std::string ReportPage(const ReportData& data, const std::vector<Figure>& figures,
                       const std::string& source);

// `text` with &, <, >, " and ' escaped for HTML text and attribute values.
std::string HtmlEscape(const std::string& text);

}  // namespace headevo::cli

#endif  // HEADEVO_CLI_REPORT_PAGE_H_
