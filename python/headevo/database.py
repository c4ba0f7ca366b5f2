"""headevo.open_db: a lineage database file read through its versioned views (docs/schema.md),
read-only, so a coordinator may go on writing it."""

import os
import pathlib
import sqlite3

from headevo import columns
from headevo.reader import Reader, parse_offsets

# The first schema version with the v1_ views (storage/schema.cc, migration 8).
VIEWS_SINCE_SCHEMA = 8


class DatabaseError(Exception):
    """The file cannot be read as a lineage database; the message says why and what to do."""


class DatabaseReader(Reader):
    """Reads `path` through the v1_ views. Opens the file read-only (never creates or changes
    it). Not shared across threads: open one per thread."""

    def __init__(self, path):
        if not os.path.exists(path):
            raise DatabaseError("no database at %s" % path)
        # as_uri() percent-encodes what a URI would misread ('?', '#', '%' in a file name).
        uri = pathlib.Path(os.path.abspath(path)).as_uri() + "?mode=ro"
        try:
            self._db = sqlite3.connect(uri, uri=True)
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as e:
            raise DatabaseError("%s is not an SQLite database headevo can read: %s" % (path, e))
        if version < VIEWS_SINCE_SCHEMA:
            self._db.close()
            raise DatabaseError(
                "%s has schema version %d, which has no v1_ views (they came with version %d): "
                "open it once with a newer headevo to upgrade it in place, e.g. "
                "`headevo serve --db %s`" % (path, version, VIEWS_SINCE_SCHEMA, path))
        self.path = path
        self.schema_version = version

    def close(self):
        self._db.close()

    def sql(self, query, params=()):
        """Any read-only query (of the v1_ views, say) as a DataFrame."""
        import pandas
        return pandas.read_sql_query(query, self._db, params=params)

    def _rows(self, name, search_id):
        view, names = columns.FRAMES[name]
        query = "SELECT %s FROM %s" % (", ".join(names), view)
        params = ()
        if search_id is not None:
            if name in columns.BY_CANDIDATE:
                query += (" WHERE candidate_id IN "
                          "(SELECT candidate_id FROM v1_candidates WHERE search_id = ?)")
            else:
                query += " WHERE search_id = ?"
            params = (int(search_id),)
        return self._db.execute(query, params).fetchall()

    def _genome_rows(self, candidate_id):
        found = self._db.execute("SELECT 1 FROM v1_candidates WHERE candidate_id = ?",
                                 (int(candidate_id),)).fetchone()
        if found is None:
            raise LookupError("no candidate %d in %s" % (candidate_id, self.path))
        rows = self._db.execute(
            "SELECT ch.slot, ch.head_id, h.layer, h.offsets, h.extra_key_width "
            "FROM v1_candidate_heads ch JOIN v1_heads h ON h.head_id = ch.head_id "
            "WHERE ch.candidate_id = ? ORDER BY ch.slot", (int(candidate_id),)).fetchall()
        return [(slot, head, layer, parse_offsets(offsets), extra)
                for slot, head, layer, offsets, extra in rows]


def open_db(path):
    """A Reader of the lineage database at `path` (headevo run --db / serve --db).
    DatabaseError naming the problem when it is missing, not a database, or too old."""
    return DatabaseReader(path)
