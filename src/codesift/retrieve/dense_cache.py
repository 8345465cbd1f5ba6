"""The vector search structure behind the dense retriever, cached beside the database.

SQLite holds the vectors (the truth); a sidecar VectorIndex keyed by the index
generation makes a cold CLI search fast and is rebuilt whenever it is stale.
"""

from __future__ import annotations

from pathlib import Path

from ..store.sqlite import SQLiteStore
from ..vectors import VectorIndex

SIDECAR_DIRNAME = "vectors"


def load_or_build(store: SQLiteStore, index_dir: Path, generation: str, dim: int, *,
                  with_graph: bool = True) -> VectorIndex:
    """`with_graph=False` skips loading the HNSW graph: for one query, an exact scan is
    cheaper than reading the graph (bench/bench_vectors.py)."""
    folder = index_dir / SIDECAR_DIRNAME
    cached = VectorIndex.load(folder, expected_generation=generation, with_graph=with_graph)
    if cached is not None:
        return cached
    ids, matrix = store.vector_matrix(dim)
    index = VectorIndex(ids, matrix, ann="auto" if with_graph else "exact")
    try:
        index.save(folder, generation=generation)
    except OSError:
        pass  # a read-only index dir still searches, just without the cache
    return index
