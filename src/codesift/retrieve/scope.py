"""The places a query's component prefix names (`net/http: ...`, `fix(runtime-dom): ...`;
query.subject_scopes reads them), resolved to indexed directories and files, and a lexical
search confined to them: the prefix says where the change lives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..model import Filters
from ..store.sqlite import SQLiteStore
from .query import Query

__all__ = ["scope_globs", "ScopeRetriever"]

MAX_GLOBS = 4


def _norm(part: str) -> str:
    return part.lower().replace("_", "-")


def _components(path: str) -> list[str]:
    parts = [_norm(p) for p in path.split("/")]
    stem = parts[-1].rsplit(".", 1)[0] if "." in parts[-1] else parts[-1]
    return [*parts[:-1], stem]


def _names(part: str, component: str) -> bool:
    """`subscriber` names `subscriber` and, as a workspace's members are named,
    `tracing-subscriber`."""
    return part == component or part.endswith("-" + component)


def scope_globs(scopes: Sequence[str], paths: Sequence[str], most: int = MAX_GLOBS) -> list[str]:
    """GLOB patterns for the directories and files the scopes name: a scope matches where
    its components run consecutively through a path (a directory or a file's stem; the
    first component may also end a hyphenated name, `core` for `tracing-core`). Only the
    shallowest matches count, at most `most` of them: `subscriber:` in a workspace means
    the `tracing-subscriber` crate, not every `subscriber.rs` further down."""
    found: dict[str, int] = {}
    for scope in scopes:
        want = [_norm(p) for p in scope.split("/") if p]
        if not want:
            continue
        n = len(want)
        for path in paths:
            parts = _components(path)
            for i in range(len(parts) - n + 1):
                if _names(parts[i], want[0]) and parts[i + 1:i + n] == want[1:]:
                    end = i + n
                    real = path.split("/")
                    glob = path if end == len(parts) else "/".join(real[:end]) + "/*"
                    found[glob] = min(found.get(glob, end), end)
                    break
    if not found:
        return []
    shallowest = min(found.values())
    return sorted(g for g, depth in found.items() if depth == shallowest)[:most]


class ScopeRetriever:
    """BM25 over the query's words inside the places its prefix names."""

    name = "scope"

    def __init__(self, store: SQLiteStore,
                 places: dict[tuple[str, tuple[str, ...]], list[str]] | None = None) -> None:
        self.store = store
        # Shared by the searches of one Index (it makes a retriever per search).
        self._globs = places if places is not None else {}

    def retrieve(self, query: Query, filters: Filters, limit: int) -> list[tuple[int, float]]:
        if not query.scopes or filters.path_glob or not query.terms:
            return []
        globs = self._places(query.scopes)
        if not globs:
            return []
        # The same bounded term set as the lexical retriever: a confined query still reads the
        # postings of every term before its path filter applies.
        terms = self.store.selective_terms(self.store.informative_terms(query.terms))
        best: dict[int, float] = {}
        for glob in globs:
            for cid, score in self.store.lexical_chunks(terms, limit, replace(filters, path_glob=glob)):
                best[cid] = max(best.get(cid, float("-inf")), score)
        ranked = sorted(best, key=lambda cid: (-best[cid], cid))[:limit]
        return [(cid, best[cid]) for cid in ranked]

    def _places(self, scopes: tuple[str, ...]) -> list[str]:
        """scope_globs, remembered per index state: matching walks every indexed path."""
        key = (self.store.state_key(), scopes)
        if key not in self._globs:
            if len(self._globs) > 256:
                self._globs.clear()
            self._globs[key] = scope_globs(scopes, self.store.indexed_paths())
        return self._globs[key]
