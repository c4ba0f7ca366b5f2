#include "storage/schema.h"

#include <iterator>

#include "absl/strings/str_cat.h"
#include "storage/transaction.h"

namespace headevo::storage {
namespace {

struct Migration {
  const char* description;
  const char* sql;
};

// Conventions: ids are AUTOINCREMENT so an id, once handed out, never names another row (ids
// are quoted in papers and logs months later). Enum columns hold the proto enum value name
// without its prefix ('DONE', 'INHERITED', 'UNIFORM'). Optional references are NULL, never 0.
// Result columns of candidates are NULL until a result is recorded. SQLite stores a NaN
// double as NULL, so a NULL REAL in a recorded result reads back as NaN (a diverged run).
constexpr Migration kMigrations[] = {
    {"version 1: searches, candidates, heads and their lineage",
     R"sql(
CREATE TABLE searches (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  config_toml TEXT NOT NULL,
  seed INTEGER NOT NULL,  -- the uint64 seed's bits as a signed 64-bit integer
  state TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP  -- informational only
);

CREATE TABLE candidates (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  search_id INTEGER NOT NULL REFERENCES searches(id),
  generation INTEGER NOT NULL,
  parent_id INTEGER REFERENCES candidates(id),
  state TEXT NOT NULL,
  num_layers INTEGER NOT NULL,
  mutation_description TEXT NOT NULL DEFAULT '',
  train_loss REAL,
  val_loss REAL,
  connections INTEGER,
  steps INTEGER,
  train_seconds REAL,
  checkpoint_sha256 TEXT,
  error TEXT
);
CREATE INDEX candidates_by_search ON candidates(search_id, id);
CREATE INDEX candidates_by_parent ON candidates(parent_id);

-- A head as first written. Carried unchanged into descendants by id (see candidate_heads).
CREATE TABLE heads (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  search_id INTEGER NOT NULL REFERENCES searches(id),
  layer INTEGER NOT NULL,
  offsets TEXT NOT NULL,  -- sorted, unique, comma-separated: '-17,-3,-1'
  k INTEGER NOT NULL,
  origin TEXT NOT NULL,   -- INITIAL or SAMPLED
  sampler TEXT NOT NULL,
  sampler_params TEXT NOT NULL DEFAULT '',
  source_head_id INTEGER REFERENCES heads(id),
  created_candidate_id INTEGER NOT NULL REFERENCES candidates(id)
);
CREATE INDEX heads_by_search ON heads(search_id);
CREATE INDEX heads_by_source ON heads(source_head_id);
CREATE INDEX heads_by_created_candidate ON heads(created_candidate_id);

-- Each appearance of a head in a candidate's genome. origin: INITIAL or SAMPLED in the
-- candidate that created the head, INHERITED in every later one.
CREATE TABLE candidate_heads (
  candidate_id INTEGER NOT NULL REFERENCES candidates(id),
  head_id INTEGER NOT NULL REFERENCES heads(id),
  slot INTEGER NOT NULL,
  origin TEXT NOT NULL,
  PRIMARY KEY (candidate_id, slot),
  UNIQUE (candidate_id, head_id)
) WITHOUT ROWID;
CREATE INDEX candidate_heads_by_head ON candidate_heads(head_id);

-- Heads of the parent that a child candidate dropped, in the order the mutation listed them.
CREATE TABLE pruned_heads (
  candidate_id INTEGER NOT NULL REFERENCES candidates(id),
  head_id INTEGER NOT NULL REFERENCES heads(id),
  position INTEGER NOT NULL,
  PRIMARY KEY (candidate_id, position),
  UNIQUE (candidate_id, head_id)
) WITHOUT ROWID;
CREATE INDEX pruned_heads_by_head ON pruned_heads(head_id);

CREATE TABLE head_stats (
  candidate_id INTEGER NOT NULL REFERENCES candidates(id),
  head_id INTEGER NOT NULL REFERENCES heads(id),
  layer INTEGER NOT NULL,
  entropy REAL,  -- signals are NULL where they were NaN (e.g. entropy of a k = 1 head)
  independence REAL,
  weight_norm REAL,
  importance REAL,
  PRIMARY KEY (candidate_id, head_id)
) WITHOUT ROWID;
CREATE INDEX head_stats_by_head ON head_stats(head_id);
)sql"},
};

constexpr int kLatestVersion = static_cast<int>(std::size(kMigrations));

}  // namespace

int LatestSchemaVersion() { return kLatestVersion; }

absl::StatusOr<int> ReadSchemaVersion(Database& db) {
  absl::StatusOr<int64_t> version = db.QueryInt64("PRAGMA user_version");
  if (!version.ok()) return version.status();
  return static_cast<int>(*version);
}

absl::Status CheckNotNewer(const Database& db, int version) {
  if (version <= kLatestVersion) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat("database ", db.path(), " has schema version ",
                                                    version, ", this headevo understands up to ",
                                                    kLatestVersion, "; upgrade headevo"));
}

absl::Status Migrate(Database& db) {
  absl::StatusOr<Transaction> txn = Transaction::Begin(db, Transaction::Mode::kWrite);
  if (!txn.ok()) return txn.status();
  absl::StatusOr<int> version = ReadSchemaVersion(db);
  if (!version.ok()) return version.status();
  if (absl::Status status = CheckNotNewer(db, *version); !status.ok()) return status;
  // Another process migrated first; the empty transaction ends in the destructor.
  if (*version == kLatestVersion) return absl::OkStatus();
  for (int v = *version + 1; v <= kLatestVersion; ++v) {
    const Migration& migration = kMigrations[v - 1];
    absl::Status status =
        db.Exec(migration.sql, absl::StrCat("migrating to schema ", migration.description));
    if (!status.ok()) return status;
  }
  // PRAGMA takes no bound parameters; the value is our own integer.
  absl::Status status =
      db.Exec(absl::StrCat("PRAGMA user_version = ", kLatestVersion), "setting the schema version");
  if (!status.ok()) return status;
  return txn->Commit();
}

}  // namespace headevo::storage
