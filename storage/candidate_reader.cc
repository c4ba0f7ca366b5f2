#include "storage/candidate_reader.h"

#include <unordered_map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "storage/row_codec.h"

namespace headevo::storage {
namespace {

using headevo::v1::Candidate;
using headevo::v1::Head;
using headevo::v1::HeadStats;

// Fills the candidate's columns from `SELECT ... FROM candidates`.
absl::Status ReadCandidateRow(Database& db, int64_t candidate_id, Candidate& candidate) {
  absl::StatusOr<Statement> stmt = db.Prepare(
      "SELECT search_id, generation, parent_id, state, num_layers, mutation_description, "
      "train_loss, val_loss, connections, steps, train_seconds, checkpoint_sha256, error, rung "
      "FROM candidates WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Bind(1, candidate_id).Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(absl::StrCat("candidate ", candidate_id, " not found"));
  candidate.set_id(candidate_id);
  candidate.set_search_id(stmt->ColumnInt64(0));
  candidate.set_generation(stmt->ColumnInt(1));
  candidate.set_parent_id(stmt->ColumnIdOrZero(2));
  absl::StatusOr<headevo::v1::CandidateState> state =
      CandidateStateFromText(stmt->ColumnText(3), "candidates.state");
  if (!state.ok()) return state.status();
  candidate.set_state(*state);
  candidate.mutable_genome()->set_num_layers(stmt->ColumnInt(4));
  candidate.mutable_mutation()->set_description(stmt->ColumnText(5));
  if (*state == headevo::v1::CANDIDATE_STATE_DONE) {
    headevo::v1::Metrics& metrics = *candidate.mutable_metrics();
    metrics.set_train_loss(stmt->ColumnDoubleOrNaN(6));
    metrics.set_val_loss(stmt->ColumnDoubleOrNaN(7));
    metrics.set_connections(stmt->ColumnInt64(8));
    metrics.set_steps(stmt->ColumnInt(9));
    metrics.set_train_seconds(stmt->ColumnDoubleOrNaN(10));
  }
  candidate.set_checkpoint_sha256(stmt->ColumnText(11));
  candidate.set_error(stmt->ColumnText(12));
  candidate.set_rung(stmt->ColumnInt(13));
  return absl::OkStatus();
}

// The rungs the candidate finished, lowest first; Metrics.tokens is the newest rung's.
absl::Status ReadRungs(Database& db, Candidate& candidate) {
  absl::StatusOr<Statement> stmt = db.Prepare(
      "SELECT rung, steps, tokens, train_loss, val_loss, train_seconds, checkpoint_sha256 "
      "FROM rung_results WHERE candidate_id = ?1 ORDER BY rung");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, candidate.id());
  absl::Status status = stmt->ForEachRow([&](const Statement& row) {
    headevo::v1::RungResult& r = *candidate.add_rungs();
    r.set_rung(row.ColumnInt(0));
    r.set_steps(row.ColumnInt(1));
    r.set_tokens(row.ColumnInt64(2));
    r.set_train_loss(row.ColumnDoubleOrNaN(3));
    r.set_val_loss(row.ColumnDoubleOrNaN(4));
    r.set_train_seconds(row.ColumnDoubleOrNaN(5));
    r.set_checkpoint_sha256(row.ColumnText(6));
  });
  if (!status.ok()) return status;
  if (candidate.has_metrics() && candidate.rungs_size() > 0) {
    candidate.mutable_metrics()->set_tokens(
        candidate.rungs(candidate.rungs_size() - 1).tokens());
  }
  return absl::OkStatus();
}

// Genome heads in slot order, and the slots of heads this candidate created.
absl::Status ReadCandidateHeads(Database& db, Candidate& candidate) {
  absl::StatusOr<Statement> stmt = db.Prepare(
      "SELECT ch.slot, ch.origin, h.id, h.layer, h.offsets, h.sampler, h.sampler_params, "
      "h.source_head_id, h.created_candidate_id, h.extra_key_width "
      "FROM candidate_heads ch JOIN heads h ON h.id = ch.head_id "
      "WHERE ch.candidate_id = ?1 ORDER BY ch.slot");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, candidate.id());
  return stmt->ForEachRow([&](const Statement& row) -> absl::Status {
    const int slot = row.ColumnInt(0);
    if (slot != candidate.genome().heads_size()) {
      return absl::DataLossError(absl::StrCat("storage: candidate ", candidate.id(),
                                              " has no head at slot ",
                                              candidate.genome().heads_size()));
    }
    Head& head = *candidate.mutable_genome()->add_heads();
    absl::StatusOr<headevo::v1::HeadOrigin> origin =
        HeadOriginFromText(row.ColumnText(1), "candidate_heads.origin");
    if (!origin.ok()) return origin.status();
    head.set_origin(*origin);
    head.set_id(row.ColumnInt64(2));
    head.set_layer(row.ColumnInt(3));
    absl::StatusOr<headevo::v1::OffsetSet> offsets =
        OffsetsFromText(row.ColumnText(4), "heads.offsets");
    if (!offsets.ok()) return offsets.status();
    *head.mutable_offsets() = *std::move(offsets);
    absl::StatusOr<headevo::v1::SamplerKind> sampler =
        SamplerKindFromText(row.ColumnText(5), "heads.sampler");
    if (!sampler.ok()) return sampler.status();
    head.set_sampler(*sampler);
    head.set_sampler_params(row.ColumnText(6));
    head.set_source_head_id(row.ColumnIdOrZero(7));
    head.set_extra_key_width(row.ColumnInt(9));
    if (row.ColumnInt64(8) == candidate.id()) {
      candidate.mutable_mutation()->add_added_head_slots(slot);
    }
    return absl::OkStatus();
  });
}

absl::Status ReadPrunedHeads(Database& db, Candidate& candidate) {
  absl::StatusOr<Statement> stmt =
      db.Prepare("SELECT head_id FROM pruned_heads WHERE candidate_id = ?1 ORDER BY position");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, candidate.id());
  return stmt->ForEachRow([&](const Statement& row) {
    candidate.mutable_mutation()->add_pruned_head_ids(row.ColumnInt64(0));
  });
}

// The growth records of the candidate's result, in genome (slot) order.
absl::Status ReadGrowth(Database& db, Candidate& candidate) {
  absl::StatusOr<Statement> stmt =
      db.Prepare(absl::StrCat("SELECT ", kGrowthColumns,
                              " FROM head_growth g JOIN candidate_heads ch "
                              "  ON ch.candidate_id = g.candidate_id AND ch.head_id = g.head_id "
                              "WHERE g.candidate_id = ?1 ORDER BY ch.slot"));
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, candidate.id());
  return stmt->ForEachRow([&](const Statement& row) -> absl::Status {
    absl::StatusOr<headevo::v1::HeadGrowth> growth = ReadGrowthColumns(row, 0);
    if (!growth.ok()) return growth.status();
    *candidate.add_growth() = *std::move(growth);
    return absl::OkStatus();
  });
}

absl::Status ReadHeadStats(Database& db, Candidate& candidate) {
  absl::StatusOr<Statement> stmt = db.Prepare(
      "SELECT s.head_id, s.layer, s.entropy, s.independence, s.weight_norm, s.importance, "
      "s.most_similar_head_id FROM head_stats s JOIN candidate_heads ch "
      "  ON ch.candidate_id = s.candidate_id AND ch.head_id = s.head_id "
      "WHERE s.candidate_id = ?1 ORDER BY ch.slot");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, candidate.id());
  return stmt->ForEachRow([&](const Statement& row) {
    HeadStats& stats = *candidate.add_head_stats();
    stats.set_head_id(row.ColumnInt64(0));
    ReadHeadStatsColumns(row, 1, stats);
  });
}

// The first column of every row of `stmt` as ids.
absl::StatusOr<std::vector<int64_t>> CollectIds(Statement& stmt) {
  std::vector<int64_t> ids;
  absl::Status status =
      stmt.ForEachRow([&](const Statement& row) { ids.push_back(row.ColumnInt64(0)); });
  if (!status.ok()) return status;
  return ids;
}

}  // namespace

void ReadHeadStatsColumns(const Statement& stmt, int first_column, HeadStats& stats) {
  stats.set_layer(stmt.ColumnInt(first_column));
  stats.set_entropy(stmt.ColumnDoubleOrNaN(first_column + 1));
  stats.set_independence(stmt.ColumnDoubleOrNaN(first_column + 2));
  stats.set_weight_norm(stmt.ColumnDoubleOrNaN(first_column + 3));
  stats.set_importance(stmt.ColumnDoubleOrNaN(first_column + 4));
  stats.set_most_similar_head_id(stmt.ColumnIdOrZero(first_column + 5));
}

absl::StatusOr<headevo::v1::HeadGrowth> ReadGrowthColumns(const Statement& stmt, int first_column) {
  headevo::v1::HeadGrowth growth;
  growth.set_head_id(stmt.ColumnInt64(first_column));
  growth.set_source_head_id(stmt.ColumnIdOrZero(first_column + 1));
  growth.set_layer(stmt.ColumnInt(first_column + 2));
  absl::StatusOr<headevo::v1::GrowthKind> kind =
      GrowthKindFromText(stmt.ColumnText(first_column + 3), "head_growth.kind");
  if (!kind.ok()) return kind.status();
  growth.set_kind(*kind);
  growth.set_added_key_width(stmt.ColumnInt(first_column + 4));
  growth.set_scale(stmt.ColumnDoubleOrNaN(first_column + 5));
  growth.set_predicted_loss_change(stmt.ColumnDoubleOrNaN(first_column + 6));
  growth.set_measured_loss_change(stmt.ColumnDoubleOrNaN(first_column + 7));
  return growth;
}

absl::Status RequireSearch(Database& db, int64_t search_id) {
  absl::StatusOr<Statement> stmt = db.Prepare("SELECT 1 FROM searches WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Bind(1, search_id).Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(absl::StrCat("search ", search_id, " not found"));
  return absl::OkStatus();
}

namespace {

constexpr char kHeadColumns[] =
    "h.id, h.search_id, h.layer, h.offsets, h.origin, h.sampler, h.sampler_params, "
    "h.source_head_id, h.created_candidate_id, h.extra_key_width";

// A StoredHead from kHeadColumns.
absl::StatusOr<StoredHead> ReadHeadRow(const Statement& stmt) {
  StoredHead stored;
  Head& head = stored.head;
  head.set_id(stmt.ColumnInt64(0));
  stored.search_id = stmt.ColumnInt64(1);
  head.set_layer(stmt.ColumnInt(2));
  absl::StatusOr<headevo::v1::OffsetSet> offsets =
      OffsetsFromText(stmt.ColumnText(3), "heads.offsets");
  if (!offsets.ok()) return offsets.status();
  *head.mutable_offsets() = *std::move(offsets);
  absl::StatusOr<headevo::v1::HeadOrigin> origin =
      HeadOriginFromText(stmt.ColumnText(4), "heads.origin");
  if (!origin.ok()) return origin.status();
  head.set_origin(*origin);
  absl::StatusOr<headevo::v1::SamplerKind> sampler =
      SamplerKindFromText(stmt.ColumnText(5), "heads.sampler");
  if (!sampler.ok()) return sampler.status();
  head.set_sampler(*sampler);
  head.set_sampler_params(stmt.ColumnText(6));
  head.set_source_head_id(stmt.ColumnIdOrZero(7));
  stored.created_candidate_id = stmt.ColumnInt64(8);
  head.set_extra_key_width(stmt.ColumnInt(9));
  return stored;
}

}  // namespace

absl::StatusOr<StoredHead> LoadHead(Database& db, int64_t head_id) {
  static const std::string sql =
      absl::StrCat("SELECT ", kHeadColumns, " FROM heads h WHERE h.id = ?1");
  absl::StatusOr<Statement> stmt = db.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Bind(1, head_id).Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(absl::StrCat("head ", head_id, " not found"));
  return ReadHeadRow(*stmt);
}

absl::StatusOr<std::unordered_map<int64_t, StoredHead>> LoadHeadsOfCandidate(Database& db,
                                                                             int64_t candidate_id) {
  static const std::string sql =
      absl::StrCat("SELECT ", kHeadColumns,
                   " FROM candidate_heads ch JOIN heads h ON h.id = ch.head_id "
                   "WHERE ch.candidate_id = ?1");
  absl::StatusOr<Statement> stmt = db.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, candidate_id);
  std::unordered_map<int64_t, StoredHead> heads;
  absl::Status status = stmt->ForEachRow([&](const Statement& row) -> absl::Status {
    absl::StatusOr<StoredHead> head = ReadHeadRow(row);
    if (!head.ok()) return head.status();
    const int64_t id = head->head.id();
    heads.emplace(id, *std::move(head));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return heads;
}

absl::StatusOr<Candidate> LoadCandidate(Database& db, int64_t candidate_id) {
  Candidate candidate;
  if (absl::Status s = ReadCandidateRow(db, candidate_id, candidate); !s.ok()) return s;
  if (absl::Status s = ReadCandidateHeads(db, candidate); !s.ok()) return s;
  if (absl::Status s = ReadPrunedHeads(db, candidate); !s.ok()) return s;
  if (absl::Status s = ReadHeadStats(db, candidate); !s.ok()) return s;
  if (absl::Status s = ReadGrowth(db, candidate); !s.ok()) return s;
  if (absl::Status s = ReadRungs(db, candidate); !s.ok()) return s;
  return candidate;
}

absl::StatusOr<std::vector<int64_t>> CandidateIdsOfSearch(Database& db, int64_t search_id) {
  absl::StatusOr<Statement> stmt =
      db.Prepare("SELECT id FROM candidates WHERE search_id = ?1 ORDER BY id");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, search_id);
  return CollectIds(*stmt);
}

absl::StatusOr<std::vector<int64_t>> AncestorIds(Database& db, int64_t candidate_id) {
  absl::StatusOr<Statement> stmt = db.Prepare(
      "WITH RECURSIVE lineage(id, parent_id, depth) AS ("
      "  SELECT id, parent_id, 0 FROM candidates WHERE id = ?1"
      "  UNION ALL"
      "  SELECT c.id, c.parent_id, l.depth + 1"
      "  FROM candidates c JOIN lineage l ON c.id = l.parent_id"
      ") SELECT id FROM lineage ORDER BY depth");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, candidate_id);
  absl::StatusOr<std::vector<int64_t>> ids = CollectIds(*stmt);
  if (ids.ok() && ids->empty()) {
    return absl::NotFoundError(absl::StrCat("candidate ", candidate_id, " not found"));
  }
  return ids;
}

}  // namespace headevo::storage
