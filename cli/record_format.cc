#include "cli/record_format.h"

#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/formatting.h"

namespace headevo::cli {
namespace {

std::string Stat(double value) {
  return std::isnan(value) ? "nan" : absl::StrFormat("%.4f", value);
}

std::string Bytes(int64_t bytes) {
  if (bytes <= 0) return "-";
  const double gib = static_cast<double>(bytes) / (1 << 30);
  return gib >= 1 ? absl::StrFormat("%.1f GiB", gib)
                  : absl::StrFormat("%.0f MiB", static_cast<double>(bytes) / (1 << 20));
}

std::string GrowthLine(const headevo::v1::HeadGrowth& g) {
  const std::string what =
      g.kind() == headevo::v1::GROWTH_KIND_WIDEN
          ? absl::StrCat("widened from head ", g.source_head_id(), " by ", g.added_key_width())
          : "set up by the gradient initialiser";
  return absl::StrFormat(
      "  head %d (layer %d) %s: scale %s, loss change predicted %s, measured %s\n", g.head_id(),
      g.layer(), what, Stat(g.scale()), Stat(g.predicted_loss_change()),
      Stat(g.measured_loss_change()));
}

// The heads of the genome with their statistics where the result recorded them.
std::string HeadTable(const headevo::v1::Candidate& c) {
  std::vector<std::vector<std::string>> rows = {{"SLOT", "HEAD", "LAYER", "ORIGIN", "K", "OFFSETS",
                                                 "SAMPLER", "ENTROPY", "INDEPENDENCE",
                                                 "WEIGHT_NORM", "IMPORTANCE"}};
  for (int slot = 0; slot < c.genome().heads_size(); ++slot) {
    const headevo::v1::Head& h = c.genome().heads(slot);
    const headevo::v1::HeadStats* stats = nullptr;
    for (const headevo::v1::HeadStats& s : c.head_stats()) {
      if (s.head_id() == h.id()) stats = &s;
    }
    const auto stat = [stats](double value) { return stats != nullptr ? Stat(value) : "-"; };
    rows.push_back(
        {absl::StrCat(slot), absl::StrCat(h.id()), absl::StrCat(h.layer()),
         HeadOriginName(h.origin()), absl::StrCat(h.offsets().offsets_size()),
         FormatOffsets(h.offsets()),
         h.sampler() == headevo::v1::SAMPLER_UNSPECIFIED ? "-" : SamplerName(h.sampler()),
         stat(stats ? stats->entropy() : 0), stat(stats ? stats->independence() : 0),
         stat(stats ? stats->weight_norm() : 0), stat(stats ? stats->importance() : 0)});
  }
  return AlignedTable(rows, "  ");
}

}  // namespace

std::string FormatCandidateDetail(const headevo::v1::Candidate& c) {
  const bool done = c.state() == headevo::v1::CANDIDATE_STATE_DONE;
  std::string out = absl::StrFormat(
      "candidate #%d of search %d, generation %d, %s: %s\n", c.id(), c.search_id(), c.generation(),
      c.parent_id() != 0 ? absl::StrCat("parent #", c.parent_id()) : "no parent (a root)",
      CandidateStateName(c.state()));
  const headevo::v1::Mutation& m = c.mutation();
  absl::StrAppendFormat(&out, "  mutation     %s (pruned %d, added %d)\n",
                        m.description().empty() ? "-" : OneLine(m.description(), 100),
                        m.pruned_head_ids_size(), m.added_head_slots_size());
  const headevo::v1::Metrics& metrics = c.metrics();
  absl::StrAppendFormat(&out, "  val_loss     %s\n  train_loss   %s\n",
                        FormatLoss(c.state(), metrics.val_loss()),
                        done ? Stat(metrics.train_loss()) : "-");
  absl::StrAppendFormat(
      &out, "  connections  %s\n  training     %s\n",
      done ? absl::StrCat(metrics.connections()) : "-",
      done ? absl::StrFormat("%d steps, %d tokens, %.1f s", metrics.steps(), metrics.tokens(),
                             metrics.train_seconds())
           : "-");
  if (c.rungs_size() > 1) {
    absl::StrAppendFormat(&out, "  rung         %d (%d rungs finished: headevo curve %d)\n",
                          c.rung(), c.rungs_size(), c.id());
  }
  absl::StrAppend(&out, "  checkpoint   ",
                  c.checkpoint_sha256().empty() ? "none" : c.checkpoint_sha256(), "\n");
  if (!c.error().empty()) absl::StrAppend(&out, "  error        ", OneLine(c.error(), 300), "\n");
  absl::StrAppendFormat(&out, "heads (%d):\n", c.genome().heads_size());
  if (c.genome().heads_size() > 0) absl::StrAppend(&out, HeadTable(c));
  if (m.pruned_head_ids_size() > 0) {
    absl::StrAppend(&out, "pruned from the parent: heads ",
                    absl::StrJoin(m.pruned_head_ids(), ", "), "\n");
  }
  if (c.growth_size() > 0) {
    absl::StrAppend(&out, "growth:\n");
    for (const headevo::v1::HeadGrowth& g : c.growth()) absl::StrAppend(&out, GrowthLine(g));
  }
  return out;
}

std::string FormatWorkerTable(const headevo::v1::ListWorkersResponse& response) {
  if (response.workers().empty()) {
    return "no worker has registered yet; start one: headevo worker --coordinator HOST:PORT\n";
  }
  std::vector<std::vector<std::string>> rows = {
      {"ID", "NAME", "DEVICE", "MEMORY", "REGISTERED", "LAST_SEEN", "JOBS"}};
  for (const headevo::v1::WorkerSummary& w : response.workers()) {
    std::vector<std::string> jobs;
    for (const headevo::v1::WorkerJob& j : w.jobs()) {
      const std::string subject = j.candidate_id() != 0
                                      ? absl::StrCat("candidate #", j.candidate_id())
                                      : absl::StrCat("reference model ", j.reference_id());
      jobs.push_back(absl::StrCat("job ", j.job_id(), ": ", subject, " of search ", j.search_id(),
                                  ", attempt ", j.attempt(), ", lease until ",
                                  UtcDateTime(j.lease_expires_ms())));
    }
    rows.push_back({absl::StrCat(w.id()), w.name().empty() ? "-" : OneLine(w.name(), 40),
                    w.device(), Bytes(w.memory_bytes()), UtcDateTime(w.registered_ms()),
                    UtcDateTime(w.last_seen_ms()),
                    jobs.empty() ? "idle" : absl::StrJoin(jobs, "; ")});
  }
  return AlignedTable(rows);
}

std::string FormatDeletionPlan(const headevo::v1::SearchSummary& s) {
  const bool active = s.state() == headevo::v1::SEARCH_STATE_RUNNING ||
                      s.state() == headevo::v1::SEARCH_STATE_PAUSED;
  const std::string stop_first =
      active ? absl::StrCat("It is ", SearchStateName(s.state()), ": stop it first (headevo stop ",
                            s.id(), ").\n")
             : "";
  return stop_first +
         absl::StrFormat(
             "would delete search %d '%s' (%s) for good: its %d candidates with their heads, "
             "statistics and lineage, %d reference models, its jobs and events, and the checkpoint "
             "files no other search uses.\nNothing was deleted: add --yes to delete it.\n",
             s.id(), OneLine(s.name(), 80), SearchStateName(s.state()), s.candidates(),
             s.references_size());
}

std::string FormatDeleted(int64_t search_id, const headevo::v1::DeleteSearchResponse& response) {
  return absl::StrFormat("deleted search %d: %d candidates, %d checkpoint files\n", search_id,
                         response.candidates_deleted(), response.checkpoints_deleted());
}

}  // namespace headevo::cli
