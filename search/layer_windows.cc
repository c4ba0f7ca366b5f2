#include "search/layer_windows.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace headevo::search {
namespace {

// The config's largest window; also keeps a long stack's growth^layer inside an int.
constexpr double kLargestWindow = 1 << 20;

}  // namespace

absl::Status LayerWindows::Validate() const {
  if (!(growth >= 1.0) || !std::isfinite(growth)) {
    return absl::InvalidArgumentError(
        absl::StrCat("window_growth must be finite and >= 1, got ", growth));
  }
  if (max_window < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_window must be >= 0 (0: no cap), got ", max_window));
  }
  return absl::OkStatus();
}

int LayerWindow(int window, const LayerWindows& windows, int layer) {
  // Growth 1 (the default) never touches floating point: the window is the window.
  double grown = window;
  if (windows.growth != 1.0 && layer > 0) {
    grown = std::round(window * std::pow(windows.growth, layer));
  }
  grown = std::min(grown, kLargestWindow);
  if (windows.max_window > 0) grown = std::min(grown, static_cast<double>(windows.max_window));
  return std::max(window, static_cast<int>(grown));
}

}  // namespace headevo::search
