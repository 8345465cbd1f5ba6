"""The embedded store: one SQLite file holding files, chunks, symbols, FTS5 and vectors.

Every write happens inside `transaction()`; WAL mode lets searches read a consistent
snapshot while an index run writes, and a killed run rolls back to the last commit.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import CorruptIndexError, IndexError_
from ..model import Chunk, ChunkRow, Filters, ParsedFile
from ..tokens import index_text, symbol_keys
from .migrations import apply_migrations

if TYPE_CHECKING:
    import numpy as np

FORMAT = "codesift-index"
_CHUNK_COLUMNS = "c.id, c.path, c.language, c.kind, c.symbol, c.name, c.parent, " \
    "c.start_line, c.end_line, c.is_test"
# Column weights for bm25(): a match in a symbol name says more than one in a body.
CHUNK_FIELD_WEIGHTS = (4.0, 2.0, 1.0)
POSTINGS_BUDGET = 5_000  # postings one lexical query may read (see selective_terms)
MIN_TERMS = 2
FILE_FIELD_WEIGHTS = (3.0, 1.0)


@dataclass(frozen=True, slots=True)
class FileRecord:
    path: str
    language: str
    sha: str
    size: int
    n_lines: int
    is_test: bool
    parse_error: str | None = None
    warning: str | None = None
    mtime_ns: int = 0
    kind: str = ""  # ingest/kinds.py; "" when not classified


def text_hash(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def fts_query(terms: Iterable[str]) -> str:
    """An FTS5 OR-query over already-tokenised terms. Terms are [\\w] only, so quoting
    them makes any FTS syntax in the user's text (NEAR, AND, *, quotes) inert."""
    return " OR ".join(f'"{t}"' for t in terms)


ROWS_CACHE_MAX = 200_000  # ~40 MB of rows at most; then the cache starts over


class SQLiteStore:
    """A codesift index in one SQLite database file."""

    def __init__(self, path: Path, *, create: bool = False) -> None:
        self.path = Path(path)
        self._vocab_ready = False
        self._df_cache: dict[str, int] = {}
        self._df_key: str | None = None
        self._count: tuple[str | None, int] = (None, 0)  # (state key, chunks)
        # Chunk rows a search read, for the next searches while the content stays the same.
        self._rows_cache: dict[int, ChunkRow] = {}
        self._paths: list[str] = []
        self._paths_key = ""
        self._rows_key: str | None = None
        self._kinds_cache: dict[str, str] = {}  # path -> file kind, alongside the rows
        self._snapshot_meta: dict[str, str] | None = None  # the meta table, inside snapshot()
        # One transaction per connection at a time: threads sharing this store take turns.
        self._lock = threading.RLock()
        if not create and not self.path.exists():
            raise FileNotFoundError(self.path)
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._check_and_migrate(create)
        except sqlite3.DatabaseError as exc:
            raise CorruptIndexError(
                f"{self.path} is not a usable codesift index ({exc})",
                hint="delete it and rebuild: codesift index PATH --rebuild",
            ) from exc

    def _check_and_migrate(self, create: bool) -> None:
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master")}
        if tables and "meta" not in tables:
            raise CorruptIndexError(
                f"{self.path} is a SQLite database but not a codesift index",
                hint="point --index-dir somewhere else, or remove that file",
            )
        apply_migrations(self.db)
        if self.get_meta("format") is None:
            if not create and tables:
                raise CorruptIndexError(f"{self.path} has no codesift format marker",
                                        hint="rebuild it: codesift index PATH --rebuild")
            self.set_meta("format", FORMAT)
            # Generations restart in a rebuilt database; caches key on this id as well.
            self.set_meta("index_uuid", uuid.uuid4().hex)

    def close(self) -> None:
        self.db.close()

    # -- transactions and metadata -------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside see one committed state (a WAL read transaction), however many
        commits another connection makes meanwhile. Inside a transaction: that one."""
        with self._lock:
            if self.db.in_transaction:
                yield
                return
            self.db.execute("BEGIN")
            try:
                # Nothing changes the meta table under a read snapshot, and a search asks
                # for a dozen keys of it: one read instead of a query each.
                self._snapshot_meta = self.all_meta()
                yield
            finally:
                self._snapshot_meta = None
                self.db.execute("COMMIT")

    def get_meta(self, key: str) -> str | None:
        if self._snapshot_meta is not None:
            return self._snapshot_meta.get(key)
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        if self._snapshot_meta is not None:
            self._snapshot_meta[key] = value
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def all_meta(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT key, value FROM meta"))

    def state_key(self) -> str:
        """Changes whenever the indexed content changes; keys caches derived from it."""
        return f"{self.get_meta('index_uuid') or ''}-{self.get_meta('generation') or 0}"

    def check_integrity(self) -> list[str]:
        """Problems found by SQLite's own checks ([] when the database is sound)."""
        rows = [r[0] for r in self.db.execute("PRAGMA integrity_check")]
        problems = [r for r in rows if r != "ok"]
        for table in ("chunks_fts", "files_fts"):
            try:
                self.db.execute(f"INSERT INTO {table}({table}) VALUES('integrity-check')")
            except sqlite3.DatabaseError as exc:
                problems.append(f"{table}: {exc}")
        return problems

    # -- writes (call inside transaction()) ------------------------------------------

    def file_states(self) -> dict[str, tuple[str, int, int]]:
        """path -> (sha, size, mtime_ns) of every indexed file."""
        return {r[0]: (r[1], r[2], r[3])
                for r in self.db.execute("SELECT path, sha, size, mtime_ns FROM files")}

    def file_kinds(self) -> dict[str, tuple[str, str]]:
        """path -> (language, kind) of every indexed file ("" kind: not classified yet)."""
        return {r[0]: (r[1], r[2])
                for r in self.db.execute("SELECT path, language, kind FROM files")}

    def set_file_kinds(self, kinds: dict[str, str]) -> None:
        self.db.executemany("UPDATE files SET kind = ? WHERE path = ?",
                            [(kind, path) for path, kind in kinds.items()])

    def file_classes(self) -> dict[str, tuple[int, int, str]]:
        """path -> (size, mtime_ns, language) of every indexed file (discovery's `known`)."""
        return {r[0]: (r[1], r[2], r[3])
                for r in self.db.execute("SELECT path, size, mtime_ns, language FROM files")}

    def delete_file(self, path: str) -> None:
        row = self.db.execute("SELECT id FROM files WHERE path = ?", (path,)).fetchone()
        if row is None:
            return
        file_id = row[0]
        self.db.execute(
            "DELETE FROM chunks_fts WHERE rowid IN (SELECT id FROM chunks WHERE file_id = ?)",
            (file_id,))
        self.db.execute("DELETE FROM files_fts WHERE rowid = ?", (file_id,))
        self.db.execute("DELETE FROM files WHERE id = ?", (file_id,))  # cascades

    def write_file(self, rec: FileRecord, text: str, chunks: Sequence[Chunk],
                   parsed: ParsedFile | None, redactions: Sequence = ()) -> None:
        self.delete_file(rec.path)
        cur = self.db.execute(
            "INSERT INTO files(path, language, sha, size, n_lines, is_test, parse_error, warning,"
            " mtime_ns, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (rec.path, rec.language, rec.sha, rec.size, rec.n_lines, int(rec.is_test),
             rec.parse_error, rec.warning, rec.mtime_ns, rec.kind))
        file_id = cur.lastrowid
        lines = text.split("\n")
        # Tokenise each line once; a chunk that is a plain line range reuses them.
        line_tokens = [index_text(line) for line in lines]
        self.db.execute("INSERT INTO files_fts(rowid, path, body) VALUES (?, ?, ?)",
                        (file_id, index_text(rec.path), " ".join(line_tokens)))
        for chunk in chunks:
            span = slice(chunk.start_line - 1, chunk.end_line)
            if chunk.context_text == "\n".join(lines[span]):
                body = " ".join(line_tokens[span])
            else:  # skeletons and split parts carry text of their own
                body = index_text(chunk.context_text)
            self._insert_chunk(file_id, chunk, body)
        if parsed is not None:
            self._insert_parsed(file_id, parsed)
        self.db.executemany("INSERT INTO redactions(file_id, line, kind) VALUES (?, ?, ?)",
                            [(file_id, r.line, r.kind) for r in redactions])

    def _insert_chunk(self, file_id: int, chunk: Chunk, body_tokens: str) -> None:
        cur = self.db.execute(
            "INSERT INTO chunks(file_id, path, language, kind, symbol, name, parent, start_line,"
            " end_line, is_test, text_hash, embedding_text, context_text)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (file_id, chunk.path, chunk.language, chunk.kind, chunk.symbol, chunk.name,
             chunk.parent, chunk.start_line, chunk.end_line, int(chunk.is_test),
             text_hash(chunk.embedding_text), chunk.embedding_text, chunk.context_text))
        chunk_id = cur.lastrowid
        self.db.execute(
            "INSERT INTO chunks_fts(rowid, name, path, body) VALUES (?, ?, ?, ?)",
            (chunk_id, index_text(chunk.symbol), index_text(chunk.path), body_tokens))
        if chunk.symbol and chunk.kind not in ("block", "section", "module"):
            keys = symbol_keys(chunk.symbol)
            self.db.executemany("INSERT INTO symbol_keys(key, chunk_id) VALUES (?, ?)",
                                [(k, chunk_id) for k in dict.fromkeys(keys)])

    def _insert_parsed(self, file_id: int, parsed: ParsedFile) -> None:
        self.db.executemany(
            "INSERT INTO symbols(file_id, name, qualname, kind, signature, doc, start_line,"
            " end_line, parent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(file_id, s.name, s.qualname, s.kind, s.signature, s.doc, s.start_line,
              s.end_line, s.parent) for s in parsed.symbols])
        self.db.executemany(
            "INSERT INTO refs(file_id, kind, name, line, scope) VALUES (?, ?, ?, ?, ?)",
            [(file_id, r.kind, r.name, r.line, r.scope) for r in parsed.references])

    # -- vectors ---------------------------------------------------------------------

    def hashes_missing_vectors(self) -> list[bytes]:
        """The text hashes of the chunks that should have a vector and do not (tests only
        when the index embeds tests: meta `embed_tests`)."""
        return [r[0] for r in self.db.execute(
            "SELECT DISTINCT text_hash FROM chunks INDEXED BY chunks_test_hash WHERE"
            f" text_hash NOT IN (SELECT text_hash FROM vectors){self._embedded_only()}")]

    def embedding_texts(self, hashes: Sequence[bytes]) -> list[tuple[bytes, str, str]]:
        """(text hash, embedding text, language) of these hashes."""
        out = []
        for start in range(0, len(hashes), 500):
            part = hashes[start:start + 500]
            marks = ",".join("?" * len(part))
            out += self.db.execute(
                "SELECT text_hash, MIN(embedding_text), MIN(language) FROM chunks"
                f" WHERE text_hash IN ({marks})"
                " GROUP BY text_hash", part).fetchall()
        return out

    def _embedded_only(self) -> str:
        return " AND is_test IN (0, 1)" if self.get_meta("embed_tests") == "1" else \
            " AND is_test = 0"

    def put_vectors(self, hashes: Sequence[bytes], vectors: np.ndarray) -> None:
        import numpy as np
        data = np.ascontiguousarray(vectors, dtype=np.float32)
        self.db.executemany("INSERT OR REPLACE INTO vectors(text_hash, vec) VALUES (?, ?)",
                            [(h, data[i].tobytes()) for i, h in enumerate(hashes)])

    def drop_orphan_vectors(self) -> int:
        cur = self.db.execute(
            "DELETE FROM vectors WHERE text_hash NOT IN (SELECT text_hash FROM chunks)")
        return cur.rowcount

    _VECTOR_JOIN = (" FROM chunks c INDEXED BY chunks_test_hash"
                    " JOIN vectors v ON v.text_hash = c.text_hash WHERE c.is_test IN (0, 1)")

    def vector_matrix(self, dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every chunk that has a vector: (ids, vectors, tags); see `vector_keys`."""
        # The narrow index holds (text_hash, id); VectorIndex sorts the ids itself.
        rows = self.db.execute("SELECT c.id, c.text_hash, v.vec" + self._VECTOR_JOIN).fetchall()
        return _vector_rows(rows, dim)

    def vector_keys(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, tags) of every chunk that has a vector, without reading the vectors. A tag
        is the first 8 bytes of the chunk's text hash: a chunk id SQLite reuses for other
        text gets another tag, so a cached vector is never matched to the wrong chunk."""
        import numpy as np
        rows = self.db.execute("SELECT c.id, c.text_hash" + self._VECTOR_JOIN).fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        return ids, _tags(r[1] for r in rows)

    def vectors_of(self, ids: Sequence[int], dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids, vectors, tags) of the given chunks that have a vector."""
        rows: list = []
        for start in range(0, len(ids), 500):
            part = [int(i) for i in ids[start:start + 500]]
            rows += self.db.execute(
                "SELECT c.id, c.text_hash, v.vec" + self._VECTOR_JOIN +
                f" AND c.id IN ({','.join('?' * len(part))})", part).fetchall()
        return _vector_rows(rows, dim)

    # -- reads for retrieval -----------------------------------------------------------

    def selective_terms(self, terms: Sequence[str], budget: int = POSTINGS_BUDGET) -> list[str]:
        """Drop the commonest terms while the query would read more than `budget` postings.

        FTS5 scores every document that matches any OR-ed term, so a few very common words
        ("value", "error", "file") cost most of a query's time while adding little to BM25
        (their IDF is low). The rarest terms are always kept (at least MIN_TERMS)."""
        if len(terms) <= MIN_TERMS:
            return list(terms)
        df = self.doc_freqs(terms)
        total = sum(df.values())
        keep = list(terms)
        for term in sorted(terms, key=lambda t: -df.get(t, 0)):
            if total <= budget or len(keep) <= MIN_TERMS:
                break
            keep.remove(term)
            total -= df.get(term, 0)
        return keep

    def informative_terms(self, terms: Sequence[str]) -> list[str]:
        """`terms` without those in half the chunks or more (unless none would remain).

        FTS5's bm25 gives such a term an IDF of 1e-6 (its log((N - df + 0.5) / (df + 0.5))
        is <= 0 there, fts5_aux.c), so it moves no chunk's score; yet matching it walks its
        whole doclist and scores every chunk in it. A project's own name is the usual case:
        "click" is in 1,443 of click's 1,633 chunks and was 1.0 ms of a 1.4 ms query."""
        if len(terms) < 2:
            return list(terms)
        df = self.doc_freqs(terms)
        n_chunks = self.chunk_count()
        kept = [t for t in terms if 2 * df[t] < n_chunks]
        return kept or list(terms)

    def chunk_count(self) -> int:
        key = self.state_key()
        if self._count[0] != key:
            self._count = (key, self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])
        return self._count[1]

    def doc_freqs(self, terms: Sequence[str]) -> dict[str, int]:
        """Chunk counts per term. fts5vocab walks a term's whole doclist to count it, so
        counts are cached for as long as the index content stays the same."""
        key = self.state_key()
        if key != self._df_key:
            self._df_cache, self._df_key = {}, key
        missing = [t for t in terms if t not in self._df_cache]
        if missing:
            if not self._vocab_ready:
                # A per-connection view of the FTS5 term statistics (no schema change).
                self.db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunks_vocab"
                                " USING fts5vocab(main, 'chunks_fts', 'row')")
                self._vocab_ready = True
            marks = ",".join("?" * len(missing))
            found = dict(self.db.execute(
                f"SELECT term, doc FROM temp.chunks_vocab WHERE term IN ({marks})", missing))
            self._df_cache.update({t: found.get(t, 0) for t in missing})
        return {t: self._df_cache[t] for t in terms}

    def lexical_chunks(self, terms: Sequence[str], limit: int,
                       filters: Filters | None = None) -> list[tuple[int, float]]:
        if not terms:
            return []
        where, params = _filter_sql(filters)
        w = CHUNK_FIELD_WEIGHTS
        score = f"-bm25(chunks_fts, {w[0]}, {w[1]}, {w[2]}) AS s"
        if not where:
            # The FTS rowid is the chunk id. Joining chunks here would read a wide chunk row
            # for every match before LIMIT: twice the time warm, and one disk read per match
            # once the page cache has dropped the table (bench/bench_speed.py, pass 1).
            sql = f"SELECT rowid, {score} FROM chunks_fts WHERE chunks_fts MATCH ?" \
                " ORDER BY s DESC LIMIT ?"
            return self.db.execute(sql, (fts_query(terms), limit)).fetchall()
        sql = (f"SELECT c.id, {score} FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid"
               f" WHERE chunks_fts MATCH ?{where} ORDER BY s DESC LIMIT ?")
        return self.db.execute(sql, (fts_query(terms), *params, limit)).fetchall()

    def phrase_is_rare(self, phrase: str, most: int) -> bool:
        """True when at most `most` chunks hold the (tokenised) phrase."""
        found = self.db.execute("SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? LIMIT ?",
                                (fts_query([phrase]), most + 1)).fetchall()
        return len(found) <= most

    def lexical_files(self, terms: Sequence[str], limit: int) -> list[tuple[str, float]]:
        if not terms:
            return []
        w = FILE_FIELD_WEIGHTS
        sql = (f"SELECT f.path, -bm25(files_fts, {w[0]}, {w[1]}) AS s FROM files_fts"
               " JOIN files f ON f.id = files_fts.rowid WHERE files_fts MATCH ?"
               " ORDER BY s DESC LIMIT ?")
        return self.db.execute(sql, (fts_query(terms), limit)).fetchall()

    def symbol_matches(self, keys: Sequence[str],
                       filters: Filters | None = None) -> list[tuple[int, str]]:
        if not keys:
            return []
        where, params = _filter_sql(filters)
        marks = ",".join("?" * len(keys))
        sql = (f"SELECT c.id, k.key FROM symbol_keys k JOIN chunks c ON c.id = k.chunk_id"
               f" WHERE k.key IN ({marks}){where}")
        return self.db.execute(sql, (*keys, *params)).fetchall()

    def frame_chunks(self, path_suffix: str, line: int,
                     name: str = "") -> list[tuple[int, str, int, int]]:
        """(id, name, start_line, end_line) of the chunks of the file(s) whose path ends
        with `path_suffix` that hold `line` or are named `name`; those holding the line
        come innermost first. Files are matched first (few rows), then chunks by file id."""
        return self.db.execute(
            # CROSS JOIN fixes the join order: files first, then chunks by their index.
            "SELECT c.id, c.name, c.start_line, c.end_line FROM files f"
            " CROSS JOIN chunks c ON c.file_id = f.id"
            " WHERE (f.path = ? OR f.path LIKE ? ESCAPE '\\')"
            " AND ((c.start_line <= ? AND c.end_line >= ?) OR c.name = ?)"
            " ORDER BY NOT (c.start_line <= ? AND c.end_line >= ?), c.end_line - c.start_line",
            (path_suffix, "%/" + _like_escape(path_suffix), line, line, name or None,
             line, line)).fetchall()

    def allowed_chunk_ids(self, filters: Filters) -> set[int]:
        where, params = _filter_sql(filters)
        return {r[0] for r in self.db.execute(f"SELECT c.id FROM chunks c WHERE 1{where}", params)}

    def chunk_rows(self, ids: Iterable[int]) -> dict[int, ChunkRow]:
        """id -> row. Rows are kept for as long as the index content stays the same (the
        state key): a long-lived searcher (server, agent) reads most candidates once, and
        reading them was a quarter of a warm search on click (docs/benchmarks.md)."""
        ids = list(ids)
        key = self.state_key()
        if key != self._rows_key or len(self._rows_cache) > ROWS_CACHE_MAX:
            self._rows_cache, self._rows_key, self._kinds_cache = {}, key, {}
        cache = self._rows_cache
        missing = [i for i in ids if i not in cache]
        for start in range(0, len(missing), 500):
            part = missing[start:start + 500]
            marks = ",".join("?" * len(part))
            found = self.db.execute(
                f"SELECT {_CHUNK_COLUMNS} FROM chunks c INDEXED BY chunks_rows"
                f" WHERE c.id IN ({marks})", part).fetchall()
            # The kind is the file's: one lookup per file, not per chunk (the covering
            # index of chunk rows does not hold it).
            kinds = self._kinds_of({r[1] for r in found})
            for r in found:
                cache[r[0]] = ChunkRow(*r[:9], bool(r[9]), kinds.get(r[1], ""))
        return {i: cache[i] for i in ids if i in cache}

    def indexed_paths(self) -> list[str]:
        """Every indexed file's path, read once per index state (scoped queries match them)."""
        key = self.state_key()
        if self._paths_key != key:
            self._paths = [r[0] for r in self.db.execute("SELECT path FROM files ORDER BY path")]
            self._paths_key = key
        return self._paths

    def _kinds_of(self, paths: set[str]) -> dict[str, str]:
        """path -> stored file kind, kept with the chunk rows for the same index state."""
        cache = self._kinds_cache
        missing = [p for p in paths if p not in cache]
        for start in range(0, len(missing), 500):
            part = missing[start:start + 500]
            marks = ",".join("?" * len(part))
            cache.update(self.db.execute(
                f"SELECT path, kind FROM files WHERE path IN ({marks})", part))
        return cache

    def chunk_texts(self, ids: Sequence[int]) -> dict[int, str]:
        marks = ",".join("?" * len(ids))
        return dict(self.db.execute(
            f"SELECT id, context_text FROM chunks WHERE id IN ({marks})", list(ids)))

    def file_info(self, paths: Sequence[str]) -> dict[str, tuple[str, int, bool, str]]:
        """path -> (language, n_lines, is_test, kind)."""
        marks = ",".join("?" * len(paths))
        return {r[0]: (r[1], r[2], bool(r[3]), r[4]) for r in self.db.execute(
            f"SELECT path, language, n_lines, is_test, kind FROM files WHERE path IN ({marks})",
            list(paths))}

    # -- reporting -------------------------------------------------------------------

    def stats(self) -> dict:
        one = lambda sql: self.db.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "files": one("SELECT COUNT(*) FROM files"),
            # Newlines of the indexed files (n_lines counts the last, unterminated line too).
            "lines": one("SELECT COALESCE(SUM(n_lines) - COUNT(*), 0) FROM files"),
            "chunks": one("SELECT COUNT(*) FROM chunks"),
            "symbols": one("SELECT COUNT(*) FROM symbols"),
            "references": one("SELECT COUNT(*) FROM refs"),
            "vectors": one("SELECT COUNT(*) FROM vectors"),
            "chunks_without_vector": one(
                "SELECT COUNT(*) FROM chunks WHERE text_hash NOT IN (SELECT text_hash FROM vectors)"
                + self._embedded_only()),
            "tests_embedded": self.get_meta("embed_tests") == "1",
            "languages": dict(self.db.execute(
                "SELECT language, COUNT(*) FROM files GROUP BY language ORDER BY 2 DESC")),
            "kinds": dict(self.db.execute(
                "SELECT kind, COUNT(*) FROM files GROUP BY kind ORDER BY 2 DESC")),
            "parse_failures": dict(self.db.execute(
                "SELECT path, parse_error FROM files WHERE parse_error IS NOT NULL ORDER BY path")),
            "encoding_warnings": dict(self.db.execute(
                "SELECT path, warning FROM files WHERE warning IS NOT NULL ORDER BY path")),
            "redactions": self.redaction_counts(),
        }

    def redaction_counts(self) -> dict:
        """Secrets redacted at index time: how many, of which kind, in which file."""
        by_file: dict[str, dict[str, int]] = {}
        for path, kind, n in self.db.execute(
                "SELECT f.path, r.kind, COUNT(*) FROM redactions r JOIN files f ON f.id = r.file_id"
                " GROUP BY f.path, r.kind ORDER BY f.path, r.kind"):
            by_file.setdefault(path, {})[kind] = n
        by_kind: dict[str, int] = {}
        for kinds in by_file.values():
            for kind, n in kinds.items():
                by_kind[kind] = by_kind.get(kind, 0) + n
        return {"enabled": self.get_meta("redaction") not in (None, "off"),
                "total": sum(by_kind.values()), "by_kind": dict(sorted(by_kind.items())),
                "by_file": by_file}

    def scrub(self) -> None:
        """Rewrite the database so that no deleted text survives: FTS5 keeps deleted terms in
        old segments until a merge, SQLite keeps deleted rows in free pages, the WAL keeps
        old pages. Run once when stored text was replaced by its redacted form."""
        with self._lock:
            self.db.execute("DELETE FROM llm_cache")  # answers may quote what was redacted
            for table in ("chunks_fts", "files_fts"):
                self.db.execute(f"INSERT INTO {table}({table}) VALUES('optimize')")
            try:
                self.db.execute("VACUUM")
            except sqlite3.OperationalError as exc:  # another process holds the database
                raise IndexError_(f"cannot rewrite {self.path} without its old text ({exc})",
                                  hint="stop other codesift processes on this index (watch, "
                                       "serve, mcp) and run codesift index again") from exc
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filter_sql(filters: Filters | None) -> tuple[str, list]:
    if filters is None or not filters.active:
        return "", []
    clauses, params = [], []
    if filters.languages:
        clauses.append(f"c.language IN ({','.join('?' * len(filters.languages))})")
        params.extend(filters.languages)
    if filters.kinds:
        clauses.append(f"c.kind IN ({','.join('?' * len(filters.kinds))})")
        params.extend(filters.kinds)
    if filters.path_glob:
        glob = filters.path_glob
        if not any(ch in glob for ch in "*?["):
            glob = glob.rstrip("/") + "*"
        clauses.append("c.path GLOB ?")
        params.append(glob.replace("**/", "*").replace("**", "*"))
    if filters.exclude_tests:
        clauses.append("c.is_test = 0")
    return "".join(" AND " + c for c in clauses), params


def _tags(hashes) -> np.ndarray:
    import numpy as np
    data = b"".join(bytes(h[:8]).ljust(8, b"\0") for h in hashes)
    return np.frombuffer(data, dtype=np.int64).copy()


def _vector_rows(rows: list, dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import numpy as np
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32)
    matrix = matrix.reshape(len(rows), dim) if rows else np.zeros((0, dim), np.float32)
    return ids, matrix, _tags(r[1] for r in rows)
