#include "cli/text_scatter.h"

#include <algorithm>
#include <cmath>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace headevo::cli {
namespace {

// Where `value` falls among `cells` cells spanning [low, high]; the middle cell when the range is
// a single value (one point, or points that tie), so a lone point does not hug an axis.
int Cell(double value, double low, double high, int cells) {
  if (!(high > low)) return cells / 2;
  return static_cast<int>(std::lround((value - low) / (high - low) * (cells - 1)));
}

}  // namespace

std::string TextScatter(const std::vector<PlotPoint>& all, int width, int height,
                        const std::string& y_name, const std::string& x_name) {
  std::vector<PlotPoint> points;
  std::copy_if(all.begin(), all.end(), std::back_inserter(points),
               [](const PlotPoint& p) { return std::isfinite(p.x) && std::isfinite(p.y); });
  if (points.empty()) return "";
  const auto [x_lo, x_hi] =
      std::minmax_element(points.begin(), points.end(), [](auto& a, auto& b) { return a.x < b.x; });
  const auto [y_lo, y_hi] =
      std::minmax_element(points.begin(), points.end(), [](auto& a, auto& b) { return a.y < b.y; });
  const double x_min = x_lo->x, x_max = x_hi->x, y_min = y_lo->y, y_max = y_hi->y;

  std::vector<std::string> grid(height, std::string(width, ' '));
  for (const PlotPoint& p : points) {
    // Rows count down from the top, where the highest loss is.
    grid[height - 1 - Cell(p.y, y_min, y_max, height)][Cell(p.x, x_min, x_max, width)] = '*';
  }
  std::vector<std::string> y_labels(height);
  y_labels[height - 1 - Cell(y_max, y_min, y_max, height)] = absl::StrFormat("%.4g", y_max);
  y_labels[height - 1 - Cell(y_min, y_min, y_max, height)] = absl::StrFormat("%.4g", y_min);
  size_t label_width = 0;
  for (const std::string& label : y_labels) label_width = std::max(label_width, label.size());

  std::string out = absl::StrCat(y_name, "\n");
  for (int row = 0; row < height; ++row) {
    std::string line =
        absl::StrFormat("%*s |%s", static_cast<int>(label_width), y_labels[row], grid[row]);
    line.erase(line.find_last_not_of(' ') + 1);
    absl::StrAppend(&out, line, "\n");
  }
  absl::StrAppend(&out, std::string(label_width + 1, ' '), "+", std::string(width, '-'), "\n");
  // The x labels sit under the columns of the smallest and largest x.
  std::string x_axis(label_width + 2 + width, ' ');
  const std::string x_min_label = absl::StrFormat("%.0f", x_min);
  const std::string x_max_label = absl::StrFormat("%.0f", x_max);
  x_axis.replace(label_width + 2 + Cell(x_min, x_min, x_max, width), x_min_label.size(),
                 x_min_label);
  if (x_max > x_min) {
    x_axis.replace(label_width + 2 + width - x_max_label.size(), x_max_label.size(), x_max_label);
  }
  x_axis.erase(x_axis.find_last_not_of(' ') + 1);
  return absl::StrCat(out, x_axis, "   ", x_name, "\n");
}


}  // namespace headevo::cli
