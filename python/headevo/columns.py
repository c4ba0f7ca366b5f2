"""The columns of every DataFrame the readers return: the one list both readers (a database
file, a coordinator) build their frames from, so the two give the same frames. Each frame is
one of the versioned SQL views of docs/schema.md, where every column is documented.
"""

# frame name -> (view, columns in order). Every frame but `searches` is read for one search or,
# with search_id None, for all of them.
FRAMES = {
    "searches": ("v1_searches",
                 ["search_id", "name", "state", "seed", "created_ms", "config_toml"]),
    "candidates": ("v1_candidates",
                   ["candidate_id", "search_id", "generation", "parent_id", "state", "rung",
                    "mutation", "train_loss", "val_loss", "connections", "steps",
                    "train_seconds", "checkpoint_sha256", "error"]),
    "heads": ("v1_heads",
              ["head_id", "search_id", "layer", "offsets", "k", "origin", "sampler",
               "sampler_params", "source_head_id", "created_candidate_id", "extra_key_width"]),
    "candidate_heads": ("v1_candidate_heads",
                        ["candidate_id", "slot", "head_id", "layer", "origin"]),
    "head_stats": ("v1_head_stats",
                   ["candidate_id", "head_id", "layer", "entropy", "independence",
                    "weight_norm", "importance", "most_similar_head_id"]),
    "lineage_edges": ("v1_lineage_edges",
                      ["parent_id", "child_id", "search_id", "generation", "mutation"]),
    "pruned_heads": ("v1_pruned_heads", ["candidate_id", "position", "head_id"]),
    "events": ("v1_events", ["event_id", "search_id", "time_ms", "kind", "message"]),
    # finished_ms is in the view but not here: the RPCs carry no clock readings of training.
    "rung_results": ("v1_rung_results",
                     ["candidate_id", "rung", "steps", "tokens", "train_loss", "val_loss",
                      "train_seconds", "checkpoint_sha256"]),
}

# The key each frame is sorted by, so both readers list rows in the same order.
ORDER = {
    "searches": ["search_id"],
    "candidates": ["candidate_id"],
    "heads": ["head_id"],
    "candidate_heads": ["candidate_id", "slot"],
    "head_stats": ["candidate_id", "head_id"],
    "lineage_edges": ["child_id"],
    "pruned_heads": ["candidate_id", "position"],
    "events": ["event_id"],
    "rung_results": ["candidate_id", "rung"],
}

# The views whose rows belong to candidates rather than carrying a search_id column.
BY_CANDIDATE = {"candidate_heads", "head_stats", "pruned_heads", "rung_results"}

# The columns of Reader.genome(candidate_id): a candidate's heads in genome order.
GENOME = ["slot", "head_id", "layer", "offsets", "extra_key_width"]


def make_frame(name, rows):
    """A DataFrame of frame `name` from tuples in its column order, sorted by its key."""
    import pandas
    frame = pandas.DataFrame.from_records(list(rows), columns=FRAMES[name][1])
    return frame.sort_values(ORDER[name], kind="stable").reset_index(drop=True)
