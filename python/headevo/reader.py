"""What both readers offer: every frame of headevo.columns, a candidate's genome, its
attention pattern, and the Pareto front. Subclasses supply `_rows(name, search_id)` and
`_genome_rows(candidate_id)`."""

from headevo import columns


class Reader:
    """A search's lineage as pandas DataFrames (docs/schema.md documents every column).

    Every method with a `search_id` reads that search, or every search when it is None.
    "No value" (a root's parent, a loss not yet recorded) is None/NaN, never 0 or ''.
    """

    def searches(self):
        return self._frame("searches", None)

    def candidates(self, search_id=None):
        return self._frame("candidates", search_id)

    def heads(self, search_id=None):
        return self._frame("heads", search_id)

    def candidate_heads(self, search_id=None):
        return self._frame("candidate_heads", search_id)

    def head_stats(self, search_id=None):
        return self._frame("head_stats", search_id)

    def lineage_edges(self, search_id=None):
        return self._frame("lineage_edges", search_id)

    def pruned_heads(self, search_id=None):
        return self._frame("pruned_heads", search_id)

    def events(self, search_id=None):
        return self._frame("events", search_id)

    def rung_results(self, search_id=None):
        return self._frame("rung_results", search_id)

    def genome(self, candidate_id):
        """The candidate's heads in genome order: slot, head_id, layer, offsets (a list of
        ints), extra_key_width. LookupError when there is no such candidate."""
        import pandas
        rows = self._genome_rows(candidate_id)
        return pandas.DataFrame.from_records(rows, columns=columns.GENOME)

    def pattern(self, candidate_id):
        """Each layer's heads' offsets: headevo.pattern of the candidate's genome."""
        from headevo.pattern import pattern
        return pattern(self.genome(candidate_id))

    def pareto_front(self, search_id=None):
        """The DONE candidates no other beats on both val_loss and connections, fewest
        connections first (headevo pareto's front, computed from candidates())."""
        from headevo.analysis import pareto_front
        return pareto_front(self.candidates(search_id))

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _frame(self, name, search_id):
        return columns.make_frame(name, self._rows(name, search_id))


def parse_offsets(text):
    """'-17,-3,-1' (the views' form) -> [-17, -3, -1]."""
    return [int(part) for part in text.split(",")] if text else []
