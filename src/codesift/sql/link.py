"""Schema linking: which database, tables and columns a question needs.

Each table and each column becomes a short document (its name in words, its comment, its
sample values; a table's also lists its columns' names). A question is scored against them
lexically (BM25 over stemmed words: "singers" finds `singer`, "Berlin" finds the column whose
samples hold it) and densely (the embedder's cosine), fused by a convex combination of the
normalised scores (retrieve/fuse.py). A table is as relevant as its own document or its best
column; the database is the one whose best tables score highest; foreign keys then complete
the join paths between the chosen tables, since a bridge table (`singer_in_concert`) rarely
shares a word with the question.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..evaluate.baselines import BM25Index, Doc
from ..retrieve.fuse import convex
from ..tokens import STOPWORDS, iter_tokens
from .model import Schema, Table

Embed = Callable[[Sequence[str]], np.ndarray]  # texts -> unit vectors, one row each

# A table is as relevant as its own document or its best column: "Which countries have
# singers older than 40?" names a column (age) more than a table.
TABLE_SELF, TABLE_BEST_COLUMN = 0.6, 0.4
# A column's score also carries its table's, so the columns of the chosen tables come
# first and an `id` of an unrelated table does not.
COLUMN_SELF, COLUMN_TABLE = 0.6, 0.4
BRIDGE_SEEDS = 3  # join paths are completed between this many top tables
BRIDGE_MAX_HOPS = 3


@dataclass(frozen=True, slots=True)
class TableHit:
    database: str
    table: str  # Table.key
    score: float
    bridge: bool = False  # added to complete a join path, not for its own words


@dataclass(frozen=True, slots=True)
class ColumnHit:
    database: str
    table: str
    column: str
    score: float
    own: float = 0.0  # its own words' / meaning's match, without its table's share


@dataclass(frozen=True, slots=True)
class Linked:
    database: str  # the one named, else the best
    databases: tuple[tuple[str, float], ...]  # best first
    tables: tuple[TableHit, ...]  # of `database`, best first, bridges in place
    columns: tuple[ColumnHit, ...]  # of those tables, best first


@lru_cache(maxsize=1)
def _stemmer():
    import snowballstemmer

    return snowballstemmer.stemmer("english")


@lru_cache(maxsize=65_536)
def _stem(word: str) -> str:
    return _stemmer().stemWord(word)


def terms(text: str) -> list[str]:
    """Lowercased, identifier-split, stemmed words without English stopwords: the same on
    the question side and the schema side."""
    return [_stem(t) for t in iter_tokens(text) if t not in STOPWORDS and not t.isdigit()]


def words(name: str, vocabulary: frozenset[str] = frozenset()) -> str:
    """`singer_in_concert` / `SingerID` -> "singer in concert" / "singer id"; a run of
    lower-case words (`countrylanguage`) is split where both halves are words the schema
    uses elsewhere (`vocabulary`)."""
    parts = [t for t in iter_tokens(name) if t != name.lower()] or [name.lower()]
    return " ".join(p for part in parts for p in _compound(part, vocabulary))


def _compound(word: str, vocabulary: frozenset[str]) -> list[str]:
    if len(word) < 6 or word in vocabulary:
        return [word]
    for i in range(3, len(word) - 2):
        if word[:i] in vocabulary and word[i:] in vocabulary:
            return [word, word[:i], word[i:]]
    return [word]


def vocabulary_of(schemas: Sequence[Schema]) -> frozenset[str]:
    """Every sub-word (3+ letters) of the catalog's names that is a part of a longer name:
    the words a compound may be split into."""
    out: set[str] = set()
    for s in schemas:
        for t in s.tables:
            for name in (t.name, *(c.name for c in t.columns)):
                toks = [x for x in iter_tokens(name) if x != name.lower()]
                out.update(x for x in toks if len(x) >= 3 and x.isalpha())
    return frozenset(out)


def table_text(table: Table, vocabulary: frozenset[str] = frozenset()) -> str:
    cols = ", ".join(words(c.name, vocabulary) for c in table.columns)
    note = f" ({table.comment})" if table.comment else ""
    return f"{words(table.name, vocabulary)}{note}: {cols}"


def column_text(table: Table, index: int, vocabulary: frozenset[str] = frozenset()) -> str:
    col = table.columns[index]
    text = f"{words(table.name, vocabulary)} {words(col.name, vocabulary)}"
    if col.comment:
        text += f": {col.comment}"
    if col.samples:
        text += " (values: " + ", ".join(col.samples) + ")"
    return text


@dataclass(frozen=True, slots=True)
class _Unit:
    database: str
    table: str
    column: str | None  # None: the table itself


class SchemaIndex:
    """Tables and columns of one or more databases, searchable by question. `embed` maps
    texts to unit vectors (None: lexical only); `vectors` may pass the rows already
    computed for `texts()` (the catalog caches them)."""

    def __init__(self, schemas: Sequence[Schema], embed: Embed | None = None,
                 vectors: np.ndarray | None = None) -> None:
        self.schemas = {s.database: s for s in schemas}
        self.units: list[_Unit] = []
        texts: list[str] = []
        vocab = vocabulary_of(schemas)
        for schema in schemas:
            for table in schema.tables:
                self.units.append(_Unit(schema.database, table.key, None))
                texts.append(table_text(table, vocab))
                for i, col in enumerate(table.columns):
                    self.units.append(_Unit(schema.database, table.key, col.name))
                    texts.append(column_text(table, i, vocab))
        self._texts = texts
        self._lex = BM25Index([Doc(str(i), 0, 0, "", "", t) for i, t in enumerate(texts)],
                              tokenizer=terms, lucene_norms=False)
        self._embed = embed
        self._vectors = vectors if vectors is not None or embed is None or not texts \
            else embed(texts)
        # A database as one document too: the right one names every concept of the
        # question somewhere, a wrong one only some.
        self._db_names = [s.database for s in schemas]
        db_texts = [words(s.database, vocab) + ": " + "; ".join(
            table_text(t, vocab) for t in s.tables) for s in schemas]
        self._db_lex = BM25Index([Doc(str(i), 0, 0, "", "", t) for i, t in enumerate(db_texts)],
                                 tokenizer=terms, lucene_norms=False)
        self._db_vectors = embed(db_texts) if embed is not None and db_texts else None
        self._graph = {name: _fk_graph(s) for name, s in self.schemas.items()}

    def texts(self) -> list[str]:
        return list(self._texts)

    def link(self, question: str, *, database: str | None = None, max_tables: int = 10,
             max_columns: int = 30) -> Linked:
        """The question's databases, tables and columns, best first. `database` confines
        it to one."""
        scores, query = self._unit_scores(question)
        table_score = self._table_scores(scores)
        dbs = self._database_scores(table_score, self._db_doc_scores(question, query))
        chosen = database or dbs[0][0]
        ranked = sorted(((key, s) for (db, key), s in table_score.items() if db == chosen),
                        key=lambda kv: -kv[1])
        tables = _with_bridges(ranked, self._graph[chosen], chosen)[:max_tables]
        columns = self._columns(scores, table_score, chosen, tables)[:max_columns]
        return Linked(chosen, tuple(dbs), tuple(tables), tuple(columns))

    def _unit_scores(self, question: str) -> tuple[np.ndarray, np.ndarray | None]:
        query = self._embed([question])[0] if self._embed is not None and self.units else None
        dense = self._vectors @ query if query is not None else None
        return _fuse(self._lex.scores(question), dense, len(self.units)), query

    def _db_doc_scores(self, question: str, query: np.ndarray | None) -> dict[str, float]:
        dense = self._db_vectors @ query if query is not None and self._db_vectors is not None \
            else None
        fused = _fuse(self._db_lex.scores(question), dense, len(self._db_names))
        return dict(zip(self._db_names, fused.tolist()))

    def _table_scores(self, scores: np.ndarray) -> dict[tuple[str, str], float]:
        own: dict[tuple[str, str], float] = {}
        best_col: dict[tuple[str, str], float] = {}
        for i, u in enumerate(self.units):
            key = (u.database, u.table)
            if u.column is None:
                own[key] = float(scores[i])
            else:
                best_col[key] = max(best_col.get(key, 0.0), float(scores[i]))
        return {k: TABLE_SELF * s + TABLE_BEST_COLUMN * best_col.get(k, 0.0)
                for k, s in own.items()}

    @staticmethod
    def _database_scores(table_score: dict[tuple[str, str], float],
                         doc_score: dict[str, float]) -> list[tuple[str, float]]:
        """A database scores its best table plus half its second (a question about one
        table of a one-table database and one about two joined tables both count), and
        its whole document as much."""
        per: dict[str, list[float]] = {}
        for (db, _), s in table_score.items():
            per.setdefault(db, []).append(s)
        out = []
        for db, values in per.items():
            top = sorted(values, reverse=True)[:2] + [0.0]
            out.append((db, (top[0] + 0.5 * top[1]) / 1.5 + doc_score.get(db, 0.0)))
        return sorted(out, key=lambda kv: -kv[1])

    def _columns(self, scores: np.ndarray, table_score: dict[tuple[str, str], float],
                 database: str, tables: Sequence[TableHit]) -> list[ColumnHit]:
        rank = {t.table: t.score for t in tables}
        keys = _join_columns(self.schemas[database], [t.table for t in tables[:BRIDGE_SEEDS + 2]])
        out = []
        for i, u in enumerate(self.units):
            if u.column is None or u.database != database or u.table not in rank:
                continue
            s = COLUMN_SELF * float(scores[i]) + COLUMN_TABLE * rank[u.table]
            if (u.table, u.column.lower()) in keys:  # the join's own columns come with it
                s = max(s, rank[u.table])
            out.append(ColumnHit(database, u.table, u.column, s, float(scores[i])))
        return sorted(out, key=lambda c: -c.score)


def _fuse(lexical: np.ndarray, dense: np.ndarray | None, n: int) -> np.ndarray:
    """Convex combination of min-max normalised BM25 and cosine scores, in [0, 1]."""
    rankings = {"lexical": [(i, float(lexical[i])) for i in np.flatnonzero(lexical)]}
    if dense is not None:
        rankings["dense"] = list(enumerate(dense.tolist()))
    out = np.zeros(n, dtype=np.float64)
    for i, s in convex(rankings, {}, k=0).items():
        out[i] = s / len(rankings)
    return out


def _fk_graph(schema: Schema) -> dict[str, set[str]]:
    """Tables as nodes, foreign keys as undirected edges (keys in Table.key spelling)."""
    graph: dict[str, set[str]] = {t.key: set() for t in schema.tables}
    for t in schema.tables:
        for fk in t.foreign_keys:
            ref = schema.table(fk.ref_table)
            if ref is not None and ref.key != t.key:
                graph[t.key].add(ref.key)
                graph[ref.key].add(t.key)
    return graph


def _path(graph: dict[str, set[str]], start: str, goal: str) -> list[str]:
    """The shortest foreign-key path start .. goal (BFS), [] when none within the hops."""
    prev: dict[str, str | None] = {start: None}
    todo = deque([(start, 0)])
    while todo:
        node, hops = todo.popleft()
        if node == goal:
            out = []
            while node is not None:
                out.append(node)
                node = prev[node]
            return out[::-1]
        if hops < BRIDGE_MAX_HOPS:
            for nxt in graph.get(node, ()):
                if nxt not in prev:
                    prev[nxt] = node
                    todo.append((nxt, hops + 1))
    return []


def _with_bridges(ranked: Sequence[tuple[str, float]], graph: dict[str, set[str]],
                  database: str) -> list[TableHit]:
    """The ranking with the tables on the join paths between its top few moved up right
    behind the later end of each path (scored just below it)."""
    seeds = [k for k, s in ranked[:BRIDGE_SEEDS] if s > 0]
    score = dict(ranked)
    bridges: dict[str, float] = {}
    for i, a in enumerate(seeds):
        for b in seeds[i + 1:]:
            for mid in _path(graph, a, b)[1:-1]:
                if mid not in seeds:
                    bridges[mid] = max(bridges.get(mid, 0.0), 0.999 * min(score[a], score[b]))
    out = [TableHit(database, k, max(s, bridges.get(k, 0.0)), k in bridges and bridges[k] > s)
           for k, s in ranked]
    return sorted(out, key=lambda t: -t.score)


def _join_columns(schema: Schema, keys: Sequence[str]) -> set[tuple[str, str]]:
    """(table, column) pairs of the foreign keys between the given tables, both ends."""
    chosen = {k.lower() for k in keys}
    out: set[tuple[str, str]] = set()
    for t in schema.tables:
        if t.key.lower() not in chosen:
            continue
        for fk in t.foreign_keys:
            ref = schema.table(fk.ref_table)
            if ref is not None and ref.key.lower() in chosen:
                out |= {(t.key, c.lower()) for c in fk.columns}
                out |= {(ref.key, c.lower()) for c in fk.ref_columns}
    return out
