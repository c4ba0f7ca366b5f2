// The gnuplot scripts of `headevo report`'s charts, made from ReportData. Each script is whole
// (terminal, data as inline datablocks, plot command), writes one SVG to stdout when fed to
// `gnuplot` on stdin, and does not depend on the machine (no file names, no clock).
//
// Pure: no I/O; any thread. A search with nothing to show still gives a valid script: an empty
// frame with a note ("no evaluated candidate yet") in place of the data.
#ifndef HEADEVO_CLI_REPORT_CHARTS_H_
#define HEADEVO_CLI_REPORT_CHARTS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cli/report_data.h"

namespace headevo::cli {

// Shared by the chart scripts: a number as gnuplot reads it; the terminal and look every chart
// shares; a named datablock, `rows` one per line.
std::string Num(double value);
std::string Preamble(int width, int height, const std::string& title);
std::string Block(const std::string& name, const std::vector<std::string>& rows);

// val_loss of every candidate by id (creation order), the best so far as a step line, failed
// candidates as crosses along the top.
std::string FitnessScript(const ReportData& data);

// val_loss against connections: every evaluated candidate grey, the front as a green staircase
// with its candidates' ids.
std::string ParetoScript(const ReportData& data);

// Multi-fidelity: val_loss against training steps (log x; the rungs' budgets are geometric),
// one polyline per evaluated candidate through the rungs it finished, coloured by the highest
// rung it reached, lower rungs drawn first; the best candidate drawn over them. Only
// meaningful with two rungs or more (ShowsLearningCurves); with one rung it is an empty frame.
std::string LearningCurvesScript(const ReportData& data);

// Whether the report carries the learning-curves figure: the search has more than one rung.
// With one rung every candidate is a single point at the same step count, the fitness figure's
// losses again stacked on one vertical line, which says nothing the fitness figure does not.
bool ShowsLearningCurves(const ReportData& data);

// The colour of the curves of candidates whose highest rung is `rung` (a fixed cycle: grey for
// rung 0, the candidates ASHA stopped first, then Tol's bright colours).
std::string RungColour(int rung);

// One cell per (layer, offset) any evaluated candidate's head had; colour = mean lifetime in
// generations of the heads that had it (last generation carried - first + 1), label = how many
// distinct heads had it.
std::string SurvivalScript(const ReportData& data);

// Where the heads came from. A head's source is "initial" (drawn for generation 0) or the
// sampler that made it ("uniform", "best", "fitted", "growth", "policy"; the adaptive sampler
// records the arm it pulled). Counts distinct heads among the evaluated candidates.
struct SamplerUsage {
  std::vector<std::string> sources;                               // the columns, in a fixed order
  std::map<int, std::map<std::string, int>> made_per_generation;  // generation -> source -> heads
  std::map<std::string, int> made;                                // source -> heads made
  std::map<std::string, int> in_top;   // ... carried by the best `top` candidates
  std::map<std::string, int> in_best;  // ... carried by the best candidate
  int top = 0;
};
SamplerUsage ComputeSamplerUsage(const ReportData& data);

// Left: heads made per generation, stacked by source. Right: per source, heads made, heads in
// the best `top` candidates and heads in the best candidate.
std::string SamplerScript(const SamplerUsage& usage);

}  // namespace headevo::cli

#endif  // HEADEVO_CLI_REPORT_CHARTS_H_
