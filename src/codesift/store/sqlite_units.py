"""What `codesift sql link` reads from the SQLite store: the files that may use a table
(named in their text, or placed where ORM models and migrations live) and their units."""

# The file-level FTS index answers "which files name any of these tables" without reading
# a single chunk text, so a repository of tens of thousands of units is narrowed to the
# few hundred files worth rebuilding and scanning.

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence

from .sqlite import fts_query

BATCH = 500  # ids per IN (...) list: far below SQLite's variable limit


def files_naming(db: sqlite3.Connection, terms: Sequence[str],
                 path_likes: Sequence[str] = ()) -> list[tuple[int, str, str]]:
    """(id, path, language) of the files whose text holds any of `terms` (index tokens)
    or whose path matches any of the LIKE patterns, in path order."""
    ids: set[int] = set()
    for start in range(0, len(terms), BATCH):
        part = terms[start:start + BATCH]
        ids.update(r[0] for r in db.execute(
            "SELECT rowid FROM files_fts WHERE files_fts MATCH ?", (fts_query(part),)))
    for like in path_likes:
        ids.update(r[0] for r in db.execute(
            "SELECT id FROM files WHERE path LIKE ? ESCAPE '\\'", (like,)))
    rows: list[tuple[int, str, str]] = []
    ordered = sorted(ids)
    for start in range(0, len(ordered), BATCH):
        part = ordered[start:start + BATCH]
        rows += db.execute(f"SELECT id, path, language FROM files WHERE id IN "
                           f"({','.join('?' * len(part))})", part).fetchall()
    return sorted(rows, key=lambda r: r[1])


def all_files(db: sqlite3.Connection) -> list[tuple[int, str, str]]:
    return db.execute("SELECT id, path, language FROM files ORDER BY path").fetchall()


def file_units(db: sqlite3.Connection, file_ids: Sequence[int]
               ) -> Iterator[tuple[int, str, str, int, int, str]]:
    """(file id, kind, symbol, start line, end line, text) of every unit of the files,
    grouped by file."""
    for start in range(0, len(file_ids), BATCH):
        part = list(file_ids[start:start + BATCH])
        yield from db.execute(
            "SELECT file_id, kind, symbol, start_line, end_line, context_text FROM chunks "
            f"WHERE file_id IN ({','.join('?' * len(part))}) ORDER BY file_id, start_line",
            part)
