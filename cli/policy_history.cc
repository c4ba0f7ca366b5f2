#include "cli/policy_history.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/report_charts.h"
#include "search/offset_policy.h"

namespace headevo::cli {
namespace {

// ".06": a probability in two digits, as the status line has little room.
std::string Short(double p) {
  std::string s = absl::StrFormat("%.2f", p);
  return s.rfind("0.", 0) == 0 ? s.substr(1) : s;
}

// Each layer's snapshots, oldest first.
std::map<int, std::vector<const headevo::v1::PolicySnapshot*>> ByLayer(
    const headevo::v1::SearchSummary& summary) {
  std::map<int, std::vector<const headevo::v1::PolicySnapshot*>> layers;
  for (const headevo::v1::PolicySnapshot& s : summary.policy_history()) {
    layers[s.layer()].push_back(&s);
  }
  return layers;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> PolicyStatusRows(
    const headevo::v1::SearchSummary& summary) {
  std::vector<std::pair<std::string, std::string>> rows;
  for (const auto& [layer, snapshots] : ByLayer(summary)) {
    const headevo::v1::PolicySnapshot& first = *snapshots.front();
    const headevo::v1::PolicySnapshot& last = *snapshots.back();
    std::vector<std::string> bins;
    for (int b = 0; b < last.bin_probabilities_size(); ++b) {
      const double before = b < first.bin_probabilities_size() ? first.bin_probabilities(b) : 0;
      if (before == 0.0 && last.bin_probabilities(b) == 0.0) continue;  // outside the window
      bins.push_back(absl::StrCat(search::PolicyBinLabel(b), " ", Short(before), "->",
                                  Short(last.bin_probabilities(b))));
    }
    rows.emplace_back(absl::StrCat("policy L", layer),
                      absl::StrCat("updates ", first.updates(), " -> ", last.updates(),
                                   ": |offset| ", absl::StrJoin(bins, ", ")));
  }
  return rows;
}

std::string PolicyScript(const headevo::v1::SearchSummary& summary) {
  const auto layers = ByLayer(summary);
  int bins = 1;
  std::vector<int64_t> times;
  for (const headevo::v1::PolicySnapshot& s : summary.policy_history()) {
    bins = std::max(bins, s.bin_probabilities_size());
    times.push_back(s.updates());
  }
  std::sort(times.begin(), times.end());
  times.erase(std::unique(times.begin(), times.end()), times.end());
  const int rows = static_cast<int>(layers.size()) * (bins + 1);
  std::string script =
      Preamble(960, std::max(320, 120 + 16 * rows), "Offset policy: P(distance bin) per layer");
  absl::StrAppend(&script,
                  "set xlabel 'policy updates (one per rewarded child it proposed heads for)'\n"
                  "set grid noxtics noytics\nunset key\nset cbrange [0:1]\n"
                  "set cblabel 'probability of the bin'\n"
                  "set palette defined (0 '#ffffff', 0.25 '#a6cee3', 1 '#08306b')\n");
  if (layers.empty()) {
    return script +
           "set xrange [0:1]\nset yrange [0:1]\nset label 1 'no policy updates yet' at "
           "graph 0.5,0.5 center\nplot 2 notitle\n";
  }
  // Rows: layer after layer, bins within a layer from near (bottom) to far, a gap between.
  std::vector<std::string> ytics, xtics, cells;
  int base = 0;
  for (const auto& [layer, snapshots] : layers) {
    for (int b = 0; b < bins; ++b) {
      ytics.push_back(absl::StrCat("'L", layer, " ", search::PolicyBinLabel(b), "' ", base + b));
    }
    for (const headevo::v1::PolicySnapshot* s : snapshots) {
      const int x = static_cast<int>(std::lower_bound(times.begin(), times.end(), s->updates()) -
                                     times.begin());
      for (int b = 0; b < s->bin_probabilities_size(); ++b) {
        const double p = s->bin_probabilities(b);
        cells.push_back(
            absl::StrCat(x, " ", base + b, " ", Num(p), " ", p > 0.5 ? 0xffffff : 0x222222));
      }
    }
    base += bins + 1;
  }
  const size_t step = std::max<size_t>(1, times.size() / 12);
  for (size_t i = 0; i < times.size(); i += step)
    xtics.push_back(absl::StrCat("'", times[i], "' ", i));
  absl::StrAppend(&script, "set xrange [-0.5:", times.size() - 0.5,
                  "]\nset yrange [-0.5:", base - 1.5, "]\nset ytics (", absl::StrJoin(ytics, ", "),
                  ")\nset xtics (", absl::StrJoin(xtics, ", "), ")\n", Block("cells", cells),
                  "plot ",
                  "$cells using 1:2:(0.5):(0.5):3 with boxxyerror fs solid 1.0 noborder fc palette "
                  "notitle");
  if (cells.size() <= 400) {
    absl::StrAppend(&script,
                    ", \\\n     $cells using 1:2:(sprintf('%.2f', $3)):4 with labels "
                    "font 'sans,9' tc rgb variable notitle");
  }
  return script + "\n";
}

}  // namespace headevo::cli
