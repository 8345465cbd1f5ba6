"""The retrievers: each turns an analysed Query into a ranked list of chunk ids.

lexical (BM25 over code tokens), opening (BM25 over a many-paragraph query's first
paragraph), identifiers (BM25 over only the query's code-like names), symbol (exact
qualified-name match), frames (traceback file:line), messages (error-message phrases),
dense (vectors).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from ..model import Filters
from ..store.sqlite import SQLiteStore
from .query import Frame, Query

Scored = list[tuple[int, float]]  # (chunk id, retriever's own score), best first
DEFAULT_DEPTH = 100
MAX_KEY_MATCHES = 200  # a key matching more definitions than this says nothing
# A two-token message phrase ("flag redefined") counts only when this few chunks hold it:
# a list's first rank weighs the same in fusion however common its phrase ("not set").
MAX_SHORT_PHRASE_MATCHES = 20


class Retriever(Protocol):
    name: str

    def retrieve(self, query: Query, filters: Filters, limit: int) -> Scored: ...


class LexicalRetriever:
    name = "lexical"

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def retrieve(self, query: Query, filters: Filters, limit: int) -> Scored:
        terms = self.store.selective_terms(self.store.informative_terms(query.terms))
        return self.store.lexical_chunks(terms, limit, filters)


class OpeningRetriever:
    """BM25 over the opening paragraph alone, when the query has more: an issue's title or a
    commit's subject says what it is about, while later paragraphs add steps, asides, lists
    of fix-ups ("add tests", "[pre-commit.ci] auto fixes") and logs whose words weigh the
    same in the whole text's OR-query. A second ranking by the opening's words keeps the
    code they name ahead."""

    name = "opening"

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def retrieve(self, query: Query, filters: Filters, limit: int) -> Scored:
        if not query.opening_terms:
            return []
        terms = self.store.selective_terms(self.store.informative_terms(query.opening_terms))
        return self.store.lexical_chunks(terms, limit, filters)


class IdentifierRetriever:
    """BM25 over the query's code-like names alone, so a long report's prose cannot
    drown the `parse_header` it mentions."""

    name = "identifiers"

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def retrieve(self, query: Query, filters: Filters, limit: int) -> Scored:
        if not query.identifier_terms or query.identifier_terms == query.terms:
            return []
        terms = self.store.selective_terms(self.store.informative_terms(query.identifier_terms))
        return self.store.lexical_chunks(terms, limit, filters)


class MessageRetriever:
    """BM25 over the phrases of a pasted error message: the code that raises or prints it
    usually holds the message verbatim, so the phrase finds the raise site, where the
    exception's name alone finds its class."""

    name = "messages"

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def retrieve(self, query: Query, filters: Filters, limit: int) -> Scored:
        phrases = [p for p in query.messages
                   if p.count(" ") >= 2 or self.store.phrase_is_rare(p, MAX_SHORT_PHRASE_MATCHES)]
        return self.store.lexical_chunks(phrases, limit, filters) if phrases else []


class SymbolRetriever:
    """Exact match of normalised qualified-name suffixes; longer and rarer keys first."""

    name = "symbol"

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def retrieve(self, query: Query, filters: Filters, limit: int) -> Scored:
        if not query.symbol_keys:
            return []
        matches = self.store.symbol_matches(query.symbol_keys, filters)
        per_key: dict[str, list[int]] = {}
        for cid, key in matches:
            per_key.setdefault(key, []).append(cid)
        order = {key: i for i, key in enumerate(query.symbol_keys)}
        best: dict[int, float] = {}
        for key, ids in per_key.items():
            if len(ids) > MAX_KEY_MATCHES:
                continue
            # Specific keys (more parts, fewer matches) beat generic ones; earlier
            # identifiers in the query break ties.
            score = (key.count(".") + 1) / math.log2(1 + len(ids)) - order[key] * 1e-6
            for cid in ids:
                best[cid] = max(best.get(cid, float("-inf")), score)
        ranked = sorted(best, key=lambda cid: (-best[cid], cid))
        return [(cid, best[cid]) for cid in ranked[:limit]]


class FrameRetriever:
    """Chunks that contain the file:line of a pasted stack frame, innermost first.

    A trace from another version of the code than the one indexed names the right
    function at a line that has moved: when the chunk at the line is not the function
    the frame names and the file has a chunk of that name, the named chunk nearest the
    line is taken instead (a line past the end of the file finds it too)."""

    name = "frames"

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def retrieve(self, query: Query, filters: Filters, limit: int) -> Scored:
        out: dict[int, None] = {}
        for frame in query.frames:
            cid = self._frame_chunk(frame)
            if cid is not None:
                out.setdefault(cid, None)
        ids = list(out)
        if ids and filters.active:
            allowed = self.store.allowed_chunk_ids(filters)
            ids = [cid for cid in ids if cid in allowed]
        return [(cid, 1.0 / rank) for rank, cid in enumerate(ids[:limit], start=1)]

    def _frame_chunk(self, frame: Frame) -> int | None:
        name = _frame_function_name(frame.function)
        for suffix in _path_suffixes(frame.path):
            rows = self.store.frame_chunks(suffix, frame.line, name)
            if not rows:
                continue
            holding = [r for r in rows if r[2] <= frame.line <= r[3]]
            if name:
                named_here = [r for r in holding if r[1] == name]
                if named_here:  # the innermost chunk of that name that holds the line
                    return named_here[0][0]
                named = [r for r in rows if r[1] == name]
                if named:
                    return min(named, key=lambda r: (abs(r[2] - frame.line), r[0]))[0]
            return holding[0][0] if holding else None
        return None


def _frame_function_name(function: str) -> str:
    """The bare name a frame's function has in the code: `cobra.(*Command).Find` -> Find,
    `Command.parse` -> parse, `regex::Regex::new` -> new; "" for what no definition is
    named (`<module>`, `<lambda>`, `Object.<anonymous>`, `new Foo` is its constructor)."""
    if not function or "<" in function or function.startswith("new "):
        return ""
    last = re.split(r"::|[.#\\/]|->", function)[-1]
    return last if re.fullmatch(r"[A-Za-z_$][\w$]*", last) else ""


def _path_suffixes(path: str, longest: int = 4) -> list[str]:
    parts = [p for p in path.replace("\\", "/").split("/") if p and p not in (".", "..")]
    return ["/".join(parts[-n:]) for n in range(min(longest, len(parts)), 0, -1)]


class DenseRetriever:
    """Nearest neighbours of the query embedding among the chunk vectors. A search runs it
    on the calling thread while a worker runs the SQLite retrievers (search._gather), then
    lets it rank the other retrievers' candidates too (rank_pool)."""

    name = "dense"

    def __init__(self, store: SQLiteStore, embed_query: Callable[[str], Any], vectors) -> None:
        self.store = store
        self.embed_query = embed_query
        self.vectors = vectors
        self._embedded: tuple[str, Any] | None = None  # (query text, its vector)
        self.best: float | None = None  # the best cosine retrieve() found

    def retrieve(self, query: Query, filters: Filters, limit: int) -> Scored:
        qvec = self._embed(query)  # first: surfaces the embedder's errors
        if self.vectors is None or len(self.vectors) == 0:
            return []
        allowed = self.store.allowed_chunk_ids(filters) if filters.active else None
        ranking = self.vectors.search(qvec, limit, allowed=allowed)
        self.best = float(ranking[0][1]) if ranking else None
        return ranking

    def rank_pool(self, query: Query, ranking: Scored, pool: Iterable[int]) -> Scored:
        """`ranking` continued by every other candidate in `pool` that has a vector, most
        similar first.

        Reciprocal-rank fusion gives a candidate nothing from a list it is missing from: a
        chunk that lexical search ranks 5th but whose vector is 150th got no dense share
        at all, while one both rank 90th got two. After the top `limit` (which lead by
        construction) the pool is ranked by similarity, so dense evidence counts for every
        candidate; the other retrievers' candidates already passed the search's filters.
        History set, micro S!@10 0.695 -> 0.706 (docs/benchmarks.md)."""
        if not ranking or self.vectors is None or len(self.vectors) == 0:
            return ranking
        have = {cid for cid, _ in ranking}
        rest = [cid for cid in pool if cid not in have]
        if not rest:
            return ranking
        return [*ranking, *self.vectors.similarities(self._embed(query), rest)]

    def _embed(self, query: Query) -> Any:
        # A long report's head (its title and first prose), not its log: the model reads
        # only the first 128 tokens of what it is given.
        if self._embedded is None or self._embedded[0] != query.embed_text:
            self._embedded = (query.embed_text, self.embed_query(query.embed_text))
        return self._embedded[1]
