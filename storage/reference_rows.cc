#include "storage/reference_rows.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "storage/row_codec.h"

namespace headevo::storage {
namespace {

constexpr char kReferenceColumns[] =
    "SELECT r.id, r.search_id, r.kind, r.description, r.role, r.state, r.train_loss, "
    "r.val_loss, r.connections, r.steps, r.train_seconds, r.error, j.id "
    "FROM reference_models r LEFT JOIN jobs j ON j.reference_id = r.id ";

absl::StatusOr<headevo::v1::Reference> ReadReference(const Statement& stmt) {
  headevo::v1::Reference reference;
  reference.set_id(stmt.ColumnInt64(0));
  reference.set_search_id(stmt.ColumnInt64(1));
  reference.set_kind(stmt.ColumnText(2));
  reference.set_description(stmt.ColumnText(3));
  reference.set_role(stmt.ColumnText(4));
  absl::StatusOr<headevo::v1::CandidateState> state =
      CandidateStateFromText(stmt.ColumnText(5), "reference_models.state");
  if (!state.ok()) return state.status();
  reference.set_state(*state);
  if (*state == headevo::v1::CANDIDATE_STATE_DONE) {
    headevo::v1::Metrics& metrics = *reference.mutable_metrics();
    metrics.set_train_loss(stmt.ColumnDoubleOrNaN(6));
    metrics.set_val_loss(stmt.ColumnDoubleOrNaN(7));
    metrics.set_connections(stmt.ColumnInt64(8));
    metrics.set_steps(stmt.ColumnInt(9));
    metrics.set_train_seconds(stmt.ColumnDoubleOrNaN(10));
  }
  reference.set_error(stmt.ColumnText(11));
  reference.set_job_id(stmt.ColumnIdOrZero(12));
  return reference;
}

}  // namespace

absl::StatusOr<int64_t> InsertReference(Database& db, int64_t search_id,
                                        const NewReference& reference) {
  if (reference.kind.empty() || reference.role.empty() || reference.genome.heads_size() == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "reference model '", reference.description, "': kind (", reference.kind, "), role (",
        reference.role, ") and genome heads (", reference.genome.heads_size(),
        ") must not be empty"));
  }
  absl::StatusOr<Statement> stmt = db.Prepare(
      "INSERT INTO reference_models(search_id, kind, description, role, genome, state) "
      "VALUES (?1, ?2, ?3, ?4, ?5, 'PENDING')");
  if (!stmt.ok()) return stmt.status();
  stmt->BindAll(search_id, reference.kind, reference.description, reference.role)
      .BindBlob(5, reference.genome.SerializeAsString());
  if (absl::Status s = stmt->Run(); !s.ok()) return s;
  return db.LastInsertRowId();
}

absl::StatusOr<std::vector<headevo::v1::Reference>> LoadReferencesOfSearch(Database& db,
                                                                           int64_t search_id) {
  absl::StatusOr<Statement> stmt =
      db.Prepare(absl::StrCat(kReferenceColumns, "WHERE r.search_id = ?1 ORDER BY r.id"));
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, search_id);
  std::vector<headevo::v1::Reference> references;
  absl::Status status = stmt->ForEachRow([&](const Statement& row) -> absl::Status {
    absl::StatusOr<headevo::v1::Reference> reference = ReadReference(row);
    if (!reference.ok()) return reference.status();
    references.push_back(*std::move(reference));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return references;
}

absl::StatusOr<headevo::v1::Reference> LoadReference(Database& db, int64_t reference_id) {
  absl::StatusOr<Statement> stmt = db.Prepare(absl::StrCat(kReferenceColumns, "WHERE r.id = ?1"));
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Bind(1, reference_id).Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return absl::NotFoundError(absl::StrCat("reference model ", reference_id, " not found"));
  }
  return ReadReference(*stmt);
}

absl::StatusOr<headevo::v1::Genome> LoadReferenceGenome(Database& db, int64_t reference_id) {
  absl::StatusOr<Statement> stmt =
      db.Prepare("SELECT genome FROM reference_models WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Bind(1, reference_id).Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return absl::NotFoundError(absl::StrCat("reference model ", reference_id, " not found"));
  }
  headevo::v1::Genome genome;
  if (!genome.ParseFromString(stmt->ColumnBlob(0))) {
    return absl::DataLossError(
        absl::StrCat("storage: reference model ", reference_id, " has a genome that does not parse"));
  }
  return genome;
}

absl::Status SetReferenceState(Database& db, int64_t reference_id,
                               headevo::v1::CandidateState state) {
  absl::StatusOr<Statement> stmt =
      db.Prepare("UPDATE reference_models SET state = ?2 WHERE id = ?1 AND state <> 'DONE'");
  if (!stmt.ok()) return stmt.status();
  return stmt->BindAll(reference_id, ToText(state)).Run();
}

absl::Status WriteReferenceResult(Database& db, int64_t reference_id,
                                  const headevo::v1::Metrics& m) {
  absl::StatusOr<Statement> stmt = db.Prepare(
      "UPDATE reference_models SET state = 'DONE', train_loss = ?2, val_loss = ?3, "
      "connections = ?4, steps = ?5, train_seconds = ?6, error = NULL WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  return stmt
      ->BindAll(reference_id, m.train_loss(), m.val_loss(), m.connections(), m.steps(),
                m.train_seconds())
      .Run();
}

absl::Status FailReference(Database& db, int64_t reference_id, const std::string& error) {
  absl::StatusOr<Statement> stmt =
      db.Prepare("UPDATE reference_models SET state = 'FAILED', error = ?2 WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  return stmt->BindAll(reference_id, error).Run();
}

}  // namespace headevo::storage
