#include "storage/candidate_writer.h"

#include <algorithm>
#include <cstdint>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "storage/candidate_reader.h"
#include "storage/row_codec.h"

namespace headevo::storage {
namespace {

using headevo::v1::Candidate;
using headevo::v1::Head;

// Per genome slot: the stored head for a carried head (in the LineageCache), null for a new one.
using HeadPlan = std::vector<const StoredHead*>;
// The parent's heads by id: one query answers most carried-head and every pruned-head check.
using ParentHeads = std::unordered_map<int64_t, StoredHead>;

std::string Describe(const Head& head) {
  return absl::StrCat("layer ", head.layer(), " offsets {",
                      absl::StrJoin(head.offsets().offsets(), ","), "}");
}

absl::Status CheckParent(Database& db, const Candidate& c, LineageCache& cache) {
  if (c.parent_id() == 0) return absl::OkStatus();
  auto cached = cache.search_of_candidate.find(c.parent_id());
  if (cached == cache.search_of_candidate.end()) {
    absl::StatusOr<Statement> stmt = db.Prepare("SELECT search_id FROM candidates WHERE id = ?1");
    if (!stmt.ok()) return stmt.status();
    absl::StatusOr<bool> row = stmt->Bind(1, c.parent_id()).Step();
    if (!row.ok()) return row.status();
    if (!*row) {
      return absl::InvalidArgumentError(
          absl::StrCat("parent candidate ", c.parent_id(), " does not exist"));
    }
    cached = cache.search_of_candidate.emplace(c.parent_id(), stmt->ColumnInt64(0)).first;
  }
  if (cached->second != c.search_id()) {
    return absl::InvalidArgumentError(absl::StrCat("parent candidate ", c.parent_id(),
                                                   " belongs to search ", cached->second,
                                                   ", not search ", c.search_id()));
  }
  return absl::OkStatus();
}

// The stored head `head_id` (NotFound "head N not found"), read once per batch.
absl::StatusOr<const StoredHead*> FindHead(Database& db, LineageCache& cache, int64_t head_id) {
  auto cached = cache.heads.find(head_id);
  if (cached != cache.heads.end()) return &cached->second;
  absl::StatusOr<StoredHead> stored = LoadHead(db, head_id);
  if (!stored.ok()) return stored.status();
  return &cache.heads.emplace(head_id, *std::move(stored)).first->second;
}

// The heads of the parent of `c` (none for a root), read once per batch.
absl::StatusOr<const ParentHeads*> FindParentHeads(Database& db, const Candidate& c,
                                                   LineageCache& cache) {
  static const ParentHeads* const kNone = new ParentHeads();
  if (c.parent_id() == 0) return kNone;
  auto cached = cache.heads_of_candidate.find(c.parent_id());
  if (cached != cache.heads_of_candidate.end()) return &cached->second;
  absl::StatusOr<ParentHeads> heads = LoadHeadsOfCandidate(db, c.parent_id());
  if (!heads.ok()) return heads.status();
  return &cache.heads_of_candidate.emplace(c.parent_id(), *std::move(heads)).first->second;
}

// A head the genome carries by id: must be stored in this search with this layer and offsets.
absl::StatusOr<const StoredHead*> CheckCarriedHead(Database& db, const Candidate& c,
                                                   const ParentHeads& parent_heads,
                                                   LineageCache& cache, int slot) {
  const Head& head = c.genome().heads(slot);
  auto in_parent = parent_heads.find(head.id());
  absl::StatusOr<const StoredHead*> found =
      in_parent != parent_heads.end() ? &in_parent->second : FindHead(db, cache, head.id());
  if (absl::IsNotFound(found.status())) {
    return absl::InvalidArgumentError(
        absl::StrCat("slot ", slot, ": head ", head.id(), " does not exist"));
  }
  if (!found.ok()) return found.status();
  const StoredHead& stored = **found;
  if (stored.search_id != c.search_id()) {
    return absl::InvalidArgumentError(absl::StrCat("slot ", slot, ": head ", head.id(),
                                                   " belongs to search ", stored.search_id,
                                                   ", not search ", c.search_id()));
  }
  if (stored.head.layer() != head.layer() ||
      !std::equal(head.offsets().offsets().begin(), head.offsets().offsets().end(),
                  stored.head.offsets().offsets().begin(), stored.head.offsets().offsets().end())) {
    return absl::InvalidArgumentError(absl::StrCat("slot ", slot, ": head ", head.id(),
                                                   " is stored as ", Describe(stored.head),
                                                   ", the genome says ", Describe(head)));
  }
  return &stored;
}

// A GROWN head widens a head of the parent: same layer, same offsets, more columns.
absl::Status CheckGrownHead(const Candidate& c, const ParentHeads& parent_heads, int slot) {
  const Head& head = c.genome().heads(slot);
  auto source = parent_heads.find(head.source_head_id());
  if (head.source_head_id() == 0 || source == parent_heads.end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "slot ", slot, ": a GROWN head needs a source_head_id naming a head of parent candidate ",
        c.parent_id(), ", got ", head.source_head_id()));
  }
  const Head& from = source->second.head;
  if (from.layer() != head.layer() ||
      !std::equal(head.offsets().offsets().begin(), head.offsets().offsets().end(),
                  from.offsets().offsets().begin(), from.offsets().offsets().end())) {
    return absl::InvalidArgumentError(
        absl::StrCat("slot ", slot, ": a GROWN head keeps its source's layer and offsets; head ",
                     from.id(), " is ", Describe(from), ", the genome says ", Describe(head)));
  }
  return absl::OkStatus();
}

absl::Status CheckNewHead(Database& db, const Candidate& c, const ParentHeads& parent_heads,
                          LineageCache& cache, int slot) {
  const Head& head = c.genome().heads(slot);
  if (head.origin() != headevo::v1::HEAD_ORIGIN_INITIAL &&
      head.origin() != headevo::v1::HEAD_ORIGIN_SAMPLED &&
      head.origin() != headevo::v1::HEAD_ORIGIN_GROWN) {
    return absl::InvalidArgumentError(
        absl::StrCat("slot ", slot,
                     ": a new head (id 0) must have origin INITIAL, SAMPLED or GROWN, "
                     "not ",
                     ToText(head.origin())));
  }
  if (head.extra_key_width() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("slot ", slot, ": extra_key_width ", head.extra_key_width(), " < 0"));
  }
  if (head.origin() == headevo::v1::HEAD_ORIGIN_GROWN) {
    return CheckGrownHead(c, parent_heads, slot);
  }
  if (head.source_head_id() == 0) return absl::OkStatus();
  // Samplers mostly start from a head of the parent, which is already at hand.
  auto in_parent = parent_heads.find(head.source_head_id());
  absl::StatusOr<const StoredHead*> source = in_parent != parent_heads.end()
                                                 ? &in_parent->second
                                                 : FindHead(db, cache, head.source_head_id());
  if (source.ok() && (*source)->search_id == c.search_id()) return absl::OkStatus();
  if (!source.ok() && !absl::IsNotFound(source.status())) return source.status();
  return absl::InvalidArgumentError(absl::StrCat("slot ", slot, ": source head ",
                                                 head.source_head_id(), " is not a head of search ",
                                                 c.search_id()));
}

absl::StatusOr<HeadPlan> CheckHeads(Database& db, const Candidate& c,
                                    const ParentHeads& parent_heads, LineageCache& cache) {
  HeadPlan plan;
  std::unordered_map<int64_t, int> slot_of_id;
  for (int slot = 0; slot < c.genome().heads_size(); ++slot) {
    const Head& head = c.genome().heads(slot);
    if (head.layer() < 0 || head.layer() >= c.genome().num_layers()) {
      return absl::InvalidArgumentError(absl::StrCat("slot ", slot, ": layer ", head.layer(),
                                                     " is outside [0, ", c.genome().num_layers(),
                                                     ")"));
    }
    if (absl::Status s = ValidateOffsets(head.offsets()); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("slot ", slot, ": ", s.message()));
    }
    if (head.id() == 0) {
      if (absl::Status s = CheckNewHead(db, c, parent_heads, cache, slot); !s.ok()) return s;
      plan.push_back(nullptr);
      continue;
    }
    if (auto [it, inserted] = slot_of_id.emplace(head.id(), slot); !inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat("head ", head.id(), " appears at slots ", it->second, " and ", slot));
    }
    absl::StatusOr<const StoredHead*> stored = CheckCarriedHead(db, c, parent_heads, cache, slot);
    if (!stored.ok()) return stored.status();
    plan.push_back(*stored);
  }
  return plan;
}

absl::Status CheckPruned(const Candidate& c, const ParentHeads& parent_heads) {
  const auto& pruned = c.mutation().pruned_head_ids();
  if (pruned.empty()) return absl::OkStatus();
  if (c.parent_id() == 0) {
    return absl::InvalidArgumentError("pruned_head_ids given for a candidate without a parent");
  }
  std::unordered_set<int64_t> in_genome;
  for (const Head& head : c.genome().heads()) in_genome.insert(head.id());
  std::unordered_set<int64_t> seen;
  for (int64_t id : pruned) {
    if (!seen.insert(id).second) {
      return absl::InvalidArgumentError(absl::StrCat("pruned head ", id, " is listed twice"));
    }
    if (in_genome.count(id) > 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("pruned head ", id, " is still in the genome"));
    }
    if (parent_heads.count(id) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("pruned head ", id, " is not a head of parent candidate ", c.parent_id()));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckCandidate(const Candidate& c) {
  if (c.id() != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("candidate already has id ", c.id(), "; new candidates have id 0"));
  }
  if (c.generation() < 0) {
    return absl::InvalidArgumentError(absl::StrCat("generation ", c.generation(), " < 0"));
  }
  if (c.genome().num_layers() <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("genome.num_layers is ", c.genome().num_layers(), ", must be positive"));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> InsertCandidateRow(Database& db, const Candidate& c) {
  absl::StatusOr<Statement> stmt = db.Prepare(
      "INSERT INTO candidates(search_id, generation, parent_id, state, num_layers, "
      "mutation_description) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!stmt.ok()) return stmt.status();
  stmt->BindAll(c.search_id(), c.generation()).BindIdOrNull(3, c.parent_id());
  stmt->Bind(4, ToText(headevo::v1::CANDIDATE_STATE_PENDING))
      .Bind(5, c.genome().num_layers())
      .Bind(6, c.mutation().description());
  if (absl::Status s = stmt->Run(); !s.ok()) return s;
  return db.LastInsertRowId();
}

absl::StatusOr<int64_t> InsertHeadRow(Database& db, int64_t search_id, const Head& head,
                                      int64_t candidate_id) {
  absl::StatusOr<Statement> stmt = db.Prepare(
      "INSERT INTO heads(search_id, layer, offsets, k, origin, sampler, sampler_params, "
      "source_head_id, created_candidate_id, extra_key_width) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  if (!stmt.ok()) return stmt.status();
  stmt->BindAll(search_id, head.layer(), OffsetsToText(head.offsets()),
                head.offsets().offsets_size(), ToText(head.origin()), ToText(head.sampler()),
                head.sampler_params());
  stmt->BindIdOrNull(8, head.source_head_id())
      .Bind(9, candidate_id)
      .Bind(10, head.extra_key_width());
  if (absl::Status s = stmt->Run(); !s.ok()) return s;
  return db.LastInsertRowId();
}

// Rows per multi-row INSERT: one statement per candidate instead of one per head is most of
// what makes a generation's insert fast. (The chunks keep far below SQLite's limit on bound
// parameters.)
constexpr int kRowsPerInsert = 256;
// How the multi-row INSERTs begin. A conflict (which the checks above rule out) then rolls back
// the whole transaction, as the caller would on any error, instead of only the statement: so
// SQLite keeps no statement journal, which would copy every page the statement changes (to a
// temporary file once it outgrows 64 KiB: a tenth of a large generation's insert time).
constexpr char kInsertOrRollback[] = "INSERT OR ROLLBACK INTO ";

// Records every slot of `c` (ids filled in) in candidate_heads, up to kRowsPerInsert rows per
// statement.
absl::Status InsertAppearances(Database& db, const Candidate& c) {
  const int slots = c.genome().heads_size();
  for (int first = 0; first < slots; first += kRowsPerInsert) {
    const int rows = std::min(kRowsPerInsert, slots - first);
    std::string sql = absl::StrCat(kInsertOrRollback,
                                   "candidate_heads(candidate_id, slot, head_id, origin) VALUES ");
    for (int i = 0; i < rows; ++i) absl::StrAppend(&sql, i == 0 ? "" : ", ", "(?, ?, ?, ?)");
    absl::StatusOr<Statement> stmt = db.Prepare(sql);
    if (!stmt.ok()) return stmt.status();
    for (int i = 0; i < rows; ++i) {
      const int slot = first + i;
      const Head& head = c.genome().heads(slot);
      stmt->Bind(4 * i + 1, c.id())
          .Bind(4 * i + 2, slot)
          .Bind(4 * i + 3, head.id())
          .Bind(4 * i + 4, ToText(head.origin()));
    }
    if (absl::Status s = stmt->Run(); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// The pruned ids of `c` in pruned_heads, in statements of up to kRowsPerInsert rows as in
// InsertAppearances.
absl::Status InsertPruned(Database& db, int64_t candidate_id, const Candidate& c) {
  const int pruned = c.mutation().pruned_head_ids_size();
  for (int first = 0; first < pruned; first += kRowsPerInsert) {
    const int rows = std::min(kRowsPerInsert, pruned - first);
    std::string sql =
        absl::StrCat(kInsertOrRollback, "pruned_heads(candidate_id, head_id, position) VALUES ");
    for (int i = 0; i < rows; ++i) absl::StrAppend(&sql, i == 0 ? "" : ", ", "(?, ?, ?)");
    absl::StatusOr<Statement> stmt = db.Prepare(sql);
    if (!stmt.ok()) return stmt.status();
    for (int i = 0; i < rows; ++i) {
      const int position = first + i;
      stmt->Bind(3 * i + 1, candidate_id)
          .Bind(3 * i + 2, c.mutation().pruned_head_ids(position))
          .Bind(3 * i + 3, position);
    }
    if (absl::Status s = stmt->Run(); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// Writes the heads of `out` (a copy of the input with its id set) and fills in their ids.
absl::Status WriteHeads(Database& db, const HeadPlan& plan, Candidate& out) {
  out.mutable_mutation()->clear_added_head_slots();
  for (int slot = 0; slot < out.genome().heads_size(); ++slot) {
    Head& head = *out.mutable_genome()->mutable_heads(slot);
    if (plan[slot] != nullptr) {
      head = plan[slot]->head;
      head.set_origin(headevo::v1::HEAD_ORIGIN_INHERITED);
    } else {
      absl::StatusOr<int64_t> id = InsertHeadRow(db, out.search_id(), head, out.id());
      if (!id.ok()) return id.status();
      head.set_id(*id);
      out.mutable_mutation()->add_added_head_slots(slot);
    }
  }
  return InsertAppearances(db, out);
}

}  // namespace

absl::StatusOr<Candidate> InsertCandidate(Database& db, const Candidate& input,
                                          LineageCache& cache) {
  if (absl::Status s = CheckCandidate(input); !s.ok()) return s;
  if (cache.searches.count(input.search_id()) == 0) {
    if (absl::Status s = RequireSearch(db, input.search_id()); !s.ok()) return s;
    cache.searches.insert(input.search_id());
  }
  if (absl::Status s = CheckParent(db, input, cache); !s.ok()) return s;
  absl::StatusOr<const ParentHeads*> parent_heads = FindParentHeads(db, input, cache);
  if (!parent_heads.ok()) return parent_heads.status();
  absl::StatusOr<HeadPlan> plan = CheckHeads(db, input, **parent_heads, cache);
  if (!plan.ok()) return plan.status();
  if (absl::Status s = CheckPruned(input, **parent_heads); !s.ok()) return s;

  absl::StatusOr<int64_t> id = InsertCandidateRow(db, input);
  if (!id.ok()) return id.status();
  Candidate out = input;
  out.set_id(*id);
  out.set_state(headevo::v1::CANDIDATE_STATE_PENDING);
  out.clear_metrics();
  out.clear_head_stats();
  out.clear_checkpoint_sha256();
  out.clear_error();
  if (absl::Status s = WriteHeads(db, *plan, out); !s.ok()) return s;
  if (absl::Status s = InsertPruned(db, out.id(), input); !s.ok()) return s;
  return out;
}

}  // namespace headevo::storage
