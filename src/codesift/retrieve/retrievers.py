"""The retrievers: each turns an analysed Query into a ranked list of chunk ids.

lexical (BM25 over code tokens), identifiers (BM25 over only the query's code-like
names), symbol (exact qualified-name match), frames (traceback file:line), dense (vectors).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol

from ..model import Filters
from ..store.sqlite import SQLiteStore
from .query import Query

Scored = list[tuple[int, float]]  # (chunk id, retriever's own score), best first
DEFAULT_DEPTH = 100
MAX_KEY_MATCHES = 200  # a key matching more definitions than this says nothing


class Retriever(Protocol):
    name: str

    def retrieve(self, query: Query, filters: Filters, limit: int) -> Scored: ...


class LexicalRetriever:
    name = "lexical"

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def retrieve(self, query: Query, filters: Filters, limit: int) -> Scored:
        return self.store.lexical_chunks(self.store.selective_terms(query.terms), limit, filters)


class IdentifierRetriever:
    """BM25 over the query's code-like names alone, so a long report's prose cannot
    drown the `parse_header` it mentions."""

    name = "identifiers"

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def retrieve(self, query: Query, filters: Filters, limit: int) -> Scored:
        if not query.identifier_terms or query.identifier_terms == query.terms:
            return []
        terms = self.store.selective_terms(query.identifier_terms)
        return self.store.lexical_chunks(terms, limit, filters)


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
    """Chunks that contain the file:line of a pasted stack frame, innermost first."""

    name = "frames"

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def retrieve(self, query: Query, filters: Filters, limit: int) -> Scored:
        out: dict[int, None] = {}
        for frame in query.frames:
            for suffix in _path_suffixes(frame.path):
                ids = self.store.chunks_containing(suffix, frame.line)
                if ids:
                    out.setdefault(ids[0], None)
                    break
        ids = list(out)
        if ids and filters.active:
            allowed = self.store.allowed_chunk_ids(filters)
            ids = [cid for cid in ids if cid in allowed]
        return [(cid, 1.0 / rank) for rank, cid in enumerate(ids[:limit], start=1)]


def _path_suffixes(path: str, longest: int = 4) -> list[str]:
    parts = [p for p in path.replace("\\", "/").split("/") if p and p not in (".", "..")]
    return ["/".join(parts[-n:]) for n in range(min(longest, len(parts)), 0, -1)]


class DenseRetriever:
    """Nearest neighbours of the query embedding among the chunk vectors. The worker thread
    that embeds the query also scans the vectors when no filter applies (`embed_and_scan`),
    while the other retrievers run here."""

    name = "dense"

    def __init__(self, store: SQLiteStore, pending: Future, vectors,
                 scanned_limit: int = 0) -> None:
        self.store = store
        self.pending = pending  # -> (query vector, its nearest chunks or None)
        self.vectors = vectors
        self.scanned_limit = scanned_limit

    def retrieve(self, query: Query, filters: Filters, limit: int) -> Scored:
        qvec, nearest = self.pending.result()  # also surfaces the embedder's errors
        if self.vectors is None or len(self.vectors) == 0:
            return []
        if nearest is not None and not filters.active and limit == self.scanned_limit:
            return nearest
        allowed = self.store.allowed_chunk_ids(filters) if filters.active else None
        return self.vectors.search(qvec, limit, allowed=allowed)


def embed_and_scan(embed_query: Callable[[str], Any], vectors, text: str,
                   limit: int) -> tuple[Any, Scored | None]:
    """The query vector and, when `limit` > 0, its `limit` nearest chunks. Meant for the
    worker thread: the scan (2-3 ms over 23k vectors, memory-bound) then overlaps the
    lexical retrievers instead of following the embedding on the main thread."""
    qvec = embed_query(text)
    if limit <= 0 or vectors is None or len(vectors) == 0:
        return qvec, None
    return qvec, vectors.search(qvec, limit)
