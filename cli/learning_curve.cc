#include "cli/learning_curve.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/formatting.h"
#include "cli/text_scatter.h"

namespace headevo::cli {

std::string FormatLearningCurve(const headevo::v1::Candidate& candidate) {
  std::string out = absl::StrFormat("candidate %d (search %d, generation %d): %s", candidate.id(),
                                    candidate.search_id(), candidate.generation(),
                                    CandidateStateName(candidate.state()));
  if (candidate.rungs().empty()) {
    return absl::StrCat(out, ", no rung finished yet\n");
  }
  const headevo::v1::RungResult& last = candidate.rungs(candidate.rungs_size() - 1);
  absl::StrAppendFormat(&out, ", %d rung%s finished, %d steps, %d tokens trained\n",
                        candidate.rungs_size(), candidate.rungs_size() == 1 ? "" : "s",
                        last.steps(), last.tokens());
  std::vector<std::vector<std::string>> rows = {
      {"RUNG", "STEPS", "TOKENS", "VAL_LOSS", "TRAIN_LOSS", "SECONDS", "CHECKPOINT"}};
  std::vector<PlotPoint> points;
  for (const headevo::v1::RungResult& r : candidate.rungs()) {
    rows.push_back({absl::StrCat(r.rung()), absl::StrCat(r.steps()), absl::StrCat(r.tokens()),
                    absl::StrFormat("%.4f", r.val_loss()), absl::StrFormat("%.4f", r.train_loss()),
                    absl::StrFormat("%.1f", r.train_seconds()),
                    r.checkpoint_sha256().empty() ? "-" : r.checkpoint_sha256().substr(0, 12)});
    points.push_back({static_cast<double>(r.steps()), r.val_loss()});
  }
  absl::StrAppend(&out, AlignedTable(rows));
  if (points.size() >= 2) {
    constexpr int kWidth = 48;
    constexpr int kHeight = 10;
    absl::StrAppend(&out, "\n", TextScatter(points, kWidth, kHeight, "val_loss", "steps"));
  }
  return out;
}

}  // namespace headevo::cli
