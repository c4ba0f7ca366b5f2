// Text for the CLI's read-only commands (`headevo ls`, `status`, `watch`, `candidates`, `head`,
// `pareto`): each function turns one SearchService response into what the terminal shows.
//
// Contract shared by every function here: pure (no I/O, no clock, no locale), so the same
// message always gives the same text and any thread may call them; NaN and missing values print
// as "nan" or "-", never fail; the result ends with a newline unless the comment says otherwise.
// Times are shown in UTC, so output does not depend on the machine's time zone.
#ifndef HEADEVO_CLI_FORMATTING_H_
#define HEADEVO_CLI_FORMATTING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "headevo/v1/candidate.pb.h"
#include "headevo/v1/genome.pb.h"
#include "headevo/v1/search_service.pb.h"

namespace headevo::cli {

// One aligned row per search under a header: id, name, state, schedule, progress
// "done+failed/planned", running and queued jobs, and the best candidate (val_loss, connections,
// id; "-" while none is evaluated). No searches: a line saying how to start one.
std::string FormatSearchTable(const headevo::v1::ListSearchesResponse& response);

// A multi-line status block for one search, with a 20-wide progress bar of done+failed against
// planned: "[#########...........] 45/100".
// The search's state, progress, best, its reference models and (a k-sweep) its verdict.
std::string FormatSearchDetail(const headevo::v1::SearchSummary& search);
// "dense attention (reference #3): val_loss 1.2345, 256 connections" (or queued, training,
// failed: why).
std::string FormatReference(const headevo::v1::Reference& reference);

// One line for `headevo watch`, without a trailing newline:
// "12:34:56 new_best  #25 loss 0.0234 (45/100, best val_loss 0.0234)". The time is time_ms in
// UTC; the suffix (finished = done+failed against planned) appears only when `summary` is set.
std::string FormatEventLine(const headevo::v1::SearchEvent& event);

// One aligned row per candidate (id, parent, generation, state, val_loss, connections, mutation
// cut to 60 characters), then "N of TOTAL shown", and the next page's flag when there is one.
std::string FormatCandidateTable(const headevo::v1::ListCandidatesResponse& response);

// A head's story: its layer and offsets, how and by whom it was made, one table row per
// candidate that carried it (statistics "-" where stats_recorded is false), the children that
// pruned it, and the heads copied from it.
std::string FormatHeadHistory(const headevo::v1::GetHeadHistoryResponse& response);

// The response's growth_chain as "growth:" and one line per link, the head asked about first
// and each source after it: "  head 40 (d_k +8) grew from head 17 by 4 in #9: scale 0.5, loss
// change predicted -0.0200, measured -0.0100", a NEW_HEAD record as "set up by the gradient
// initialiser", a head without records by its origin. "" when no link grew or has a record.
std::string FormatGrowthChain(const headevo::v1::GetHeadHistoryResponse& response);

// The front as a table (connections, val_loss, candidate, generation) and a 50x12 character
// scatter plot of val_loss against connections with labelled axis ranges. Overloads the
// end-of-run FormatParetoFront in summary.h, which takes the in-process outcome instead.
std::string FormatParetoFront(const headevo::v1::GetParetoFrontResponse& response);

// Pieces the lineage formatter shares with the tables above.

// "running", "paused", ... ("unknown" for UNSPECIFIED or a value this build does not know).
std::string SearchStateName(headevo::v1::SearchState state);
// "pending", "running", "done", "failed" ("unknown" likewise).
std::string CandidateStateName(headevo::v1::CandidateState state);
// "uniform", "best", "fitted", "adaptive" ("unknown" likewise).
std::string SamplerName(headevo::v1::SamplerKind sampler);
// "initial", "inherited", "sampled" ("unknown" likewise).
std::string HeadOriginName(headevo::v1::HeadOrigin origin);
// "0.0234"; "nan" for NaN (a candidate that diverged) and "-" for a candidate not yet DONE.
std::string FormatLoss(headevo::v1::CandidateState state, double val_loss);
// "{-11,-5,-2}".
std::string FormatOffsets(const headevo::v1::OffsetSet& offsets);
// Every row's columns padded to the column's widest cell (counted in UTF-8 code points), two
// spaces apart, no trailing blanks, each row prefixed with `indent`.
std::string AlignedTable(const std::vector<std::vector<std::string>>& rows,
                         const std::string& indent = "");
// "2026-11-24 00:19:16 UTC" for milliseconds since the Unix epoch.
std::string UtcDateTime(int64_t time_ms);
// `text` on one line (newlines and tabs become spaces), cut to at most `max_chars` bytes ending
// in "..." when longer, never inside a UTF-8 character.
std::string OneLine(const std::string& text, size_t max_chars);

}  // namespace headevo::cli

#endif  // HEADEVO_CLI_FORMATTING_H_
