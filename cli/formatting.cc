#include "cli/formatting.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/policy_history.h"
#include "cli/text_scatter.h"

namespace headevo::cli {
namespace {

using Row = std::vector<std::string>;

// Terminal columns of UTF-8 text, counted as code points (bytes that are not continuations), so
// a name with accents does not push its row out of line.
size_t DisplayWidth(const std::string& text) {
  return std::count_if(text.begin(), text.end(),
                       [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

}  // namespace

std::string AlignedTable(const std::vector<std::vector<std::string>>& rows,
                         const std::string& indent) {
  std::vector<size_t> widths;
  for (const Row& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], DisplayWidth(row[i]));
  }
  std::string out;
  for (const Row& row : rows) {
    std::string line = indent;
    for (size_t i = 0; i < row.size(); ++i) {
      absl::StrAppend(&line, row[i]);
      if (i + 1 < row.size()) line.append(widths[i] - DisplayWidth(row[i]) + 2, ' ');
    }
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

namespace {

std::string IdOrDash(int64_t id) { return id != 0 ? absl::StrCat("#", id) : "-"; }

std::string StatOrNan(double value) {
  return std::isnan(value) ? "nan" : absl::StrFormat("%.4f", value);
}

int64_t Finished(const headevo::v1::SearchSummary& s) { return s.done() + s.failed(); }

// The best loss as a search summary reports it: "-" until a candidate is evaluated.
std::string BestLoss(const headevo::v1::SearchSummary& s) {
  if (s.best_candidate_id() == 0) return "-";
  return FormatLoss(headevo::v1::CANDIDATE_STATE_DONE, s.best_val_loss());
}

// "[#########...........]": `width` cells, one '#' per whole 1/width of planned that is finished.
std::string ProgressBar(int64_t finished, int64_t planned, int width) {
  int64_t filled = planned > 0 ? finished * width / planned : 0;
  filled = std::clamp<int64_t>(filled, 0, width);
  return absl::StrCat("[", std::string(filled, '#'), std::string(width - filled, '.'), "]");
}

}  // namespace

std::string UtcDateTime(int64_t time_ms) {
  const time_t seconds = static_cast<time_t>(time_ms / 1000);
  struct tm parts = {};
  if (gmtime_r(&seconds, &parts) == nullptr) return absl::StrCat(time_ms, " ms");
  char text[32];
  strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S UTC", &parts);
  return text;
}

namespace {

std::string UtcClock(int64_t time_ms) {
  constexpr int64_t kMsPerDay = 24 * 3600 * 1000;
  const int64_t of_day = ((time_ms % kMsPerDay) + kMsPerDay) % kMsPerDay / 1000;  // 0 <= x < 86400
  return absl::StrFormat("%02d:%02d:%02d", of_day / 3600, of_day / 60 % 60, of_day % 60);
}

}  // namespace

std::string SearchStateName(headevo::v1::SearchState state) {
  switch (state) {
    case headevo::v1::SEARCH_STATE_RUNNING:
      return "running";
    case headevo::v1::SEARCH_STATE_PAUSED:
      return "paused";
    case headevo::v1::SEARCH_STATE_DONE:
      return "done";
    case headevo::v1::SEARCH_STATE_FAILED:
      return "failed";
    case headevo::v1::SEARCH_STATE_STOPPED:
      return "stopped";
    default:
      return "unknown";
  }
}

std::string CandidateStateName(headevo::v1::CandidateState state) {
  switch (state) {
    case headevo::v1::CANDIDATE_STATE_PENDING:
      return "pending";
    case headevo::v1::CANDIDATE_STATE_RUNNING:
      return "running";
    case headevo::v1::CANDIDATE_STATE_DONE:
      return "done";
    case headevo::v1::CANDIDATE_STATE_FAILED:
      return "failed";
    default:
      return "unknown";
  }
}

std::string SamplerName(headevo::v1::SamplerKind sampler) {
  switch (sampler) {
    case headevo::v1::SAMPLER_UNIFORM:
      return "uniform";
    case headevo::v1::SAMPLER_BEST:
      return "best";
    case headevo::v1::SAMPLER_FITTED:
      return "fitted";
    case headevo::v1::SAMPLER_ADAPTIVE:
      return "adaptive";
    case headevo::v1::SAMPLER_GROWTH:
      return "growth";
    case headevo::v1::SAMPLER_POLICY:
      return "policy";
    default:
      return "unknown";
  }
}

std::string HeadOriginName(headevo::v1::HeadOrigin origin) {
  switch (origin) {
    case headevo::v1::HEAD_ORIGIN_INITIAL:
      return "initial";
    case headevo::v1::HEAD_ORIGIN_INHERITED:
      return "inherited";
    case headevo::v1::HEAD_ORIGIN_SAMPLED:
      return "sampled";
    case headevo::v1::HEAD_ORIGIN_GROWN:
      return "grown";
    default:
      return "unknown";
  }
}

std::string FormatLoss(headevo::v1::CandidateState state, double val_loss) {
  if (state != headevo::v1::CANDIDATE_STATE_DONE) return "-";
  return StatOrNan(val_loss);
}

std::string FormatOffsets(const headevo::v1::OffsetSet& offsets) {
  return absl::StrCat("{", absl::StrJoin(offsets.offsets(), ","), "}");
}

std::string OneLine(const std::string& text, size_t max_chars) {
  std::string line = text;
  std::replace_if(
      line.begin(), line.end(), [](char c) { return c == '\n' || c == '\r' || c == '\t'; }, ' ');
  if (line.size() <= max_chars) return line;
  size_t cut = max_chars >= 3 ? max_chars - 3 : 0;
  // Step back off continuation bytes so the cut lands between UTF-8 characters.
  while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
  return absl::StrCat(line.substr(0, cut), "...");
}

std::string FormatSearchTable(const headevo::v1::ListSearchesResponse& response) {
  if (response.searches().empty())
    return "no searches yet; start one with: headevo launch CONFIG\n";
  std::vector<Row> rows = {{"ID", "NAME", "STATE", "SCHEDULE", "PROGRESS", "RUNNING", "QUEUED",
                            "BEST_LOSS", "CONN", "BEST"}};
  for (const headevo::v1::SearchSummary& s : response.searches()) {
    const bool has_best = s.best_candidate_id() != 0;
    rows.push_back({absl::StrCat(s.id()), OneLine(s.name(), 40), SearchStateName(s.state()),
                    s.schedule(), absl::StrCat(Finished(s), "/", s.planned()),
                    absl::StrCat(s.running()), absl::StrCat(s.queued()), BestLoss(s),
                    has_best ? absl::StrCat(s.best_connections()) : "-",
                    IdOrDash(s.best_candidate_id())});
  }
  return AlignedTable(rows);
}

std::string FormatSearchDetail(const headevo::v1::SearchSummary& s) {
  constexpr int kBarWidth = 20;
  std::string out =
      absl::StrFormat("search %d \"%s\": %s\n", s.id(), s.name(), SearchStateName(s.state()));
  std::vector<Row> rows = {
      {"progress", absl::StrFormat("%s %d/%d (%d done, %d failed)",
                                   ProgressBar(Finished(s), s.planned(), kBarWidth), Finished(s),
                                   s.planned(), s.done(), s.failed())},
      {"jobs", absl::StrFormat("%d running, %d queued", s.running(), s.queued())},
      {"generation", absl::StrFormat("%d (%d candidates written)", s.generation(), s.candidates())},
      {"best", s.best_candidate_id() == 0
                   ? std::string("none evaluated yet")
                   : absl::StrFormat("#%d val_loss %s, %d connections", s.best_candidate_id(),
                                     BestLoss(s), s.best_connections())},
      {"schedule", absl::StrFormat("%s%s, seed %d", s.mode() == "k_sweep" ? "k-sweep, " : "",
                                   s.schedule(), s.seed())},
      {"created", UtcDateTime(s.created_ms())},
  };
  if (s.rung_steps_size() > 1) {
    std::string rungs;
    for (int i = 0; i < s.rung_steps_size(); ++i) {
      absl::StrAppendFormat(&rungs, "%s%d steps: %d", i == 0 ? "" : ", ", s.rung_steps(i),
                            i < s.rung_finished_size() ? s.rung_finished(i) : 0);
    }
    rows.push_back({"rungs", absl::StrCat(rungs, " finished")});
  }
  if (s.rung_steps_size() > 1 || s.budget_steps() > 0) {
    rows.push_back(
        {"compute", s.budget_steps() > 0
                        ? absl::StrFormat("%d of %d training steps committed", s.steps_committed(),
                                          s.budget_steps())
                        : absl::StrFormat("%d training steps committed", s.steps_committed())});
  }
  for (const headevo::v1::Reference& r : s.references()) {
    rows.push_back({r.role() == "k_sweep_bar" ? "bar" : "baseline", FormatReference(r)});
  }
  for (const headevo::v1::KSweepStep& step : s.k_sweep_steps()) {
    rows.push_back({"k-sweep", absl::StrFormat("mean k %g: val_loss %.4f %s", step.mean_k(),
                                               step.mean_val_loss(),
                                               step.held() ? "held" : "fell behind dense")});
  }
  if (s.has_k_sweep_smallest_k()) {
    rows.push_back({"verdict", absl::StrFormat("the smallest mean k that held is %g",
                                               s.k_sweep_smallest_k())});
  }
  for (const auto& [label, text] : PolicyStatusRows(s)) rows.push_back({label, text});
  return absl::StrCat(out, AlignedTable(rows, "  "));
}

std::string FormatReference(const headevo::v1::Reference& r) {
  std::string state;
  switch (r.state()) {
    case headevo::v1::CANDIDATE_STATE_DONE:
      state = absl::StrFormat("val_loss %.4f, %d connections", r.metrics().val_loss(),
                              r.metrics().connections());
      break;
    case headevo::v1::CANDIDATE_STATE_FAILED:
      state = absl::StrCat("failed: ", OneLine(r.error(), 120));
      break;
    case headevo::v1::CANDIDATE_STATE_RUNNING: state = "training"; break;
    default: state = "queued"; break;
  }
  return absl::StrCat(r.description(), " (reference #", r.id(), "): ", state);
}

std::string FormatEventLine(const headevo::v1::SearchEvent& event) {
  std::string line = absl::StrCat(UtcClock(event.time_ms()), " ", event.kind(), "  ",
                                  OneLine(event.message(), 200));
  if (event.has_summary()) {
    const headevo::v1::SearchSummary& s = event.summary();
    absl::StrAppendFormat(&line, " (%d/%d, best val_loss %s)", Finished(s), s.planned(),
                          BestLoss(s));
  }
  return line;
}

std::string FormatCandidateTable(const headevo::v1::ListCandidatesResponse& response) {
  if (response.candidates().empty()) return "no candidates match\n";
  // A multi-fidelity search's candidates also show the rung their val_loss is from.
  const bool rungs = std::any_of(response.candidates().begin(), response.candidates().end(),
                                 [](const auto& c) { return c.rung() > 0; });
  std::vector<Row> rows = {{"ID", "PARENT", "GEN", "STATE", "VAL_LOSS", "CONN", "MUTATION"}};
  if (rungs) rows[0].insert(rows[0].begin() + 5, "RUNG");
  for (const headevo::v1::CandidateSummary& c : response.candidates()) {
    Row& row = rows.emplace_back(Row{absl::StrCat("#", c.id()), IdOrDash(c.parent_id()),
                                     absl::StrCat(c.generation()), CandidateStateName(c.state()),
                                     FormatLoss(c.state(), c.val_loss()),
                                     absl::StrCat(c.connections()),
                                     c.mutation().empty() ? "-" : OneLine(c.mutation(), 60)});
    if (rungs) row.insert(row.begin() + 5, absl::StrCat(c.rung()));
  }
  std::string out = AlignedTable(rows);
  absl::StrAppendFormat(&out, "%d of %d shown", response.candidates_size(), response.total());
  if (!response.next_page_token().empty()) {
    absl::StrAppend(&out, "; next page: --page-token ", response.next_page_token());
  }
  return absl::StrCat(out, "\n");
}

std::string FormatHeadHistory(const headevo::v1::GetHeadHistoryResponse& response) {
  if (!response.has_head()) return "no such head\n";
  const headevo::v1::Head* head = &response.head();
  std::string out =
      absl::StrFormat("head %d: layer %d, offsets %s (k %d)", head->id(), head->layer(),
                      FormatOffsets(head->offsets()), head->offsets().offsets_size());
  if (head->extra_key_width() > 0) absl::StrAppend(&out, ", d_k +", head->extra_key_width());
  absl::StrAppend(&out, "\n");
  std::string origin = HeadOriginName(head->origin());
  if (head->sampler() != headevo::v1::SAMPLER_UNSPECIFIED) {
    absl::StrAppend(&origin, " by sampler ", SamplerName(head->sampler()));
  }
  if (!head->sampler_params().empty()) absl::StrAppend(&origin, " (", head->sampler_params(), ")");
  if (head->source_head_id() != 0) absl::StrAppend(&origin, " from head ", head->source_head_id());
  absl::StrAppendFormat(&out, "  origin   %s\n  created  by candidate %s in search %d\n", origin,
                        IdOrDash(response.created_candidate_id()), response.search_id());

  absl::StrAppendFormat(&out, "appearances (%d):\n", response.appearances_size());
  std::vector<Row> rows = {{"CANDIDATE", "GEN", "SLOT", "ORIGIN", "ENTROPY", "INDEPENDENCE",
                            "WEIGHT_NORM", "IMPORTANCE"}};
  for (const headevo::v1::HeadAppearance& a : response.appearances()) {
    const auto stat = [&a](double value) { return a.stats_recorded() ? StatOrNan(value) : "-"; };
    rows.push_back({absl::StrCat("#", a.candidate_id()), absl::StrCat(a.generation()),
                    absl::StrCat(a.slot()), HeadOriginName(a.origin()), stat(a.stats().entropy()),
                    stat(a.stats().independence()), stat(a.stats().weight_norm()),
                    stat(a.stats().importance())});
  }
  if (!response.appearances().empty()) absl::StrAppend(&out, AlignedTable(rows, "  "));

  if (response.prunings().empty()) absl::StrAppend(&out, "never pruned\n");
  for (const headevo::v1::HeadPruning& p : response.prunings()) {
    absl::StrAppendFormat(&out, "pruned by #%d (child of %s, gen %d): %s\n", p.candidate_id(),
                          IdOrDash(p.parent_id()), p.generation(), OneLine(p.mutation(), 100));
  }
  const std::string copies = absl::StrJoin(response.copies(), ", ");
  absl::StrAppend(&out, "copies made from it: ", copies.empty() ? "none" : "heads " + copies, "\n");
  return out;
}

std::string FormatGrowthChain(const headevo::v1::GetHeadHistoryResponse& response) {
  bool any = false;
  for (const headevo::v1::HeadGrowthLink& link : response.growth_chain()) {
    any |= !link.growth().empty() || link.head().origin() == headevo::v1::HEAD_ORIGIN_GROWN;
  }
  if (!any) return "";
  std::string out = "growth:\n";
  for (const headevo::v1::HeadGrowthLink& link : response.growth_chain()) {
    const headevo::v1::Head& head = link.head();
    const std::string name =
        absl::StrCat("head ", head.id(), " (d_k +", head.extra_key_width(), ")");
    const std::string where = absl::StrCat(" in ", IdOrDash(link.created_candidate_id()));
    if (link.growth().empty()) {
      absl::StrAppend(&out, "  ", name, " ", HeadOriginName(head.origin()));
      if (head.origin() == headevo::v1::HEAD_ORIGIN_GROWN) {
        absl::StrAppend(&out, " from head ", head.source_head_id());
      }
      absl::StrAppend(
          &out, where,
          head.origin() == headevo::v1::HEAD_ORIGIN_GROWN ? ": no growth recorded\n" : "\n");
      continue;
    }
    for (const headevo::v1::HeadGrowth& g : link.growth()) {
      const std::string what =
          g.kind() == headevo::v1::GROWTH_KIND_WIDEN
              ? absl::StrCat("grew from head ", g.source_head_id(), " by ", g.added_key_width())
              : absl::StrCat("set up by the gradient initialiser (d_k ", g.added_key_width(), ")");
      absl::StrAppendFormat(
          &out, "  %s %s%s: scale %g, loss change predicted %+.4f, measured %+.4f\n", name, what,
          where, g.scale(), g.predicted_loss_change(), g.measured_loss_change());
    }
  }
  return out;
}

std::string FormatParetoFront(const headevo::v1::GetParetoFrontResponse& response) {
  constexpr int kPlotWidth = 50;
  constexpr int kPlotHeight = 12;
  if (response.front().empty()) return "the Pareto front is empty: no candidate is evaluated yet\n";
  std::vector<Row> rows = {{"CONN", "VAL_LOSS", "CANDIDATE", "GEN"}};
  std::vector<PlotPoint> points;
  for (const headevo::v1::CandidateSummary& c : response.front()) {
    rows.push_back({absl::StrCat(c.connections()), StatOrNan(c.val_loss()),
                    absl::StrCat("#", c.id()), absl::StrCat(c.generation())});
    points.push_back({static_cast<double>(c.connections()), c.val_loss()});
  }
  return absl::StrCat(AlignedTable(rows), "\n", TextScatter(points, kPlotWidth, kPlotHeight, "val_loss", "connections"));
}

}  // namespace headevo::cli
