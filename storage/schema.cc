#include "storage/schema.h"

#include <iterator>

#include "absl/strings/str_cat.h"
#include "storage/schema_views.h"
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
  origin TEXT NOT NULL,   -- INITIAL or SAMPLED (version 4: or GROWN)
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
    {"version 2: jobs with leases, workers, checkpoints, events; indexes for lineage queries",
     R"sql(
-- Times are milliseconds since the Unix epoch, as the coordinator's clock gave them.
CREATE TABLE workers (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,          -- what the worker calls itself (host, pod)
  device TEXT NOT NULL,        -- 'cpu', 'cuda:0'
  memory_bytes INTEGER NOT NULL DEFAULT 0,
  registered_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL
);

-- One evaluation of one candidate. `attempt` counts the leases handed out so far and is the
-- lease's fencing token: only the current attempt of a LEASED job may report. A lease that
-- runs out puts the job back in the queue until max_attempts leases have been spent.
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  candidate_id INTEGER NOT NULL UNIQUE REFERENCES candidates(id),
  search_id INTEGER NOT NULL REFERENCES searches(id),
  state TEXT NOT NULL,                 -- QUEUED, LEASED, DONE, FAILED
  training BLOB NOT NULL,              -- headevo.v1.TrainingSpec, seed included
  parent_checkpoint_sha256 TEXT,       -- weights to start from, NULL for none
  attempt INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  worker_id INTEGER REFERENCES workers(id),
  lease_expires_ms INTEGER,
  created_ms INTEGER NOT NULL,
  finished_ms INTEGER,                 -- NULL until finished, or when finished without a time
  last_error TEXT
);
CREATE INDEX jobs_queued ON jobs(search_id, id) WHERE state = 'QUEUED';
CREATE INDEX jobs_leased ON jobs(lease_expires_ms) WHERE state = 'LEASED';

-- Checkpoint files (named by their SHA-256 in the checkpoint directory) that results named.
CREATE TABLE checkpoints (
  sha256 TEXT PRIMARY KEY,
  candidate_id INTEGER NOT NULL REFERENCES candidates(id),
  created_ms INTEGER  -- NULL when the result came without a time (Store::RecordResult)
) WITHOUT ROWID;
CREATE INDEX checkpoints_by_candidate ON checkpoints(candidate_id);

-- What happened to a search, for people: started, generation done, new best, stopped.
CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  search_id INTEGER REFERENCES searches(id),
  time_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  message TEXT NOT NULL
);
CREATE INDEX events_by_search ON events(search_id, id);

ALTER TABLE head_stats ADD COLUMN most_similar_head_id INTEGER;
-- Indexes no query reads, each an extra B-tree to update for every row a generation writes:
-- a head's statistics are read through candidate_heads and head_stats' primary key, and a
-- head's candidate and search are read from its own row.
DROP INDEX head_stats_by_head;
DROP INDEX heads_by_created_candidate;
DROP INDEX heads_by_search;

-- candidate_heads and pruned_heads again, with the primary key's columns declared first.
-- Same rows and meaning; SQLite 3.40's integrity_check falsely reports "NULL value in
-- <table>.<column>" for a WITHOUT ROWID table whose primary key is not a prefix of its
-- columns, and a check that cries wolf would hide real corruption. Without the unique
-- (candidate_id, head_id) indexes: the writer refuses a head twice in one genome or one
-- pruned list itself, and the indexes cost a sixth of a generation's insert time and 18 bytes
-- per head row.
CREATE TABLE candidate_heads_v2 (
  candidate_id INTEGER NOT NULL REFERENCES candidates(id),
  slot INTEGER NOT NULL,
  head_id INTEGER NOT NULL REFERENCES heads(id),
  origin TEXT NOT NULL,
  PRIMARY KEY (candidate_id, slot)
) WITHOUT ROWID;
INSERT INTO candidate_heads_v2(candidate_id, slot, head_id, origin)
  SELECT candidate_id, slot, head_id, origin FROM candidate_heads;
DROP TABLE candidate_heads;
ALTER TABLE candidate_heads_v2 RENAME TO candidate_heads;
CREATE INDEX candidate_heads_by_head ON candidate_heads(head_id);

CREATE TABLE pruned_heads_v2 (
  candidate_id INTEGER NOT NULL REFERENCES candidates(id),
  position INTEGER NOT NULL,
  head_id INTEGER NOT NULL REFERENCES heads(id),
  PRIMARY KEY (candidate_id, position)
) WITHOUT ROWID;
INSERT INTO pruned_heads_v2(candidate_id, position, head_id)
  SELECT candidate_id, position, head_id FROM pruned_heads;
DROP TABLE pruned_heads;
ALTER TABLE pruned_heads_v2 RENAME TO pruned_heads;
CREATE INDEX pruned_heads_by_head ON pruned_heads(head_id);

-- The Pareto front and best-per-generation queries read these instead of every candidate.
CREATE INDEX candidates_by_generation ON candidates(search_id, generation, val_loss)
  WHERE val_loss IS NOT NULL;
CREATE INDEX candidates_by_cost ON candidates(search_id, connections, val_loss)
  WHERE val_loss IS NOT NULL;
)sql"},
    {"version 3: the strategy state a resumed search continues from; search creation time",
     R"sql(
-- headevo.v1.StrategyState, written in the same transaction as the children it made; NULL
-- until the first children (a search restarted before then starts its strategy afresh).
ALTER TABLE searches ADD COLUMN strategy_state BLOB;
ALTER TABLE searches ADD COLUMN created_ms INTEGER;
UPDATE searches SET created_ms = CAST(strftime('%s', created_at) AS INTEGER) * 1000;
-- Unfinished jobs' parent checkpoints, for checkpoint collection.
CREATE INDEX jobs_open ON jobs(state) WHERE state IN ('QUEUED', 'LEASED');
-- The oldest queued job by id: with jobs_queued (search_id, id) SQLite walked every job in id
-- order to satisfy ORDER BY id across searches, a full scan per lease.
CREATE INDEX jobs_queued_by_id ON jobs(id) WHERE state = 'QUEUED';
)sql"},
    {"version 4: growth (heads widened by the functional-gradient step, and its records)",
     R"sql(
-- Query/key columns beyond the model's d_head that growth gave the head; 0 for every head
-- written before growth existed, and for every head that never grew.
ALTER TABLE heads ADD COLUMN extra_key_width INTEGER NOT NULL DEFAULT 0;

-- What the worker's growth step did to a head of a candidate before training
-- (EvaluationResult.growth), written with the rest of the result. kind: WIDEN (a GROWN head,
-- widened from source_head_id by added_key_width columns) or NEW_HEAD (a new head the gradient
-- initialiser set up, source_head_id NULL). Loss changes are on the growth batches; negative
-- means the loss went down.
CREATE TABLE head_growth (
  candidate_id INTEGER NOT NULL REFERENCES candidates(id),
  head_id INTEGER NOT NULL REFERENCES heads(id),
  source_head_id INTEGER REFERENCES heads(id),
  layer INTEGER NOT NULL,
  kind TEXT NOT NULL,
  added_key_width INTEGER NOT NULL,
  scale REAL NOT NULL,
  predicted_loss_change REAL NOT NULL,
  measured_loss_change REAL NOT NULL,
  PRIMARY KEY (candidate_id, head_id)
) WITHOUT ROWID;
CREATE INDEX head_growth_by_head ON head_growth(head_id);
)sql"},
    {"version 5: reference models (dense attention, baselines) as jobs of their search",
     R"sql(
-- A model a search trains beside its candidates to compare them with (headevo.v1.Reference):
-- dense attention or a hand-made pattern. Outside the lineage: no heads, no parent. kind is
-- the attention kind in lower case ('dense', 'local', ...); role 'baseline' or 'k_sweep_bar';
-- state as candidates.state; result columns NULL until recorded, as in candidates.
CREATE TABLE reference_models (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  search_id INTEGER NOT NULL REFERENCES searches(id),
  kind TEXT NOT NULL,
  description TEXT NOT NULL,
  role TEXT NOT NULL,
  genome BLOB NOT NULL,  -- headevo.v1.Genome the worker receives (head counts per layer)
  state TEXT NOT NULL,
  train_loss REAL,
  val_loss REAL,
  connections INTEGER,
  steps INTEGER,
  train_seconds REAL,
  error TEXT
);
CREATE INDEX reference_models_by_search ON reference_models(search_id, id);

-- jobs again, with a job evaluating either a candidate or a reference model (exactly one).
-- Same rows; SQLite cannot drop a NOT NULL in place.
CREATE TABLE jobs_v5 (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  candidate_id INTEGER UNIQUE REFERENCES candidates(id),
  search_id INTEGER NOT NULL REFERENCES searches(id),
  state TEXT NOT NULL,
  training BLOB NOT NULL,
  parent_checkpoint_sha256 TEXT,
  attempt INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  worker_id INTEGER REFERENCES workers(id),
  lease_expires_ms INTEGER,
  created_ms INTEGER NOT NULL,
  finished_ms INTEGER,
  last_error TEXT,
  reference_id INTEGER UNIQUE REFERENCES reference_models(id),
  CHECK ((candidate_id IS NULL) <> (reference_id IS NULL))
);
INSERT INTO jobs_v5(id, candidate_id, search_id, state, training, parent_checkpoint_sha256,
                    attempt, max_attempts, worker_id, lease_expires_ms, created_ms, finished_ms,
                    last_error)
  SELECT id, candidate_id, search_id, state, training, parent_checkpoint_sha256, attempt,
         max_attempts, worker_id, lease_expires_ms, created_ms, finished_ms, last_error
  FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_v5 RENAME TO jobs;
CREATE INDEX jobs_queued ON jobs(search_id, id) WHERE state = 'QUEUED';
CREATE INDEX jobs_leased ON jobs(lease_expires_ms) WHERE state = 'LEASED';
CREATE INDEX jobs_open ON jobs(state) WHERE state IN ('QUEUED', 'LEASED');
CREATE INDEX jobs_queued_by_id ON jobs(id) WHERE state = 'QUEUED';
)sql"},
    {"version 6: the digest of the report that completed a job",
     R"sql(
-- storage/report_digest.h of the result that completed the job; NULL for a job not DONE, or
-- DONE before version 6 (a repeat of such a report is judged by its attempt alone).
ALTER TABLE jobs ADD COLUMN result_digest TEXT;
)sql"},
    {"version 7: multi-fidelity rungs",
     R"sql(
-- jobs again: a candidate may now have one job per rung (its first training, then each
-- promotion), told apart by `rung`; a promotion continues from resume_checkpoint_sha256.
CREATE TABLE jobs_v7 (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  candidate_id INTEGER REFERENCES candidates(id),
  search_id INTEGER NOT NULL REFERENCES searches(id),
  state TEXT NOT NULL,
  training BLOB NOT NULL,
  parent_checkpoint_sha256 TEXT,
  attempt INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  worker_id INTEGER REFERENCES workers(id),
  lease_expires_ms INTEGER,
  created_ms INTEGER NOT NULL,
  finished_ms INTEGER,
  last_error TEXT,
  reference_id INTEGER UNIQUE REFERENCES reference_models(id),
  result_digest TEXT,
  rung INTEGER NOT NULL DEFAULT 0,
  resume_checkpoint_sha256 TEXT,
  CHECK ((candidate_id IS NULL) <> (reference_id IS NULL)),
  UNIQUE (candidate_id, rung)
);
INSERT INTO jobs_v7(id, candidate_id, search_id, state, training, parent_checkpoint_sha256,
                    attempt, max_attempts, worker_id, lease_expires_ms, created_ms, finished_ms,
                    last_error, reference_id, result_digest)
  SELECT id, candidate_id, search_id, state, training, parent_checkpoint_sha256, attempt,
         max_attempts, worker_id, lease_expires_ms, created_ms, finished_ms, last_error,
         reference_id, result_digest
  FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_v7 RENAME TO jobs;
CREATE INDEX jobs_queued ON jobs(search_id, id) WHERE state = 'QUEUED';
CREATE INDEX jobs_leased ON jobs(lease_expires_ms) WHERE state = 'LEASED';
CREATE INDEX jobs_open ON jobs(state) WHERE state IN ('QUEUED', 'LEASED');
CREATE INDEX jobs_queued_by_id ON jobs(id) WHERE state = 'QUEUED';

-- The highest rung a candidate finished; its metrics columns are that rung's. The best are
-- those of the highest rung, then the lowest loss: the index answers that without a sort.
ALTER TABLE candidates ADD COLUMN rung INTEGER NOT NULL DEFAULT 0;
CREATE INDEX candidates_by_rung ON candidates(search_id, rung DESC, val_loss, id)
  WHERE val_loss IS NOT NULL AND state = 'DONE';

-- Every rung a candidate finished (headevo.v1.RungResult): its learning curve.
CREATE TABLE rung_results (
  candidate_id INTEGER NOT NULL REFERENCES candidates(id),
  rung INTEGER NOT NULL CHECK (rung >= 0),
  steps INTEGER NOT NULL,
  tokens INTEGER NOT NULL,
  train_loss REAL,
  val_loss REAL,
  train_seconds REAL,
  checkpoint_sha256 TEXT,
  finished_ms INTEGER,
  PRIMARY KEY (candidate_id, rung)
) WITHOUT ROWID;
INSERT INTO rung_results(candidate_id, rung, steps, tokens, train_loss, val_loss, train_seconds,
                         checkpoint_sha256, finished_ms)
  SELECT c.id, 0, COALESCE(c.steps, 0), 0, c.train_loss, c.val_loss, c.train_seconds,
         NULLIF(c.checkpoint_sha256, ''),
         (SELECT j.finished_ms FROM jobs j WHERE j.candidate_id = c.id)
  FROM candidates c WHERE c.state = 'DONE';
)sql"},
    // The statements live in schema_views.cc: readers outside headevo depend on them.
    {"version 8: versioned read-only views for outside readers (docs/schema.md)",
     kCreateViewsV1Sql},
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

absl::Status Migrate(Database& db) { return MigrateTo(db, kLatestVersion); }

absl::Status MigrateTo(Database& db, int target_version) {
  if (target_version < 0 || target_version > kLatestVersion) {
    return absl::InvalidArgumentError(absl::StrCat("no schema version ", target_version));
  }
  absl::StatusOr<Transaction> txn = Transaction::Begin(db, Transaction::Mode::kWrite);
  if (!txn.ok()) return txn.status();
  absl::StatusOr<int> version = ReadSchemaVersion(db);
  if (!version.ok()) return version.status();
  if (absl::Status status = CheckNotNewer(db, *version); !status.ok()) return status;
  // Another process migrated first; the empty transaction ends in the destructor.
  if (*version >= target_version) return absl::OkStatus();
  for (int v = *version + 1; v <= target_version; ++v) {
    const Migration& migration = kMigrations[v - 1];
    absl::Status status =
        db.Exec(migration.sql, absl::StrCat("migrating to schema ", migration.description));
    if (!status.ok()) return status;
  }
  // PRAGMA takes no bound parameters; the value is our own integer.
  absl::Status status =
      db.Exec(absl::StrCat("PRAGMA user_version = ", target_version), "setting the schema version");
  if (!status.ok()) return status;
  return txn->Commit();
}

}  // namespace headevo::storage
