#include "storage/schema_views.h"

namespace headevo::storage {

// Conventions across the views (docs/schema.md): "no value" is NULL (a root's parent, an
// unrecorded loss, a checkpoint not kept, an empty error), never 0 or ''; enum columns hold
// the name without its prefix ('DONE', 'INHERITED'). Every view is a plain projection of the
// tables, so it costs what the table scan costs and stays correct whatever writes them.
const char kCreateViewsV1Sql[] = R"sql(
CREATE VIEW v1_searches AS
  SELECT id AS search_id, name, state, seed, created_ms, config_toml
  FROM searches;

CREATE VIEW v1_candidates AS
  SELECT id AS candidate_id, search_id, generation, parent_id, state, rung,
         mutation_description AS mutation, train_loss, val_loss, connections, steps,
         train_seconds, NULLIF(checkpoint_sha256, '') AS checkpoint_sha256,
         NULLIF(error, '') AS error
  FROM candidates;

CREATE VIEW v1_heads AS
  SELECT id AS head_id, search_id, layer, offsets, k, origin, sampler, sampler_params,
         source_head_id, created_candidate_id, extra_key_width
  FROM heads;

CREATE VIEW v1_candidate_heads AS
  SELECT ch.candidate_id, ch.slot, ch.head_id, h.layer, ch.origin
  FROM candidate_heads ch JOIN heads h ON h.id = ch.head_id;

CREATE VIEW v1_head_stats AS
  SELECT candidate_id, head_id, layer, entropy, independence, weight_norm, importance,
         NULLIF(most_similar_head_id, 0) AS most_similar_head_id
  FROM head_stats;

CREATE VIEW v1_lineage_edges AS
  SELECT parent_id, id AS child_id, search_id, generation,
         mutation_description AS mutation
  FROM candidates WHERE parent_id IS NOT NULL;

CREATE VIEW v1_pruned_heads AS
  SELECT candidate_id, position, head_id FROM pruned_heads;

CREATE VIEW v1_events AS
  SELECT id AS event_id, search_id, time_ms, kind, message FROM events;

CREATE VIEW v1_rung_results AS
  SELECT candidate_id, rung, steps, tokens, train_loss, val_loss, train_seconds,
         NULLIF(checkpoint_sha256, '') AS checkpoint_sha256, finished_ms
  FROM rung_results;
)sql";

}  // namespace headevo::storage
