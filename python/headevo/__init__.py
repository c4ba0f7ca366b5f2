"""headevo from Python: a search's lineage as pandas DataFrames, and a trained candidate as a
PyTorch model.

    import headevo
    db = headevo.open_db("search.db")             # or headevo.connect("HOST:50051", token=...)
    front = db.pareto_front(1)                     # candidates(1), heads(1), head_stats(1), ...
    model = headevo.model.load("model.pt")        # from `headevo export-model 42 -o model.pt`

Readers (open_db, connect) give the same frames: searches, candidates, heads, candidate_heads,
head_stats, lineage_edges, pruned_heads, events, rung_results; docs/schema.md documents each
column, docs/python.md the package. Runs on Debian's python3 with python3-pandas (frames),
python3-grpcio and protoc + grpc_python_plugin (connect; stubs.py generates the stubs from
proto/) and python3-torch (model, masks).
"""

import importlib

from headevo.database import DatabaseError, open_db
from headevo.pattern import attention_mask, mask_mod, pattern
from headevo.remote import connect
from headevo.stubs import StubError

__all__ = ["open_db", "connect", "pattern", "attention_mask", "mask_mod", "model",
           "DatabaseError", "StubError"]


def __getattr__(name):
    # headevo.model imports torch (seconds); only those who use it pay for it.
    if name in ("model", "analysis"):
        return importlib.import_module("headevo." + name)
    raise AttributeError("module 'headevo' has no attribute %r" % name)
