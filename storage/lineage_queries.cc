#include "storage/lineage_queries.h"

#include <algorithm>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "storage/candidate_reader.h"
#include "storage/row_codec.h"

namespace headevo::storage {
namespace {

// A LineageNode from kNodeColumns starting at column 0.
absl::StatusOr<LineageNode> ReadNode(const Statement& stmt) {
  LineageNode node;
  node.candidate_id = stmt.ColumnInt64(0);
  node.parent_id = stmt.ColumnIdOrZero(1);
  node.generation = stmt.ColumnInt(2);
  absl::StatusOr<headevo::v1::CandidateState> state =
      CandidateStateFromText(stmt.ColumnText(3), "candidates.state");
  if (!state.ok()) return state.status();
  node.state = *state;
  node.val_loss = stmt.ColumnDoubleOrNaN(4);
  node.connections = stmt.ColumnInt64(5);
  node.mutation = stmt.ColumnText(6);
  node.rung = stmt.ColumnInt(7);
  return node;
}

}  // namespace

absl::StatusOr<std::vector<LineageNode>> ReadNodes(Statement& stmt, int depth_column) {
  std::vector<LineageNode> nodes;
  absl::Status status = stmt.ForEachRow([&](const Statement& row) -> absl::Status {
    absl::StatusOr<LineageNode> node = ReadNode(row);
    if (!node.ok()) return node.status();
    if (depth_column >= 0) node->depth = row.ColumnInt(depth_column);
    nodes.push_back(*std::move(node));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return nodes;
}

namespace {

// The growth records naming `head_id`, in candidate id order.
absl::StatusOr<std::vector<headevo::v1::HeadGrowth>> GrowthOfHead(Database& db, int64_t head_id) {
  absl::StatusOr<Statement> stmt =
      db.Prepare(absl::StrCat("SELECT ", kGrowthColumns,
                              " FROM head_growth g WHERE g.head_id = ?1 ORDER BY g.candidate_id"));
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, head_id);
  std::vector<headevo::v1::HeadGrowth> records;
  absl::Status status = stmt->ForEachRow([&](const Statement& row) -> absl::Status {
    absl::StatusOr<headevo::v1::HeadGrowth> growth = ReadGrowthColumns(row, 0);
    if (!growth.ok()) return growth.status();
    records.push_back(*std::move(growth));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return records;
}

// `head`'s source, its source's source, ... A source is always an older head (a smaller id), so
// the walk stops at a head without a source or at a link that would not go back in time.
absl::StatusOr<std::vector<HeadSource>> SourceChain(Database& db, const headevo::v1::Head& head) {
  std::vector<HeadSource> chain;
  int64_t current = head.id();
  int64_t next = head.source_head_id();
  while (next != 0 && next < current) {
    absl::StatusOr<StoredHead> stored = LoadHead(db, next);
    if (!stored.ok()) return stored.status();
    absl::StatusOr<std::vector<headevo::v1::HeadGrowth>> growth = GrowthOfHead(db, next);
    if (!growth.ok()) return growth.status();
    current = next;
    next = stored->head.source_head_id();
    chain.push_back({std::move(stored->head), stored->created_candidate_id, *std::move(growth)});
  }
  return chain;
}

absl::Status RequireCandidate(Database& db, int64_t candidate_id) {
  absl::StatusOr<Statement> stmt = db.Prepare("SELECT 1 FROM candidates WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Bind(1, candidate_id).Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(absl::StrCat("candidate ", candidate_id, " not found"));
  return absl::OkStatus();
}

// For each distinct value of `group` ("connections" or "generation") among the search's
// candidates with a finite val_loss, ascending, the one with the lowest loss (ties: the older).
//
// A plain ORDER BY would read every result of the search (seconds at a million candidates);
// this walks the distinct values with one index seek each on the partial index over (search_id,
// group, val_loss), so it costs per distinct value, not per candidate. A val_loss is stored only
// with a result, so every row found is DONE; NaN is stored as NULL and +inf fails `< 9e999`.
//
// Multi-fidelity: only candidates of the highest rung any candidate reached compete (losses of
// different budgets are never weighed against each other); without rungs, that is all of them.
absl::StatusOr<std::vector<LineageNode>> BestPerGroup(Database& db, int64_t search_id,
                                                      const char* group) {
  // The partial index candidates_by_rung answers this with one seek.
  absl::StatusOr<Statement> top = db.Prepare(
      "SELECT rung FROM candidates WHERE search_id = ?1 AND state = 'DONE' "
      "AND val_loss IS NOT NULL ORDER BY rung DESC LIMIT 1");
  if (!top.ok()) return top.status();
  absl::StatusOr<bool> found = top->Bind(1, search_id).Step();
  if (!found.ok()) return found.status();
  const int top_rung = *found ? top->ColumnInt(0) : 0;
  const std::string sql = absl::StrReplaceAll(
      "WITH RECURSIVE groups(value) AS ("
      "  SELECT MIN($g) FROM candidates WHERE search_id = ?1 AND val_loss IS NOT NULL"
      "  UNION ALL"
      "  SELECT (SELECT MIN($g) FROM candidates"
      "          WHERE search_id = ?1 AND val_loss IS NOT NULL AND $g > groups.value)"
      "  FROM groups WHERE groups.value IS NOT NULL"
      ") SELECT $columns FROM groups JOIN candidates c ON c.id = ("
      "  SELECT id FROM candidates WHERE search_id = ?1 AND val_loss IS NOT NULL"
      "    AND $g = groups.value AND val_loss < 9e999 AND rung = ?2 ORDER BY val_loss, id LIMIT 1"
      ") ORDER BY groups.value",
      {{"$g", group}, {"$columns", kNodeColumns}});
  absl::StatusOr<Statement> stmt = db.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  stmt->BindAll(search_id, top_rung);
  return ReadNodes(*stmt, -1);
}

}  // namespace

absl::StatusOr<std::vector<LineageNode>> QueryAncestorChain(Database& db, int64_t candidate_id) {
  absl::StatusOr<Statement> stmt = db.Prepare(absl::StrCat(
      "WITH RECURSIVE chain(id, depth) AS ("
      "  SELECT id, 0 FROM candidates WHERE id = ?1"
      "  UNION ALL"
      "  SELECT c.parent_id, chain.depth + 1 FROM candidates c JOIN chain ON c.id = chain.id"
      "  WHERE c.parent_id IS NOT NULL"
      ") SELECT ",
      kNodeColumns,
      ", chain.depth FROM chain JOIN candidates c ON c.id = chain.id "
      "ORDER BY chain.depth"));
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, candidate_id);
  absl::StatusOr<std::vector<LineageNode>> chain = ReadNodes(*stmt, kNodeColumnCount);
  if (chain.ok() && chain->empty()) {
    return absl::NotFoundError(absl::StrCat("candidate ", candidate_id, " not found"));
  }
  return chain;
}

absl::StatusOr<std::vector<LineageNode>> QueryDescendants(Database& db, int64_t candidate_id,
                                                          int max_depth) {
  if (absl::Status s = RequireCandidate(db, candidate_id); !s.ok()) return s;
  absl::StatusOr<Statement> stmt = db.Prepare(absl::StrCat(
      "WITH RECURSIVE tree(id, depth) AS ("
      "  SELECT ?1, 0"
      "  UNION ALL"
      "  SELECT c.id, tree.depth + 1 FROM candidates c JOIN tree ON c.parent_id = tree.id"
      "  WHERE ?2 < 0 OR tree.depth < ?2"
      ") SELECT ",
      kNodeColumns, ", tree.depth FROM tree JOIN candidates c ON c.id = tree.id"));
  if (!stmt.ok()) return stmt.status();
  stmt->BindAll(candidate_id, max_depth);
  absl::StatusOr<std::vector<LineageNode>> nodes = ReadNodes(*stmt, kNodeColumnCount);
  if (!nodes.ok()) return nodes.status();

  // Depth-first, children in id order: what a tree printer wants.
  std::unordered_map<int64_t, std::vector<size_t>> children;
  size_t root = 0;
  for (size_t i = 0; i < nodes->size(); ++i) {
    if ((*nodes)[i].candidate_id == candidate_id) {
      root = i;
    } else {
      children[(*nodes)[i].parent_id].push_back(i);
    }
  }
  for (auto& [parent, list] : children) {
    std::sort(list.begin(), list.end(), [&](size_t a, size_t b) {
      return (*nodes)[a].candidate_id < (*nodes)[b].candidate_id;
    });
  }
  std::vector<LineageNode> ordered;
  ordered.reserve(nodes->size());
  std::vector<size_t> stack = {root};
  while (!stack.empty()) {
    const size_t i = stack.back();
    stack.pop_back();
    ordered.push_back((*nodes)[i]);
    auto it = children.find((*nodes)[i].candidate_id);
    if (it == children.end()) continue;
    stack.insert(stack.end(), it->second.rbegin(), it->second.rend());
  }
  return ordered;
}

absl::StatusOr<HeadHistory> QueryHeadHistory(Database& db, int64_t head_id) {
  absl::StatusOr<StoredHead> stored = LoadHead(db, head_id);
  if (!stored.ok()) return stored.status();
  HeadHistory history;
  history.head = std::move(stored->head);
  history.search_id = stored->search_id;
  history.created_candidate_id = stored->created_candidate_id;

  absl::StatusOr<Statement> carried = db.Prepare(
      "SELECT ch.candidate_id, c.generation, ch.slot, ch.origin, s.candidate_id IS NOT NULL, "
      "s.layer, s.entropy, s.independence, s.weight_norm, s.importance, s.most_similar_head_id "
      "FROM candidate_heads ch JOIN candidates c ON c.id = ch.candidate_id "
      "LEFT JOIN head_stats s ON s.candidate_id = ch.candidate_id AND s.head_id = ch.head_id "
      "WHERE ch.head_id = ?1 ORDER BY ch.candidate_id");
  if (!carried.ok()) return carried.status();
  carried->Bind(1, head_id);
  absl::Status status = carried->ForEachRow([&](const Statement& row) -> absl::Status {
    HeadAppearance appearance;
    appearance.candidate_id = row.ColumnInt64(0);
    appearance.generation = row.ColumnInt(1);
    appearance.slot = row.ColumnInt(2);
    absl::StatusOr<headevo::v1::HeadOrigin> origin =
        HeadOriginFromText(row.ColumnText(3), "candidate_heads.origin");
    if (!origin.ok()) return origin.status();
    appearance.origin = *origin;
    appearance.has_stats = row.ColumnInt(4) != 0;
    if (appearance.has_stats) {
      appearance.stats.set_head_id(head_id);
      ReadHeadStatsColumns(row, 5, appearance.stats);
    }
    history.appearances.push_back(std::move(appearance));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;

  absl::StatusOr<Statement> pruned = db.Prepare(
      "SELECT p.candidate_id, c.parent_id, c.generation, c.mutation_description "
      "FROM pruned_heads p JOIN candidates c ON c.id = p.candidate_id "
      "WHERE p.head_id = ?1 ORDER BY p.candidate_id");
  if (!pruned.ok()) return pruned.status();
  pruned->Bind(1, head_id);
  status = pruned->ForEachRow([&](const Statement& row) {
    history.prunings.push_back(
        {row.ColumnInt64(0), row.ColumnIdOrZero(1), row.ColumnInt(2), row.ColumnText(3)});
  });
  if (!status.ok()) return status;

  absl::StatusOr<Statement> copies =
      db.Prepare("SELECT id FROM heads WHERE source_head_id = ?1 ORDER BY id");
  if (!copies.ok()) return copies.status();
  copies->Bind(1, head_id);
  status = copies->ForEachRow(
      [&](const Statement& row) { history.copies.push_back(row.ColumnInt64(0)); });
  if (!status.ok()) return status;

  absl::StatusOr<std::vector<headevo::v1::HeadGrowth>> growth = GrowthOfHead(db, head_id);
  if (!growth.ok()) return growth.status();
  history.growth = *std::move(growth);
  absl::StatusOr<std::vector<HeadSource>> sources = SourceChain(db, history.head);
  if (!sources.ok()) return sources.status();
  history.sources = *std::move(sources);
  return history;
}

absl::StatusOr<std::vector<OffsetSurvival>> QueryOffsetSurvival(Database& db, int64_t search_id) {
  absl::StatusOr<Statement> newest =
      db.Prepare("SELECT MAX(generation) FROM candidates WHERE search_id = ?1");
  if (!newest.ok()) return newest.status();
  absl::StatusOr<bool> row = newest->Bind(1, search_id).Step();
  if (!row.ok()) return row.status();
  const int newest_generation = newest->ColumnInt(0);

  // One row per head: its offsets and the generations of the candidates that carried it.
  absl::StatusOr<Statement> heads = db.Prepare(
      "SELECT h.layer, h.offsets, MIN(c.generation), MAX(c.generation), COUNT(*) "
      "FROM heads h JOIN candidate_heads ch ON ch.head_id = h.id "
      "JOIN candidates c ON c.id = ch.candidate_id "
      "WHERE h.search_id = ?1 GROUP BY h.id");
  if (!heads.ok()) return heads.status();
  heads->Bind(1, search_id);
  struct Totals {
    int64_t heads = 0, appearances = 0, lifetime_sum = 0, alive = 0;
    int max_lifetime = 0;
  };
  std::map<std::pair<int, int32_t>, Totals> totals;
  absl::Status status = heads->ForEachRow([&](const Statement& head) -> absl::Status {
    absl::StatusOr<headevo::v1::OffsetSet> offsets =
        OffsetsFromText(head.ColumnText(1), "heads.offsets");
    if (!offsets.ok()) return offsets.status();
    const int lifetime = head.ColumnInt(3) - head.ColumnInt(2) + 1;
    const bool alive = head.ColumnInt(3) == newest_generation;
    for (int32_t offset : offsets->offsets()) {
      Totals& t = totals[{head.ColumnInt(0), offset}];
      ++t.heads;
      t.appearances += head.ColumnInt64(4);
      t.lifetime_sum += lifetime;
      t.max_lifetime = std::max(t.max_lifetime, lifetime);
      t.alive += alive ? 1 : 0;
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  std::vector<OffsetSurvival> survival;
  survival.reserve(totals.size());
  for (const auto& [key, t] : totals) {
    survival.push_back({key.first, key.second, t.heads, t.appearances,
                        static_cast<double>(t.lifetime_sum) / static_cast<double>(t.heads),
                        t.max_lifetime, t.alive});
  }
  // Stable: ties keep the (layer, offset) order of the map.
  std::stable_sort(survival.begin(), survival.end(),
                   [](const OffsetSurvival& a, const OffsetSurvival& b) {
                     return a.mean_lifetime > b.mean_lifetime;
                   });
  return survival;
}

absl::StatusOr<std::vector<LineageNode>> QueryParetoFront(Database& db, int64_t search_id) {
  absl::StatusOr<std::vector<LineageNode>> cheapest_best =
      BestPerGroup(db, search_id, "connections");
  if (!cheapest_best.ok()) return cheapest_best.status();
  // By connections ascending: a candidate is on the front exactly when its loss is below that
  // of every candidate with fewer connections.
  std::vector<LineageNode> front;
  for (LineageNode& node : *cheapest_best) {
    if (front.empty() || node.val_loss < front.back().val_loss) front.push_back(std::move(node));
  }
  return front;
}

absl::StatusOr<std::vector<LineageNode>> QueryBestPerGeneration(Database& db, int64_t search_id) {
  return BestPerGroup(db, search_id, "generation");
}

}  // namespace headevo::storage
