"""What the repo map reads from the SQLite store: every definition, every file and every
resolved reference, each in one whole-table query.
"""

# Whole-table scans rather than the per-node walks of graph/query.py: PageRank needs the
# entire graph at once. On the CPython standard library (~72k definitions, ~330k resolved
# references) the edges scan is about half of the map's run time. The cyclic garbage
# collector is paused while the rows are built: a million fresh tuples and strings, none
# in a cycle, would otherwise trigger dozens of full collections for nothing.

from __future__ import annotations

import gc
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from ..graph.refgraph import KEY_SEPARATOR, CodeGraph, Definition

_KEY_SQL = f"char({ord(KEY_SEPARATOR)})"


def read_code_graph(db: sqlite3.Connection) -> CodeGraph:
    with _collector_paused():
        defs = sorted((Definition(*row) for row in db.execute(
            "SELECT f.path, s.qualname, s.name, s.kind, s.parent, s.start_line, s.end_line,"
            " s.signature, f.is_test FROM symbols s JOIN files f ON f.id = s.file_id")),
            key=lambda d: (d.path, d.start_line, -d.end_line))
        files = tuple(r[0] for r in db.execute("SELECT path FROM files ORDER BY path"))
        # Unresolved references point at nothing to rank; confidence 0 carries no vote.
        refs = db.execute(
            f"SELECT f.path || {_KEY_SQL} || e.src, e.dst_path || {_KEY_SQL} || e.dst,"
            " e.kind, e.confidence FROM edges e JOIN files f ON f.id = e.src_file"
            " WHERE e.dst_path IS NOT NULL AND e.confidence > 0").fetchall()
        columns = tuple(zip(*refs)) if refs else ((), (), (), ())
    return CodeGraph(tuple(defs), files, *columns)


@contextmanager
def _collector_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
