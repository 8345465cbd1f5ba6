"""The code graph's tables in the SQLite store: definitions and references in, edges out,
and the neighbour lookups graph queries walk.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from ..graph.symtab import Def
from ..model import Edge, Reference

# The edges table's indexes as migration 4 made them. A full pass drops them and builds
# them again after its inserts: one sort per index instead of 400k B-tree updates each.
EDGE_INDEXES = {
    "edges_dst": "edges(dst, dst_path)",
    "edges_src": "edges(src_file, src)",
    "edges_bare": "edges(bare)",
}
_EDGE_COLUMNS = "f.path, e.src, e.kind, e.name, e.line, e.dst_path, e.dst, e.confidence"


def _edge(row) -> Edge:
    path, src, kind, name, line, dst_path, dst, conf = row
    return Edge(kind, path, src, name, line, dst_path, dst, conf)


class GraphTables:
    """Reads and writes of the edges table over one store connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    # -- what resolution reads -------------------------------------------------------

    _DEF_SQL = ("SELECT f.path, s.qualname, s.name, s.kind, s.parent, s.start_line, f.language,"
                " s.signature FROM symbols s JOIN files f ON f.id = s.file_id")

    def defs(self) -> list[Def]:
        """Every definition. SQLite hands back new strings for every row: one shared copy
        of each path, name, qualname, parent, kind and language takes a full pass's
        definitions from 138 to 83 MB of RSS (Linux 10M: 265,346 of them)."""
        same: dict[str, str] = {}
        one = same.setdefault
        return [Def(one(p, p), one(q, q), one(n, n), one(k, k), par and one(par, par), line,
                    one(lang, lang), sig)
                for p, q, n, k, par, line, lang, sig in self.db.execute(self._DEF_SQL)]

    # One-key lookups for a resolution pass over a few files (graph/symtab_lazy.py).
    def defs_named(self, name: str) -> list[Def]:
        return [Def(*r) for r in self.db.execute(self._DEF_SQL + " WHERE s.name = ?", (name,))]

    def defs_qualified(self, qualname: str) -> list[Def]:
        return [Def(*r) for r in self.db.execute(
            self._DEF_SQL + " WHERE s.qualname = ?", (qualname,))]

    def defs_in_path(self, path: str) -> list[Def]:
        return [Def(*r) for r in self.db.execute(
            self._DEF_SQL + " WHERE f.path = ? ORDER BY s.id", (path,))]

    def languages(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT path, language FROM files"))

    def refs_of(self, path: str) -> list[Reference]:
        return [Reference(*r) for r in self.db.execute(
            "SELECT r.kind, r.name, r.line, r.scope FROM refs r JOIN files f ON f.id = r.file_id"
            " WHERE f.path = ? ORDER BY r.rowid", (path,))]

    def refs_in(self, paths: Sequence[str]) -> dict[str, list[Reference]]:
        """The references of each of `paths` (every one present, [] when it has none), in
        the order they were written."""
        out: dict[str, list[Reference]] = {p: [] for p in paths}
        for part in _chunks(paths):
            marks = ",".join("?" * len(part))
            for path, kind, name, line, scope in self.db.execute(
                    "SELECT f.path, r.kind, r.name, r.line, r.scope FROM refs r"
                    f" JOIN files f ON f.id = r.file_id WHERE f.path IN ({marks})"
                    " ORDER BY r.rowid", part):
                out[path].append(Reference(kind, name, line, scope))
        return out

    def imports_in_languages(self, languages: Sequence[str]) -> dict[str, list[Reference]]:
        """Every import reference (a C include) of the files in `languages`, by file."""
        out: dict[str, list[Reference]] = {}
        marks = ",".join("?" * len(languages))
        for path, name, line in self.db.execute(
                "SELECT f.path, r.name, r.line FROM refs r JOIN files f ON f.id = r.file_id"
                f" WHERE r.kind = 'import' AND f.language IN ({marks}) ORDER BY r.rowid",
                list(languages)):
            out.setdefault(path, []).append(Reference("import", name, line, None))
        return out

    def definitions_in(self, paths: Sequence[str]) -> set[tuple[str, str, str]]:
        """(path, qualname, name) of every definition in these files."""
        out: set[tuple[str, str, str]] = set()
        for part in _chunks(paths):
            marks = ",".join("?" * len(part))
            out.update(self.db.execute(
                f"SELECT f.path, s.qualname, s.name FROM symbols s JOIN files f"
                f" ON f.id = s.file_id WHERE f.path IN ({marks})", part))
        return out

    def sources_using(self, names: Iterable[str]) -> set[str]:
        """Files with a reference whose last name part is one of `names`."""
        out: set[str] = set()
        for part in _chunks(list(names)):
            marks = ",".join("?" * len(part))
            out.update(r[0] for r in self.db.execute(
                f"SELECT DISTINCT f.path FROM edges e JOIN files f ON f.id = e.src_file"
                f" WHERE e.bare IN ({marks})", part))
        return out

    def sources_pointing_at(self, targets: Iterable[tuple[str, str]]) -> set[str]:
        """Files with an edge into one of these (path, qualname) definitions."""
        out: set[str] = set()
        for path, qualname in targets:
            out.update(r[0] for r in self.db.execute(
                "SELECT DISTINCT f.path FROM edges e JOIN files f ON f.id = e.src_file"
                " WHERE e.dst = ? AND e.dst_path = ?", (qualname, path)))
        return out

    # -- writes (inside a transaction) ----------------------------------------------

    def replace_edges(self, path: str, edges: Sequence[Edge], bare_of, *,
                      fresh: bool = False) -> None:
        """Swap a file's edges for `edges`; `fresh`: the table was just cleared."""
        row = self.db.execute("SELECT id FROM files WHERE path = ?", (path,)).fetchone()
        if row is None:
            return
        if not fresh:
            self.db.execute("DELETE FROM edges WHERE src_file = ?", (row[0],))
        self.db.executemany(
            "INSERT INTO edges(src_file, src, kind, name, bare, dst_path, dst, confidence, line)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(row[0], e.src, e.kind, e.name, bare_of(e), e.dst_path, e.dst, e.confidence,
              e.line) for e in edges])

    def clear(self) -> None:
        """Empty the table and drop its indexes (restore_indexes() puts them back)."""
        self.db.execute("DELETE FROM edges")
        for name in EDGE_INDEXES:
            self.db.execute(f"DROP INDEX IF EXISTS {name}")

    def restore_indexes(self) -> None:
        for name, target in EDGE_INDEXES.items():
            self.db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")

    # -- what graph queries read ---------------------------------------------------

    def edges_into(self, path: str, qualname: str, kinds: Sequence[str]) -> list[Edge]:
        return self._edges("e.dst = ? AND e.dst_path = ?", (qualname, path), kinds,
                           "f.path, e.line")

    def edges_from(self, path: str, qualname: str, kinds: Sequence[str]) -> list[Edge]:
        """Edges whose reference sits directly in `qualname` (not in nested definitions)."""
        return self._edges("f.path = ? AND e.src = ?", (path, qualname), kinds, "e.line")

    def _edges(self, where: str, params: tuple, kinds: Sequence[str], order: str) -> list[Edge]:
        marks = ",".join("?" * len(kinds))
        return [_edge(r) for r in self.db.execute(
            f"SELECT {_EDGE_COLUMNS} FROM edges e JOIN files f ON f.id = e.src_file"
            f" WHERE {where} AND e.kind IN ({marks}) ORDER BY {order}", (*params, *kinds))]

    def counts(self) -> dict[str, int]:
        """Edges by kind, plus how many references stayed unresolved."""
        out = dict(self.db.execute(
            "SELECT kind, COUNT(*) FROM edges WHERE dst_path IS NOT NULL GROUP BY kind"))
        out.update({f"unresolved_{k}": n for k, n in self.db.execute(
            "SELECT kind, COUNT(*) FROM edges WHERE dst_path IS NULL GROUP BY kind")})
        return out


def _chunks(values: Sequence[str], size: int = 500):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


class SymbolLookup:
    """Definitions by qualified name, bare name, name suffix or position (for graph queries)."""

    _COLUMNS = "f.path, s.qualname, s.name, s.kind, s.start_line, s.end_line, s.signature"

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def by_qualname(self, qualname: str) -> list[tuple]:
        return self.db.execute(
            f"SELECT {self._COLUMNS} FROM symbols s JOIN files f ON f.id = s.file_id"
            " WHERE s.qualname = ? ORDER BY f.path, s.start_line", (qualname,)).fetchall()

    def by_name(self, name: str) -> list[tuple]:
        return self.db.execute(
            f"SELECT {self._COLUMNS} FROM symbols s JOIN files f ON f.id = s.file_id"
            " WHERE s.name = ? ORDER BY f.path, s.start_line", (name,)).fetchall()

    def by_suffix(self, suffix: str, name: str) -> list[tuple]:
        """`Router.dispatch` matches `app.router.Router.dispatch` (any separator before it)."""
        rows = self.by_name(name)
        return [r for r in rows if r[1].endswith(suffix) and r[1] != suffix
                and not r[1][-len(suffix) - 1].isalnum() and r[1][-len(suffix) - 1] != "_"]

    def at(self, path_suffix: str, line: int) -> list[tuple]:
        """Definitions around a line of a file, innermost first."""
        return self.db.execute(
            f"SELECT {self._COLUMNS} FROM files f JOIN symbols s ON s.file_id = f.id"
            " WHERE (f.path = ? OR f.path LIKE ? ESCAPE '\\') AND s.start_line <= ?"
            " AND s.end_line >= ? ORDER BY s.end_line - s.start_line",
            (path_suffix, "%/" + _like_escape(path_suffix), line, line)).fetchall()

    def children(self, qualname: str) -> list[tuple]:
        """Definitions whose parent is `qualname` (a class's members, Go receiver methods)."""
        return self.db.execute(
            f"SELECT {self._COLUMNS} FROM symbols s JOIN files f ON f.id = s.file_id"
            " WHERE s.parent = ? ORDER BY f.path, s.start_line", (qualname,)).fetchall()

    def one(self, path: str, qualname: str) -> tuple | None:
        return self.db.execute(
            f"SELECT {self._COLUMNS} FROM files f JOIN symbols s ON s.file_id = f.id"
            " WHERE f.path = ? AND s.qualname = ? ORDER BY s.end_line - s.start_line DESC LIMIT 1",
            (path, qualname)).fetchone()


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
