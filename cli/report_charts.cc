#include "cli/report_charts.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/formatting.h"

namespace headevo::cli {
namespace {

using headevo::v1::CandidateState;

// Colour-blind-safe (Paul Tol's "bright" scheme).
constexpr const char* kBlue = "#4477aa";
constexpr const char* kRed = "#ee6677";
constexpr const char* kGreen = "#228833";
constexpr const char* kGrey = "#bbbbbb";

// An empty frame with `note` in the middle: what a chart shows before there is data.
std::string EmptyPlot(const std::string& note) {
  return absl::StrCat("unset logscale\nset xrange [0:1]\nset yrange [0:1]\nset label 1 '", note,
                      "' at graph 0.5,0.5 center\nplot 2 notitle\n");
}

bool Evaluated(const headevo::v1::CandidateSummary& c) {
  return c.state() == headevo::v1::CANDIDATE_STATE_DONE && std::isfinite(c.val_loss());
}

// "set logscale y" when the losses are positive and span a decade or more (as they do once a
// search converges); a linear axis shows a narrow range better.
std::string LogYIfWide(const std::vector<double>& losses) {
  const auto [low, high] = std::minmax_element(losses.begin(), losses.end());
  if (low == losses.end() || !(*low > 0) || *high < 10 * *low) return "";
  return "set logscale y\n";
}

std::string JoinPlots(const std::vector<std::string>& parts) {
  std::string out = "plot ";
  for (size_t i = 0; i < parts.size(); ++i) absl::StrAppend(&out, i ? ", \\\n     " : "", parts[i]);
  return out + "\n";
}

// The source of a head as it appears in a genome; "" for a head carried from the parent.
std::string SourceOf(const headevo::v1::Head& head) {
  if (head.origin() == headevo::v1::HEAD_ORIGIN_INITIAL) return "initial";
  if (head.origin() == headevo::v1::HEAD_ORIGIN_SAMPLED ||
      head.origin() == headevo::v1::HEAD_ORIGIN_GROWN) {
    return SamplerName(head.sampler());
  }
  return "";
}

}  // namespace

std::string Num(double value) { return absl::StrFormat("%.6g", value); }

// The terminal and the look every chart shares. `noenhanced`: "val_loss" stays as written
// instead of becoming "val" with a subscript.
std::string Preamble(int width, int height, const std::string& title) {
  return absl::StrCat("set terminal svg size ", width, ",", height,
                      " noenhanced font 'sans,13' background '#ffffff'\n"
                      "set encoding utf8\nset title '",
                      title,
                      "' font 'sans,15'\n"
                      "set border lc rgb '#555555'\nset grid lc rgb '#dddddd' lw 1\n"
                      "set key box opaque\n");
}

// A named datablock: `rows` one per line.
std::string Block(const std::string& name, const std::vector<std::string>& rows) {
  std::string out = absl::StrCat("$", name, " << EOD\n");
  for (const std::string& row : rows) absl::StrAppend(&out, row, "\n");
  return out + "EOD\n";
}

std::string FitnessScript(const ReportData& data) {
  std::string script = Preamble(960, 480, "Fitness over the search");
  absl::StrAppend(&script, "set xlabel 'candidate id (creation order)'\n",
                  "set ylabel 'validation loss (val_loss)'\nset key top right\n");
  std::vector<std::string> done, best, failed;
  std::vector<double> losses;
  double best_so_far = std::numeric_limits<double>::infinity();
  for (const headevo::v1::CandidateSummary& c : data.candidates) {
    if (Evaluated(c)) {
      losses.push_back(c.val_loss());
      done.push_back(absl::StrCat(c.id(), " ", Num(c.val_loss())));
      best_so_far = std::min(best_so_far, c.val_loss());
    }
    if (std::isfinite(best_so_far) && (Evaluated(c) || !best.empty())) {
      best.push_back(absl::StrCat(c.id(), " ", Num(best_so_far)));
    }
  }
  if (done.empty()) return script + EmptyPlot("no evaluated candidate yet");
  const double top = *std::max_element(losses.begin(), losses.end());
  for (const headevo::v1::CandidateSummary& c : data.candidates) {
    const bool bad =
        c.state() == headevo::v1::CANDIDATE_STATE_FAILED ||
        (c.state() == headevo::v1::CANDIDATE_STATE_DONE && !std::isfinite(c.val_loss()));
    if (bad) failed.push_back(absl::StrCat(c.id(), " ", Num(top)));
  }
  absl::StrAppend(&script, LogYIfWide(losses), Block("done", done), Block("best", best));
  std::vector<std::string> plots = {
      absl::StrCat("$done using 1:2 with points pt 7 ps 0.7 lc rgb '", kBlue,
                   "' title 'evaluated candidate'"),
      absl::StrCat("$best using 1:2 with steps lw 2.5 lc rgb '", kRed, "' title 'best so far'")};
  if (!failed.empty()) {
    absl::StrAppend(&script, Block("failed", failed));
    plots.push_back(
        "$failed using 1:2 with points pt 2 ps 1.4 lw 2 lc rgb '#cc3311' title 'failed (no loss; "
        "drawn at the top)'");
  }
  return script + JoinPlots(plots);
}

std::string ParetoScript(const ReportData& data) {
  std::string script = Preamble(960, 480, "Pareto front: validation loss against cost");
  absl::StrAppend(&script, "set xlabel 'connections per query (sum of k over all heads)'\n",
                  "set ylabel 'validation loss (val_loss)'\nset key top right\n");
  std::vector<std::string> all, front;
  std::vector<double> losses;
  for (const headevo::v1::CandidateSummary& c : data.candidates) {
    if (!Evaluated(c)) continue;
    losses.push_back(c.val_loss());
    all.push_back(absl::StrCat(c.connections(), " ", Num(c.val_loss())));
  }
  for (const headevo::v1::CandidateSummary& c : data.front) {
    front.push_back(absl::StrCat(c.connections(), " ", Num(c.val_loss()), " #", c.id()));
  }
  if (all.empty() || front.empty()) return script + EmptyPlot("no evaluated candidate yet");
  absl::StrAppend(&script, LogYIfWide(losses), "set offsets graph 0.03, graph 0.08, 0, 0\n",
                  Block("all", all), Block("front", front));
  return script +
         JoinPlots({absl::StrCat("$all using 1:2 with points pt 7 ps 0.7 lc rgb '", kGrey,
                                 "' title 'evaluated candidate'"),
                    absl::StrCat("$front using 1:2 with steps lw 2.5 lc rgb '", kGreen,
                                 "' title 'Pareto front'"),
                    absl::StrCat("$front using 1:2 with points pt 7 ps 1.3 lc rgb '", kGreen,
                                 "' notitle"),
                    "$front using 1:2:3 with labels offset char 0.6,0.7 left font 'sans,11' "
                    "tc rgb '#1b5e20' notitle"});
}

bool ShowsLearningCurves(const ReportData& data) { return data.summary.rung_steps_size() > 1; }

std::string RungColour(int rung) {
  static constexpr const char* kRungColours[] = {"#bbbbbb", "#4477aa", "#228833", "#ee6677",
                                                 "#aa3377", "#ccbb44", "#66ccee"};
  constexpr int kCount = sizeof(kRungColours) / sizeof(kRungColours[0]);
  return kRungColours[((rung % kCount) + kCount) % kCount];
}

std::string LearningCurvesScript(const ReportData& data) {
  std::string script = Preamble(960, 480, "Learning curves across the rungs");
  absl::StrAppend(&script, "set xlabel 'training steps (log scale; the tics are the rungs)'\n",
                  "set ylabel 'validation loss (val_loss)'\nset key top right\n");
  const auto& budgets = data.summary.rung_steps();
  if (!ShowsLearningCurves(data)) return script + EmptyPlot("one rung: no learning curve");
  // rows[r]: the curves of the candidates whose highest rung is r, a blank line between two
  // candidates so that gnuplot draws each as a polyline of its own.
  std::vector<std::vector<std::string>> rows(budgets.size());
  std::vector<int> curves(budgets.size(), 0);
  std::vector<std::string> best;
  std::vector<double> losses;
  for (const headevo::v1::Candidate& c : data.evaluated) {
    std::vector<std::string> points;
    for (const headevo::v1::RungResult& r : c.rungs()) {
      if (!std::isfinite(r.val_loss()) || r.steps() <= 0) continue;
      points.push_back(absl::StrCat(r.steps(), " ", Num(r.val_loss())));
      losses.push_back(r.val_loss());
    }
    if (points.empty()) continue;
    const int top =
        std::clamp(c.rungs(c.rungs_size() - 1).rung(), 0, static_cast<int>(budgets.size()) - 1);
    if (!rows[top].empty()) rows[top].push_back("");
    rows[top].insert(rows[top].end(), points.begin(), points.end());
    ++curves[top];
    if (c.id() == data.summary.best_candidate_id()) best = points;
  }
  if (losses.empty()) return script + EmptyPlot("no evaluated candidate yet");
  std::string tics;
  for (int steps : budgets) absl::StrAppend(&tics, tics.empty() ? "" : ", ", steps);
  absl::StrAppend(&script, "set logscale x\nset xtics (", tics, ")\nset xrange [",
                  Num(budgets[0] / 1.4), ":", Num(budgets[budgets.size() - 1] * 1.4), "]\n",
                  LogYIfWide(losses));
  std::vector<std::string> plots;
  for (size_t r = 0; r < rows.size(); ++r) {  // lower rungs first: the higher ones lie on top
    if (rows[r].empty()) continue;
    const std::string name = absl::StrCat("rung", r);
    absl::StrAppend(&script, Block(name, rows[r]));
    plots.push_back(
        absl::StrCat("$", name, " using 1:2 with linespoints pt 7 ps 0.6 lw 1.5 lc rgb '",
                     RungColour(static_cast<int>(r)), "' title 'rung ", r, " = ", budgets[r],
                     " steps (", curves[r], curves[r] == 1 ? " candidate)'" : " candidates)'"));
  }
  if (!best.empty()) {
    absl::StrAppend(&script, Block("best", best));
    plots.push_back(
        absl::StrCat("$best using 1:2 with linespoints pt 7 ps 1.1 lw 3 lc rgb '#222222' "
                     "title 'best candidate #",
                     data.summary.best_candidate_id(), "'"));
  }
  return script + JoinPlots(plots);
}

std::string SurvivalScript(const ReportData& data) {
  std::string script = Preamble(960, 420, "Surviving offsets per layer");
  absl::StrAppend(&script,
                  "set xlabel 'relative offset (key position - query position)'\n"
                  "set ylabel 'layer'\nset ytics 1\nset grid noxtics noytics\nunset key\n"
                  "set cblabel 'mean lifetime of its heads (generations)'\n"
                  "set palette defined (0 '#440154', 1 '#3b528b', 2 '#21918c', 3 '#5ec962', "
                  "4 '#fde725')\n");
  struct Life {
    int layer = 0;
    int first = std::numeric_limits<int>::max();
    int last = -1;
    std::vector<int> offsets;
  };
  std::map<int64_t, Life> heads;
  int layers = 0;
  for (const headevo::v1::Candidate& c : data.evaluated) {
    layers = std::max(layers, c.genome().num_layers());
    for (const headevo::v1::Head& head : c.genome().heads()) {
      Life& life = heads[head.id()];
      life.layer = head.layer();
      life.first = std::min(life.first, c.generation());
      life.last = std::max(life.last, c.generation());
      life.offsets.assign(head.offsets().offsets().begin(), head.offsets().offsets().end());
    }
  }
  std::map<std::pair<int, int>, std::pair<int, double>> cells;  // (layer, offset) -> heads, sum
  for (const auto& [id, life] : heads) {
    for (int offset : life.offsets) {
      auto& cell = cells[{life.layer, offset}];
      cell.first += 1;
      cell.second += life.last - life.first + 1;
    }
  }
  if (cells.empty()) return script + EmptyPlot("no evaluated candidate yet");
  int low = std::numeric_limits<int>::max(), high = std::numeric_limits<int>::min();
  double least = std::numeric_limits<double>::infinity(), most = 0;
  for (const auto& [key, cell] : cells) {
    low = std::min(low, key.second);
    high = std::max(high, key.second);
    least = std::min(least, cell.second / cell.first);
    most = std::max(most, cell.second / cell.first);
  }
  // Columns: offset, layer, mean lifetime, heads, the label's colour (dark on the palette's
  // bright end, white on its dark end).
  std::vector<std::string> rows;
  for (const auto& [key, cell] : cells) {
    const double lifetime = cell.second / cell.first;
    const bool bright = most > least && (lifetime - least) / (most - least) > 0.6;
    rows.push_back(absl::StrCat(key.second, " ", key.first, " ", Num(lifetime), " ", cell.first,
                                " ", bright ? 0x222222 : 0xffffff));
  }
  absl::StrAppend(&script, "set xrange [", low - 0.5, ":", high + 0.5,
                  "]\nset yrange [-0.5:", std::max(layers, 1) - 0.5, "]\n",
                  high - low > 40 ? "" : "set xtics 1\n", Block("cells", rows));
  std::vector<std::string> plots = {
      "$cells using 1:2:(0.5):(0.5):3 with boxxyerror fs solid 1.0 noborder fc palette notitle"};
  if (cells.size() <= 200) {
    plots.push_back(
        "$cells using 1:2:(sprintf('%d', $4)):5 with labels font 'sans,10' tc rgb variable "
        "notitle");
  }
  return script + JoinPlots(plots);
}

SamplerUsage ComputeSamplerUsage(const ReportData& data) {
  SamplerUsage usage;
  std::map<int64_t, std::string> source;  // head id -> source
  std::map<int64_t, int> born;            // head id -> generation it was made in
  for (const headevo::v1::Candidate& c : data.evaluated) {
    for (const headevo::v1::Head& head : c.genome().heads()) {
      const std::string s = SourceOf(head);
      if (!s.empty()) {
        source[head.id()] = s;
        born[head.id()] = c.generation();
      } else if (!source.count(head.id())) {
        // Carried: its creator is not among the evaluated candidates (it failed, or lies past
        // the best kMaxEvaluated); the stored sampler still says which sampler made it.
        source[head.id()] = head.sampler() == headevo::v1::SAMPLER_UNSPECIFIED
                                ? "initial"
                                : SamplerName(head.sampler());
      }
    }
  }
  for (const auto& [id, s] : source) {
    usage.made[s] += 1;
    if (born.count(id)) usage.made_per_generation[born[id]][s] += 1;
  }
  for (const std::string s :
       {"initial", "uniform", "best", "fitted", "growth", "policy", "adaptive", "unknown"}) {
    if (usage.made.count(s)) usage.sources.push_back(s);
  }
  int gen0 = 0;
  for (const headevo::v1::CandidateSummary& c : data.candidates) gen0 += c.generation() == 0;
  usage.top = std::min<int>(std::max(data.population > 0 ? data.population : gen0, 1),
                            static_cast<int>(data.evaluated.size()));
  std::set<int64_t> counted;
  for (int i = 0; i < usage.top; ++i) {
    for (const headevo::v1::Head& head : data.evaluated[i].genome().heads()) {
      if (i == 0) usage.in_best[source[head.id()]] += 1;
      if (counted.insert(head.id()).second) usage.in_top[source[head.id()]] += 1;
    }
  }
  return usage;
}

std::string SamplerScript(const SamplerUsage& usage) {
  std::string script = Preamble(1100, 460, "");
  absl::StrAppend(&script, "unset title\n");
  if (usage.sources.empty()) return script + EmptyPlot("no evaluated candidate yet");
  const char* colours[] = {"#bbbbbb", "#4477aa", "#ee6677", "#228833",
                           "#ccbb44", "#aa3377", "#66ccee", "#ee7733"};
  std::map<std::string, std::string> colour_of;
  for (size_t i = 0; i < usage.sources.size(); ++i) {
    const std::string s = usage.sources[i];
    colour_of[s] = s == "initial"    ? colours[0]
                   : s == "uniform"  ? colours[1]
                   : s == "best"     ? colours[2]
                   : s == "fitted"   ? colours[3]
                   : s == "adaptive" ? colours[4]
                   : s == "growth"   ? colours[6]
                   : s == "policy"   ? colours[7]
                                     : colours[5];
  }
  std::vector<std::string> per_generation;
  for (const auto& [generation, counts] : usage.made_per_generation) {
    std::string row = absl::StrCat(generation);
    for (const std::string& s : usage.sources) {
      auto it = counts.find(s);
      absl::StrAppend(&row, " ", it == counts.end() ? 0 : it->second);
    }
    per_generation.push_back(row);
  }
  std::vector<std::string> totals;
  for (const std::string& s : usage.sources) {
    auto get = [&s](const std::map<std::string, int>& m) {
      auto it = m.find(s);
      return it == m.end() ? 0 : it->second;
    };
    totals.push_back(
        absl::StrCat(s, " ", get(usage.made), " ", get(usage.in_top), " ", get(usage.in_best)));
  }
  absl::StrAppend(&script, Block("gens", per_generation), Block("totals", totals),
                  "set multiplot layout 1,2\n"
                  "set style data histograms\nset style fill solid 0.9 border rgb '#555555'\n"
                  "set boxwidth 0.8\nset yrange [0:*]\nset offsets 0, 0, graph 0.3, 0\n"
                  "set grid noxtics ytics\n"
                  "set key top right\n"
                  "set style histogram rowstacked\n"
                  "set title 'New heads per generation, by source' font 'sans,15'\n"
                  "set xlabel 'generation'\nset ylabel 'heads made'\n");
  std::vector<std::string> stacked;
  for (size_t i = 0; i < usage.sources.size(); ++i) {
    const std::string& s = usage.sources[i];
    stacked.push_back(absl::StrCat(i == 0 ? "$gens" : "''", " using ", i + 2,
                                   i == 0 ? ":xtic(1)" : "", " title '", s, "' lc rgb '",
                                   colour_of[s], "'"));
  }
  absl::StrAppend(
      &script, JoinPlots(stacked), "set style histogram clustered gap 1\n",
      "set xrange [-0.6:", usage.sources.size() - 0.4,
      "]\n"
      "set title 'Where each source''s heads ended up' font 'sans,15'\n"
      "set xlabel 'source of the head'\nset ylabel 'distinct heads'\n",
      JoinPlots({absl::StrCat("$totals using 2:xtic(1) title 'made' lc rgb '", kGrey, "'"),
                 absl::StrCat("'' using 3 title 'in the best ", usage.top, " candidates' lc rgb '",
                              kBlue, "'"),
                 absl::StrCat("'' using 4 title 'in the best candidate' lc rgb '", kRed, "'")}),
      "unset multiplot\n");
  return script;
}

}  // namespace headevo::cli
