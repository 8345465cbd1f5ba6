"""The vector search structure behind the dense retriever, cached beside the database.

SQLite holds the vectors (the truth); a sidecar VectorIndex keyed by the index
generation makes a cold CLI search fast and is rebuilt whenever it is stale.
"""

from __future__ import annotations

from pathlib import Path

from ..store.sqlite import SQLiteStore
from ..vectors import VectorIndex

SIDECAR_DIRNAME = "vectors"


def load_or_build(store: SQLiteStore, index_dir: Path, generation: str, dim: int) -> VectorIndex:
    folder = index_dir / SIDECAR_DIRNAME
    cached = VectorIndex.load(folder, expected_generation=generation)
    if cached is not None:
        return cached
    ids, matrix = store.vector_matrix(dim)
    index = VectorIndex(ids, matrix)
    try:
        index.save(folder, generation=generation)
    except OSError:
        pass  # a read-only index dir still searches, just without the cache
    return index
