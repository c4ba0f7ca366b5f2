#include "storage/result_writer.h"

#include <string>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "storage/row_codec.h"

namespace headevo::storage {
namespace {

using headevo::v1::HeadStats;

// NotFound for an unknown candidate, FailedPrecondition for one that already has a result.
absl::Status RequireNoResult(Database& db, int64_t candidate_id) {
  absl::StatusOr<Statement> stmt = db.Prepare("SELECT state FROM candidates WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Bind(1, candidate_id).Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(absl::StrCat("candidate ", candidate_id, " not found"));
  if (stmt->ColumnText(0) == ToText(headevo::v1::CANDIDATE_STATE_DONE)) {
    return absl::FailedPreconditionError(
        absl::StrCat("candidate ", candidate_id, " already has a result"));
  }
  return absl::OkStatus();
}

// What the candidate's genome says of each of its heads, by head id: what the result's head
// stats and growth records are checked against.
struct GenomeHead {
  int layer = 0;
  int64_t source_head_id = 0;
  bool created_here = false;
  headevo::v1::HeadOrigin origin{};
};
using GenomeHeads = std::unordered_map<int64_t, GenomeHead>;

absl::StatusOr<GenomeHeads> ReadGenomeHeads(Database& db, int64_t candidate_id) {
  absl::StatusOr<Statement> stmt = db.Prepare(
      "SELECT h.id, h.layer, h.source_head_id, h.created_candidate_id = ch.candidate_id, "
      "h.origin FROM candidate_heads ch JOIN heads h ON h.id = ch.head_id "
      "WHERE ch.candidate_id = ?1");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, candidate_id);
  GenomeHeads heads;
  absl::Status status = stmt->ForEachRow([&](const Statement& row) -> absl::Status {
    absl::StatusOr<headevo::v1::HeadOrigin> origin =
        HeadOriginFromText(row.ColumnText(4), "heads.origin");
    if (!origin.ok()) return origin.status();
    heads.emplace(row.ColumnInt64(0), GenomeHead{row.ColumnInt(1), row.ColumnIdOrZero(2),
                                                 row.ColumnInt(3) != 0, *origin});
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return heads;
}

// Only the facts that need the genome: the shape of each entry (ids, finite numbers, each head
// once) is server/checks/request_checks.h's, checked before the result gets here.
absl::Status CheckHeadStats(const headevo::v1::EvaluationResult& result, const GenomeHeads& heads) {
  for (int i = 0; i < result.head_stats_size(); ++i) {
    const HeadStats& stats = result.head_stats(i);
    auto it = heads.find(stats.head_id());
    if (it == heads.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("head_stats[", i, "] names head ", stats.head_id(),
                       ", which is not a head of candidate ", result.candidate_id()));
    }
    if (it->second.layer != stats.layer()) {
      return absl::InvalidArgumentError(absl::StrCat("head_stats[", i, "] gives head ",
                                                     stats.head_id(), " layer ", stats.layer(),
                                                     "; it is in layer ", it->second.layer));
    }
  }
  return absl::OkStatus();
}

// Growth record `i` against the genome: the head is one this candidate created, in the layer
// given; a WIDEN record names a GROWN head and the source it grew from. The record's own
// shape (known kind, finite numbers, width >= 0, a NEW_HEAD without a source, each head once)
// is server/checks/request_checks.h's, checked before the result gets here.
absl::Status CheckOneGrowth(int i, const headevo::v1::HeadGrowth& g, int64_t candidate_id,
                            const GenomeHeads& heads) {
  const std::string what = absl::StrCat("growth[", i, "] for head ", g.head_id());
  auto it = heads.find(g.head_id());
  if (it == heads.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": head ", g.head_id(), " is not a head of candidate ", candidate_id));
  }
  const GenomeHead& t = it->second;
  if (!t.created_here) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": candidate ", candidate_id,
                                                   " inherited the head; only its new heads grow"));
  }
  if (t.layer != g.layer()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " gives layer ", g.layer(), "; it is in layer ", t.layer));
  }
  if (g.kind() == headevo::v1::GROWTH_KIND_WIDEN &&
      (t.origin != headevo::v1::HEAD_ORIGIN_GROWN || t.source_head_id != g.source_head_id())) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " says WIDEN from head ", g.source_head_id(), "; the genome has it ",
        ToText(t.origin),
        t.source_head_id != 0 ? absl::StrCat(" from head ", t.source_head_id) : std::string()));
  }
  return absl::OkStatus();
}

absl::Status CheckGrowth(const headevo::v1::EvaluationResult& result, const GenomeHeads& heads) {
  for (int i = 0; i < result.growth_size(); ++i) {
    absl::Status status = CheckOneGrowth(i, result.growth(i), result.candidate_id(), heads);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status InsertGrowth(Database& db, const headevo::v1::EvaluationResult& result) {
  for (const headevo::v1::HeadGrowth& g : result.growth()) {
    absl::StatusOr<Statement> stmt = db.Prepare(
        "INSERT INTO head_growth(candidate_id, head_id, source_head_id, layer, kind, "
        "added_key_width, scale, predicted_loss_change, measured_loss_change) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    if (!stmt.ok()) return stmt.status();
    stmt->BindAll(result.candidate_id(), g.head_id());
    stmt->BindIdOrNull(3, g.source_head_id());
    absl::Status status = stmt->Bind(4, g.layer())
                              .Bind(5, ToText(g.kind()))
                              .Bind(6, g.added_key_width())
                              .Bind(7, g.scale())
                              .Bind(8, g.predicted_loss_change())
                              .Bind(9, g.measured_loss_change())
                              .Run();
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status InsertHeadStats(Database& db, const headevo::v1::EvaluationResult& result) {
  for (const HeadStats& s : result.head_stats()) {
    absl::StatusOr<Statement> stmt = db.Prepare(
        "INSERT INTO head_stats(candidate_id, head_id, layer, entropy, independence, "
        "weight_norm, importance, most_similar_head_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    if (!stmt.ok()) return stmt.status();
    stmt->BindAll(result.candidate_id(), s.head_id(), s.layer(), s.entropy(), s.independence(),
                  s.weight_norm(), s.importance());
    absl::Status status = stmt->BindIdOrNull(8, s.most_similar_head_id()).Run();
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status InsertCheckpoint(Database& db, const headevo::v1::EvaluationResult& result,
                              std::optional<int64_t> now_ms) {
  if (result.checkpoint_sha256().empty()) return absl::OkStatus();
  // Two candidates may name one file (identical training); the first keeps the reference.
  absl::StatusOr<Statement> stmt = db.Prepare(
      "INSERT OR IGNORE INTO checkpoints(sha256, candidate_id, created_ms) VALUES (?1, ?2, ?3)");
  if (!stmt.ok()) return stmt.status();
  stmt->BindAll(result.checkpoint_sha256(), result.candidate_id());
  if (now_ms.has_value()) stmt->Bind(3, *now_ms);
  return stmt->Run();
}

// Ends the candidate's job, if it has one still open, in `state`.
absl::Status FinishOpenJob(Database& db, int64_t candidate_id, const char* state,
                           const std::string& error, std::optional<int64_t> now_ms) {
  absl::StatusOr<Statement> stmt = db.Prepare(
      "UPDATE jobs SET state = ?2, finished_ms = ?3, lease_expires_ms = NULL, "
      "last_error = NULLIF(?4, '') WHERE candidate_id = ?1 AND rung = 0 "
      "AND state IN ('QUEUED', 'LEASED')");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, candidate_id).Bind(2, state).Bind(4, error);
  if (now_ms.has_value()) stmt->Bind(3, *now_ms);
  return stmt->Run();
}

absl::Status InsertRungResult(Database& db, const headevo::v1::EvaluationResult& result, int rung,
                              std::optional<int64_t> now_ms) {
  absl::StatusOr<Statement> stmt = db.Prepare(
      "INSERT INTO rung_results(candidate_id, rung, steps, tokens, train_loss, val_loss, "
      "train_seconds, checkpoint_sha256, finished_ms) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULLIF(?8, ''), ?9)");
  if (!stmt.ok()) return stmt.status();
  const headevo::v1::Metrics& m = result.metrics();
  stmt->BindAll(result.candidate_id(), rung, m.steps(), m.tokens(), m.train_loss(), m.val_loss(),
                m.train_seconds(), result.checkpoint_sha256());
  if (now_ms.has_value()) stmt->Bind(9, *now_ms);
  return stmt->Run();
}

}  // namespace

absl::Status WritePromotionResult(Database& db, const headevo::v1::EvaluationResult& result,
                                  int rung, std::optional<int64_t> now_ms) {
  absl::StatusOr<Statement> check =
      db.Prepare("SELECT state, rung FROM candidates WHERE id = ?1");
  if (!check.ok()) return check.status();
  absl::StatusOr<bool> row = check->Bind(1, result.candidate_id()).Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return absl::NotFoundError(absl::StrCat("candidate ", result.candidate_id(), " not found"));
  }
  if (check->ColumnText(0) != ToText(headevo::v1::CANDIDATE_STATE_DONE) ||
      check->ColumnInt(1) != rung - 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "candidate ", result.candidate_id(), " is ", check->ColumnText(0), " at rung ",
        check->ColumnInt(1), "; a rung-", rung, " result needs it DONE at rung ", rung - 1));
  }
  if (!result.growth().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a promotion of candidate ", result.candidate_id(),
        " reports growth records; heads grow only when a candidate's training starts"));
  }
  absl::StatusOr<GenomeHeads> heads = ReadGenomeHeads(db, result.candidate_id());
  if (!heads.ok()) return heads.status();
  if (absl::Status s = CheckHeadStats(result, *heads); !s.ok()) return s;
  absl::StatusOr<Statement> stmt = db.Prepare(
      "UPDATE candidates SET train_loss = ?2, val_loss = ?3, connections = ?4, steps = ?5, "
      "train_seconds = ?6, checkpoint_sha256 = ?7, rung = ?8 WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  const headevo::v1::Metrics& m = result.metrics();
  absl::Status status = stmt->BindAll(result.candidate_id(), m.train_loss(), m.val_loss(),
                                      m.connections(), m.steps(), m.train_seconds(),
                                      result.checkpoint_sha256(), rung)
                            .Run();
  if (!status.ok()) return status;
  // The head statistics are the newest rung's: the ones a child of this candidate is bred from.
  absl::StatusOr<Statement> old_stats =
      db.Prepare("DELETE FROM head_stats WHERE candidate_id = ?1");
  if (!old_stats.ok()) return old_stats.status();
  if (absl::Status s = old_stats->Bind(1, result.candidate_id()).Run(); !s.ok()) return s;
  if (absl::Status s = InsertHeadStats(db, result); !s.ok()) return s;
  if (absl::Status s = InsertCheckpoint(db, result, now_ms); !s.ok()) return s;
  return InsertRungResult(db, result, rung, now_ms);
}

absl::Status WriteResult(Database& db, const headevo::v1::EvaluationResult& result,
                         std::optional<int64_t> now_ms) {
  if (absl::Status s = RequireNoResult(db, result.candidate_id()); !s.ok()) return s;
  absl::StatusOr<GenomeHeads> heads = ReadGenomeHeads(db, result.candidate_id());
  if (!heads.ok()) return heads.status();
  if (absl::Status s = CheckHeadStats(result, *heads); !s.ok()) return s;
  if (absl::Status s = CheckGrowth(result, *heads); !s.ok()) return s;
  absl::StatusOr<Statement> stmt = db.Prepare(
      "UPDATE candidates SET state = ?2, train_loss = ?3, val_loss = ?4, connections = ?5, "
      "steps = ?6, train_seconds = ?7, checkpoint_sha256 = ?8, error = NULL WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  const headevo::v1::Metrics& m = result.metrics();
  absl::Status status =
      stmt->BindAll(result.candidate_id(), ToText(headevo::v1::CANDIDATE_STATE_DONE),
                    m.train_loss(), m.val_loss(), m.connections(), m.steps(), m.train_seconds(),
                    result.checkpoint_sha256())
          .Run();
  if (!status.ok()) return status;
  if (absl::Status s = InsertHeadStats(db, result); !s.ok()) return s;
  if (absl::Status s = InsertGrowth(db, result); !s.ok()) return s;
  if (absl::Status s = InsertCheckpoint(db, result, now_ms); !s.ok()) return s;
  if (absl::Status s = InsertRungResult(db, result, 0, now_ms); !s.ok()) return s;
  return FinishOpenJob(db, result.candidate_id(), "DONE", "", now_ms);
}

absl::Status WriteFailure(Database& db, int64_t candidate_id, const std::string& error,
                          std::optional<int64_t> now_ms) {
  if (absl::Status s = RequireNoResult(db, candidate_id); !s.ok()) return s;
  absl::StatusOr<Statement> stmt =
      db.Prepare("UPDATE candidates SET state = ?2, error = ?3 WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  absl::Status status =
      stmt->BindAll(candidate_id, ToText(headevo::v1::CANDIDATE_STATE_FAILED), error).Run();
  if (!status.ok()) return status;
  return FinishOpenJob(db, candidate_id, "FAILED", error, now_ms);
}

}  // namespace headevo::storage
