// A scatter plot in plain text, for terminals: the Pareto front (val_loss against
// connections) and a candidate's learning curve (val_loss against steps).
#ifndef HEADEVO_CLI_TEXT_SCATTER_H_
#define HEADEVO_CLI_TEXT_SCATTER_H_

#include <string>
#include <vector>

namespace headevo::cli {

struct PlotPoint {
  double x;
  double y;
};

// A `width` x `height` grid of '*', the highest y on top, the y range labelled on the left
// under the title `y_name`, the x range below followed by `x_name`. Non-finite points are
// left out; none left: "".
std::string TextScatter(const std::vector<PlotPoint>& points, int width, int height,
                        const std::string& y_name, const std::string& x_name);

}  // namespace headevo::cli

#endif  // HEADEVO_CLI_TEXT_SCATTER_H_
