// Per-layer windows: deeper layers may look further back (research seed 003: exponentially
// longer windows in higher layers, as in hierarchical attention). Layer l's window is
// round(window * growth^l), capped at max_window; growth 1 gives every layer the same window.
#ifndef HEADEVO_SEARCH_LAYER_WINDOWS_H_
#define HEADEVO_SEARCH_LAYER_WINDOWS_H_

#include "absl/status/status.h"

namespace headevo::search {

struct LayerWindows {
  // >= 1 (windows never shrink with depth, so the base window's checks hold for every layer).
  double growth = 1.0;
  // The largest window any layer gets; the config sets model.seq_len - 1. 0 = no cap (a
  // search then checks that every layer's window fits the model: SearchOptions::Validate).
  int max_window = 0;

  // InvalidArgument naming the field: growth finite and >= 1, max_window >= 0.
  absl::Status Validate() const;
};

// Layer `layer`'s window for a base window `window` >= 1: round(window * growth^layer) capped
// at max_window (when > 0) and at 2^20. The cap only limits growth: no layer's window is below
// `window` (whether `window` fits the model is the search's check, not this one's).
int LayerWindow(int window, const LayerWindows& windows, int layer);

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_LAYER_WINDOWS_H_
