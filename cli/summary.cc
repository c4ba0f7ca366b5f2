#include "cli/summary.h"

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "search/image_task.h"

namespace headevo::cli {
namespace {

// "val_loss 0.5123", with bits per pixel beside it for an image task ("val_loss 0.5123
// (0.739 bits per pixel)"), the unit image models are compared in.
std::string ValLoss(const search::SearchOptions& options, double val_loss) {
  std::string out = absl::StrFormat("val_loss %.4f", val_loss);
  if (search::IsImageTask(options.training.task())) {
    absl::StrAppendFormat(&out, " (%.4f bits per pixel)", search::BitsPerPixel(val_loss));
  }
  return out;
}

}  // namespace

std::string FormatParetoFront(const server::SearchOutcome& outcome) {
  if (outcome.pareto_front.empty()) return "";
  std::string out = absl::StrFormat(
      "Pareto front (val_loss vs connections), hypervolume %.4g up to (loss %.3g, %d "
      "connections):\n",
      outcome.hypervolume, outcome.hypervolume_reference.loss,
      static_cast<int64_t>(outcome.hypervolume_reference.connections));
  for (const headevo::v1::Candidate& c : outcome.pareto_front) {
    absl::StrAppendFormat(&out, "  #%-5d gen %-3d conn %-5d loss %.4f\n", c.id(), c.generation(),
                          c.metrics().connections(), c.metrics().val_loss());
  }
  return out;
}

std::string FormatKSweep(const server::SearchOutcome& outcome) {
  if (outcome.k_sweep.empty()) return "";
  std::string out = absl::StrFormat("k-sweep against dense val_loss %.4f:\n",
                                    outcome.dense.has_value() ? outcome.dense->val_loss() : 0.0);
  for (const search::KSweepStep& step : outcome.k_sweep) {
    absl::StrAppendFormat(
        &out, "  mean k %-7.3g loss %.4f (%s)  %s\n", step.k, step.mean_loss,
        absl::StrJoin(step.losses, ", ",
                      [](std::string* o, double l) { absl::StrAppendFormat(o, "%.4f", l); }),
        step.held ? "held" : "FAILED to hold");
  }
  if (outcome.smallest_k.has_value()) {
    absl::StrAppendFormat(&out, "smallest mean k that held: %g\n", *outcome.smallest_k);
  } else {
    absl::StrAppend(&out, "no k held, not even the first\n");
  }
  return out;
}

std::string FormatProgressLine(const server::CandidateProgress& progress) {
  const headevo::v1::Candidate& c = *progress.candidate;
  const int width = static_cast<int>(absl::StrCat(progress.total).size());
  std::string line = absl::StrFormat("[%*d/%d] gen %-2d #%-4d", width, progress.evaluated,
                                     progress.total, c.generation(), c.id());
  absl::StrAppend(
      &line, c.parent_id() != 0 ? absl::StrFormat("<- #%-4d", c.parent_id()) : std::string(8, ' '));
  if (c.state() == headevo::v1::CANDIDATE_STATE_DONE) {
    absl::StrAppendFormat(&line, " loss %.4f  conn %-4d", c.metrics().val_loss(),
                          c.metrics().connections());
  } else {
    absl::StrAppend(&line, " FAILED: ", c.error());
  }
  if (progress.best != nullptr) {
    // The fittest so far, which with a connection cost need not have the lowest loss.
    absl::StrAppendFormat(&line, "  best #%d loss %.4f conn %d", progress.best->id(),
                          progress.best->metrics().val_loss(),
                          progress.best->metrics().connections());
  }
  return line;
}

std::string FormatLayerHeads(const headevo::v1::Genome& genome, int layer) {
  std::vector<std::string> heads;
  for (const auto& head : genome.heads()) {
    if (head.layer() != layer) continue;
    std::string text = absl::StrCat("{", absl::StrJoin(head.offsets().offsets(), ","), "}");
    // A grown head's wider queries and keys: "{-5,-2}(d_k+8)".
    if (head.extra_key_width() > 0) absl::StrAppend(&text, "(d_k+", head.extra_key_width(), ")");
    heads.push_back(std::move(text));
  }
  return absl::StrJoin(heads, " ");
}

std::string FormatSummary(const search::SearchOptions& options,
                          const server::SearchOutcome& outcome, double wall_seconds) {
  const headevo::v1::Candidate& best = outcome.best;
  const auto& model = options.training.model();
  std::string out = absl::StrFormat(
      "\nsearch %d \"%s\": %d candidates evaluated (%d failed) in %.1f s\n", outcome.search_id,
      options.name, outcome.evaluated, outcome.failed, wall_seconds);
  absl::StrAppendFormat(
      &out, "best candidate #%d (generation %d%s): %s, %d connections per query\n", best.id(),
      best.generation(), best.parent_id() != 0 ? absl::StrCat(", parent #", best.parent_id()) : "",
      ValLoss(options, best.metrics().val_loss()), best.metrics().connections());
  for (int layer = 0; layer < best.genome().num_layers(); ++layer) {
    absl::StrAppend(&out, "  layer ", layer, ": ", FormatLayerHeads(best.genome(), layer), "\n");
  }

  const int64_t dense_connections = search::DenseConnections(model);
  if (outcome.dense.has_value()) {
    absl::StrAppendFormat(
        &out,
        "dense attention, trained the same way: %s, %d connections per query (%.1f s)\n",
        ValLoss(options, outcome.dense->val_loss()), outcome.dense->connections(),
        outcome.dense->train_seconds());
    absl::StrAppendFormat(
        &out, "the best candidate keeps %.1f%% of the dense connections at %.3gx the dense loss\n",
        100.0 * best.metrics().connections() / outcome.dense->connections(),
        best.metrics().val_loss() / outcome.dense->val_loss());
  } else {
    if (!outcome.dense_error.empty()) {
      absl::StrAppend(&out, "dense baseline failed: ", outcome.dense_error, "\n");
    }
    absl::StrAppendFormat(&out, "the best candidate keeps %.1f%% of the %d dense connections\n",
                          100.0 * best.metrics().connections() / dense_connections,
                          dense_connections);
  }

  for (const server::SearchOutcome::Baseline& baseline : outcome.baselines) {
    if (baseline.metrics.has_value()) {
      absl::StrAppendFormat(
          &out, "%s, trained the same way: %s, %d connections per query\n", baseline.description,
          ValLoss(options, baseline.metrics->val_loss()), baseline.metrics->connections());
    } else {
      absl::StrAppend(&out, baseline.description, " baseline failed: ", baseline.error, "\n");
    }
  }

  absl::StrAppend(&out, FormatParetoFront(outcome));
  if (options.mode == search::SearchMode::kKSweep) absl::StrAppend(&out, FormatKSweep(outcome));

  const auto& task = options.training.task();
  if (task.kind() == headevo::v1::TASK_KIND_PLANTED_OFFSETS) {
    std::set<int> present;
    for (const auto& head : best.genome().heads()) {
      present.insert(head.offsets().offsets().begin(), head.offsets().offsets().end());
    }
    std::vector<int> found, missing;
    for (int offset : task.planted_offsets()) {
      (present.count(offset) ? found : missing).push_back(offset);
    }
    absl::StrAppend(
        &out, "planted offsets {", absl::StrJoin(task.planted_offsets(), ","), "}: ", found.size(),
        " of ", task.planted_offsets_size(), " present in the best candidate's heads",
        missing.empty() ? "" : absl::StrCat(" (missing {", absl::StrJoin(missing, ","), "})"),
        "\n");
  }
  return out;
}

}  // namespace headevo::cli
