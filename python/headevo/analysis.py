"""Small computations over the frames that analyses share: the Pareto front, a candidate's
ancestry, how long heads lived."""


def pareto_front(candidates):
    """The rows of a candidates() frame that are DONE and not dominated in (connections,
    val_loss): no other row has at most as many connections and a lower loss, or fewer
    connections and at most the loss. Fewest connections first."""
    done = candidates[(candidates["state"] == "DONE") & candidates["val_loss"].notna()]
    done = done.sort_values(["connections", "val_loss", "candidate_id"], kind="stable")
    keep, best = [], float("inf")
    for index, row in done.iterrows():
        if row["val_loss"] < best:
            keep.append(index)
            best = row["val_loss"]
    return done.loc[keep].reset_index(drop=True)


def ancestry(candidates, candidate_id):
    """The candidate and its ancestors, root first, as rows of a candidates() frame.
    LookupError when the candidate is not in the frame."""
    by_id = candidates.set_index("candidate_id", drop=False)
    if candidate_id not in by_id.index:
        raise LookupError("candidate %d is not in this frame" % candidate_id)
    chain = []
    current = candidate_id
    while current is not None and current == current and current in by_id.index:
        row = by_id.loc[current]
        chain.append(row)
        parent = row["parent_id"]
        current = None if parent is None or parent != parent else int(parent)
    import pandas
    return pandas.DataFrame(chain[::-1]).reset_index(drop=True)


def head_lifetimes(candidate_heads, candidates, heads):
    """One row per head: head_id, layer, offsets, first_generation, last_generation,
    generations (last - first + 1) and candidates (how many genomes held it), longest-lived
    first."""
    joined = candidate_heads.merge(candidates[["candidate_id", "generation"]], on="candidate_id")
    life = joined.groupby("head_id").agg(first_generation=("generation", "min"),
                                         last_generation=("generation", "max"),
                                         candidates=("candidate_id", "count")).reset_index()
    life["generations"] = life["last_generation"] - life["first_generation"] + 1
    life = life.merge(heads[["head_id", "layer", "offsets"]], on="head_id")
    life = life.sort_values(["generations", "candidates", "head_id"],
                            ascending=[False, False, True], kind="stable")
    return life[["head_id", "layer", "offsets", "first_generation", "last_generation",
                 "generations", "candidates"]].reset_index(drop=True)
