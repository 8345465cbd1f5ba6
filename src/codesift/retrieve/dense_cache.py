"""The vector search structure behind the dense retriever, cached beside the database.

SQLite holds the vectors (the truth); a sidecar VectorIndex keyed by the index
generation makes a cold CLI search fast and is patched or rebuilt whenever it is stale.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..store.sqlite import SQLiteStore
from ..vectors import EXACT_MAX, VectorIndex

SIDECAR_DIRNAME = "vectors"
# Patching copies the rows it keeps; past this share of new rows a rebuild reads less.
_PATCH_MAX_NEW = 0.5


def load_or_build(store: SQLiteStore, index_dir: Path, generation: str, dim: int, *,
                  with_graph: bool = True) -> VectorIndex:
    """`with_graph=False` skips loading the HNSW graph: for one query, an exact scan is
    cheaper than reading the graph (bench/bench_vectors.py)."""
    folder = index_dir / SIDECAR_DIRNAME
    cached = VectorIndex.load(folder, expected_generation=generation, with_graph=with_graph)
    if cached is not None and not (with_graph and cached.graph is None and len(cached) > EXACT_MAX):
        return cached
    index = _patched(store, folder, dim, with_graph)
    if index is None:
        ids, matrix, tags = store.vector_matrix(dim)
        index = VectorIndex(ids, matrix, ann="auto" if with_graph else "exact", tags=tags)
    if with_graph or len(index) <= EXACT_MAX:
        # A one-shot process searches exactly: past EXACT_MAX its sidecar would lack the
        # graph a long-lived process needs, so it leaves the saving to them.
        try:
            index.save(folder, generation=generation)
        except OSError:
            pass  # a read-only index dir still searches, just without the cache
    return index


def _patched(store: SQLiteStore, folder: Path, dim: int, with_graph: bool) -> VectorIndex | None:
    """The stale sidecar brought up to date: rows whose chunk still has the same text are
    kept, vectors are read from SQLite only for new chunks, and an HNSW graph is patched
    in place (VectorIndex.patched). A one-file re-index then reads a few vectors instead of
    all of them (tens of MB on a large repository). None when there is nothing usable to
    patch."""
    previous = VectorIndex.load(folder, expected_generation=None, with_graph=with_graph)
    if previous is None or previous.tags is None or previous.dim != dim:
        return None
    ids, tags = store.vector_keys()
    order = np.argsort(ids, kind="stable")
    ids, tags = ids[order], tags[order]
    rows = np.searchsorted(ids, previous.ids)
    inside = rows < len(ids)
    rows_in = np.where(inside, rows, 0)
    keep = inside & (ids[rows_in] == previous.ids) & (tags[rows_in] == previous.tags)
    matched = np.zeros(len(ids), dtype=bool)
    matched[rows_in[keep]] = True
    new_ids = ids[~matched]
    if len(new_ids) > _PATCH_MAX_NEW * max(len(ids), 1):
        return None
    add_ids, add_vectors, add_tags = store.vectors_of(new_ids.tolist(), dim)
    if len(add_ids) != len(new_ids):
        return None  # the database changed under us: rebuild from it
    return previous.patched(keep, add_ids, add_vectors, add_tags,
                            ann="auto" if with_graph else "exact")
