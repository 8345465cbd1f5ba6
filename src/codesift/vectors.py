"""Nearest-neighbour search over chunk vectors, and its on-disk sidecar cache.

Exact numpy search up to `EXACT_MAX` vectors, an hnswlib graph above (bench/bench_vectors.py).
The database stays the source of truth: `load` returns None whenever the sidecar is
missing, stale or damaged, and the caller rebuilds it from the stored vectors.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

# Exact search over a memory-mapped matrix costs ~30 ms at 100k x 384 and nothing to load;
# an hnswlib graph answers in < 1 ms but takes ~180 ms to load at 100k (bench_vectors.py).
EXACT_MAX = 100_000
# 2: rows carry tags (a fingerprint of what each vector embeds); 3: HNSW labels are the ids,
# so that a graph is patched in place (VectorIndex.patched) instead of rebuilt.
FORMAT = 3
# ef 64 gave recall@10 0.88 at 100k on near-duplicate-heavy vectors, ef 128 gave 0.96.
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF = 16, 128, 128
_OVERFETCH_LIMIT = 4096  # past this many ANN candidates a filtered query goes exact
# A patched graph keeps the slots of deleted vectors until new ones reuse them; past this
# share of dead slots it is rebuilt.
REBUILD_DEAD_SHARE = 0.25


class VectorIndex:
    """Cosine search over unit vectors keyed by int64 ids.

    ann: "auto" (HNSW above exact_max vectors), "hnsw" or "exact". `tags` (int64, one
    per row, optional) travel with the rows and the sidecar: the owner's fingerprint of
    what each vector embeds, so a stale sidecar can be patched rather than rebuilt.
    """

    def __init__(
        self,
        ids: np.ndarray,
        vectors: np.ndarray,
        *,
        ann: str = "auto",
        exact_max: int = EXACT_MAX,
        tags: np.ndarray | None = None,
        _graph: Any = None,
    ) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        if vectors.ndim != 2 or len(ids) != len(vectors):
            raise ValueError(f"ids {ids.shape} and vectors {vectors.shape} do not match")
        if tags is not None:
            tags = np.asarray(tags, dtype=np.int64)
            if tags.shape != ids.shape:
                raise ValueError(f"tags {tags.shape} and ids {ids.shape} do not match")
        if len(ids) and not bool(np.all(ids[1:] > ids[:-1])):  # sorted ids: searchsorted maps id -> row
            order = np.argsort(ids, kind="stable")
            ids, vectors = ids[order], vectors[order]
            tags = None if tags is None else tags[order]
            if np.any(ids[1:] == ids[:-1]):
                raise ValueError("duplicate ids")
        self.ids, self.tags, self.exact_max = ids, tags, exact_max
        self.vectors = vectors if vectors.dtype == np.float32 else vectors.astype(np.float32)
        self.graph = _graph
        if self.graph is None and len(ids) and (ann == "hnsw" or (ann == "auto" and len(ids) > exact_max)):
            self.graph = _build_hnsw(self.vectors, self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    # -- search ----------------------------------------------------------------------------

    def search(self, query: np.ndarray, k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        """The k nearest ids by cosine similarity, best first. With `allowed`, only those
        ids count, and k results still come back when k of them exist."""
        if k <= 0 or not len(self.ids):
            return []
        q = _unit(query)
        if allowed is None:
            rows, sims = self._ann(q, k) if self.graph is not None else _exact(self.vectors, q, k)
            return self._pairs(rows, sims)
        rows = self._rows_for(allowed)
        if not len(rows):
            return []
        # A small allowed set is cheaper to scan than to fish out of the graph.
        if self.graph is None or len(rows) <= self.exact_max // 4:
            sub_rows, sims = _exact(self.vectors[rows], q, k)
            return self._pairs(rows[sub_rows], sims)
        return self._filtered_ann(q, k, rows)

    def similarities(self, query: np.ndarray, ids: Iterable[int]) -> list[tuple[int, float]]:
        """Cosine similarity of the query to each of `ids` that has a vector, best first
        (ties by id)."""
        wanted = np.fromiter(ids, dtype=np.int64)
        if not len(self.ids) or not len(wanted):
            return []
        rows = _matching(self.ids, wanted)
        sims = self.vectors[rows] @ _unit(query)
        order = np.argsort(-sims, kind="stable")
        return self._pairs(rows[order], sims[order])

    def _filtered_ann(self, q: np.ndarray, k: int, rows: np.ndarray) -> list[tuple[int, float]]:
        mask = np.zeros(len(self.ids), dtype=bool)
        mask[rows] = True
        want = min(len(rows), k)
        fetch = int(np.ceil(k * len(self.ids) / len(rows) * 2))  # over-fetch by the filter's selectivity
        while fetch <= _OVERFETCH_LIMIT:
            cand, sims = self._ann(q, min(fetch, len(self.ids)))
            keep = mask[cand]
            if keep.sum() >= want or fetch >= len(self.ids):
                return self._pairs(cand[keep][:k], sims[keep][:k])
            fetch *= 4
        sub_rows, sims = _exact(self.vectors[rows], q, k)
        return self._pairs(rows[sub_rows], sims)

    def _ann(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, len(self.ids))
        self.graph.set_ef(max(HNSW_EF, k))
        labels, dists = self.graph.knn_query(q, k=k)
        rows = np.searchsorted(self.ids, labels[0].astype(np.int64))
        return rows, (1.0 - dists[0]).astype(np.float32)

    # -- updates -----------------------------------------------------------------------------

    def patched(self, keep: np.ndarray, ids: np.ndarray, vectors: np.ndarray,
                tags: np.ndarray | None, *, ann: str = "auto",
                exact_max: int = EXACT_MAX) -> VectorIndex:
        """This index with the rows where `keep` is False dropped and (ids, vectors, tags)
        added; an id may be both (its vector changed). The HNSW graph, when there is one, is
        patched in place: a dropped id is marked deleted, a changed one updated, a new one
        takes a deleted slot. Rebuilding it instead took minutes at Linux's 440k vectors,
        for a one-file edit. `self` must not be used afterwards (it shares the graph)."""
        ids = np.asarray(ids, dtype=np.int64)
        all_ids = np.concatenate([self.ids[keep], ids])
        all_vectors = np.vstack([np.asarray(self.vectors[keep]), vectors]).astype(np.float32)
        all_tags = None if self.tags is None or tags is None else np.concatenate([self.tags[keep], tags])
        graph = self.graph
        if graph is None or ann == "exact" or len(all_ids) <= exact_max:
            return VectorIndex(all_ids, all_vectors, tags=all_tags, ann=ann, exact_max=exact_max)
        _patch_graph(graph, len(self.ids), self.ids[~keep], ids, vectors)
        dead = graph.get_current_count() - len(all_ids)
        if dead > REBUILD_DEAD_SHARE * len(all_ids):
            return VectorIndex(all_ids, all_vectors, tags=all_tags, ann=ann, exact_max=exact_max)
        return VectorIndex(all_ids, all_vectors, tags=all_tags, exact_max=exact_max,
                           _graph=graph)

    def _rows_for(self, allowed: set[int]) -> np.ndarray:
        return _matching(self.ids, np.fromiter(allowed, dtype=np.int64, count=len(allowed)))

    def _pairs(self, rows: np.ndarray, sims: np.ndarray) -> list[tuple[int, float]]:
        return [(int(self.ids[r]), float(s)) for r, s in zip(rows, sims)]

    # -- persistence -----------------------------------------------------------------------

    def save(self, directory: str | os.PathLike[str], generation: str | int) -> None:
        """Write the sidecar into `directory`. Each save writes files under a fresh name and
        then swaps meta.json in one os.replace, so a reader sees the old or the new set,
        never a mix; files of older saves are then removed."""
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        tag = secrets.token_hex(6)
        files = {"ids": f"ids-{tag}.npy", "vectors": f"vectors-{tag}.npy"}
        _atomic(folder / files["ids"], lambda p: _save_npy(p, self.ids))
        _atomic(folder / files["vectors"], lambda p: _save_npy(p, self.vectors))
        if self.tags is not None:
            files["tags"] = f"tags-{tag}.npy"
            _atomic(folder / files["tags"], lambda p: _save_npy(p, self.tags))
        if self.graph is not None:
            files["hnsw"] = f"hnsw-{tag}.bin"
            _atomic(folder / files["hnsw"], lambda p: self.graph.save_index(p))
        meta = {"format": FORMAT, "generation": str(generation), "n": len(self.ids), "dim": self.dim, "files": files}
        _atomic(folder / "meta.json", lambda p: Path(p).write_text(json.dumps(meta)))
        for path in folder.iterdir():
            if path.name.startswith(("ids-", "vectors-", "hnsw-", "tags-")) \
                    and path.name not in files.values():
                path.unlink(missing_ok=True)

    @classmethod
    def load(
        cls, directory: str | os.PathLike[str], expected_generation: str | int | None, *,
        with_graph: bool = True
    ) -> VectorIndex | None:
        """The saved index if it is complete and of `expected_generation` (None: of any
        generation, for patching), else None.
        Vectors are memory-mapped, so loading costs little whatever the size. A one-shot
        process (a CLI search) should pass with_graph=False: reading the graph costs more
        than one exact scan at every size measured."""
        folder = Path(directory)
        try:
            meta = json.loads((folder / "meta.json").read_text())
            if meta.get("format") != FORMAT or (
                    expected_generation is not None and meta.get("generation") != str(expected_generation)):
                return None
            n, dim, files = int(meta["n"]), int(meta["dim"]), meta["files"]
            ids = np.load(folder / files["ids"], allow_pickle=False)
            vectors = np.load(folder / files["vectors"], mmap_mode="r", allow_pickle=False)
            if ids.shape != (n,) or vectors.shape != (n, dim) or vectors.dtype != np.float32:
                return None
            if n > 1 and not bool(np.all(ids[1:] > ids[:-1])):
                return None
            tags = np.load(folder / files["tags"], allow_pickle=False) if "tags" in files else None
            if tags is not None and tags.shape != (n,):
                return None
            graph = None
            if "hnsw" in files and with_graph:
                graph = _load_hnsw(folder / files["hnsw"], dim, n)
            return cls(ids, vectors, ann="exact", tags=tags, _graph=graph)
        except (OSError, ValueError, KeyError, TypeError, RuntimeError, json.JSONDecodeError):
            return None


def _matching(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Rows of `ids` (sorted) whose id is in `wanted`, ascending."""
    rows = np.searchsorted(ids, wanted)
    ok = rows < len(ids)
    rows, wanted = rows[ok], wanted[ok]
    return np.unique(rows[ids[rows] == wanted])


def _unit(query: np.ndarray) -> np.ndarray:
    q = np.asarray(query, dtype=np.float32).reshape(-1)
    return q / max(float(np.linalg.norm(q)), 1e-12)


def _exact(vectors: np.ndarray, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = vectors @ q
    if k < len(scores):
        top = np.argpartition(-scores, k - 1)[:k]
    else:
        top = np.arange(len(scores))
    top = top[np.argsort(-scores[top], kind="stable")]
    return top, scores[top]


def _build_hnsw(vectors: np.ndarray, ids: np.ndarray) -> Any:
    import hnswlib

    graph = hnswlib.Index(space="ip", dim=vectors.shape[1])
    graph.init_index(max_elements=len(vectors), M=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION,
                     random_seed=42, allow_replace_deleted=True)
    graph.add_items(np.ascontiguousarray(vectors), ids, num_threads=-1)
    graph.set_ef(HNSW_EF)
    graph.set_num_threads(1)  # queries are one at a time; threads only add overhead
    return graph


def _patch_graph(graph: Any, live: int, dropped: np.ndarray, ids: np.ndarray,
                 vectors: np.ndarray) -> None:
    """Mark `dropped` deleted and put (ids, vectors) in; `live`: the graph's live labels
    before. hnswlib refuses to update a deleted label in place, and reusing a slot whose
    old label is live again would break that label's lookup, so a label the graph holds
    (live or deleted) is updated in its own slot; only labels it never held take the slots
    of deleted ones."""
    again = np.isin(ids, np.fromiter(graph.get_ids_list(), dtype=np.int64))
    dead = graph.get_current_count() - live
    for label in np.setdiff1d(dropped, ids):
        graph.mark_deleted(int(label))
        dead += 1
    for label in ids[again]:
        try:
            graph.unmark_deleted(int(label))
            dead -= 1
        except RuntimeError:
            pass  # live: updated in place below
    if again.any():
        graph.add_items(np.ascontiguousarray(vectors[again]), ids[again], num_threads=1)
    fresh = ~again
    if fresh.any():
        room = graph.get_max_elements() - graph.get_current_count()
        short = int(fresh.sum()) - dead - room
        if short > 0:
            graph.resize_index(graph.get_max_elements() + short)
        graph.add_items(np.ascontiguousarray(vectors[fresh]), ids[fresh], num_threads=1,
                        replace_deleted=True)


def _load_hnsw(path: Path, dim: int, n: int) -> Any:
    import hnswlib

    graph = hnswlib.Index(space="ip", dim=dim)
    graph.load_index(str(path), max_elements=0, allow_replace_deleted=True)
    if graph.get_current_count() < n:  # more once deleted slots wait for reuse
        raise ValueError("graph size does not match")
    graph.set_num_threads(1)
    return graph


def _save_npy(path: str, array: np.ndarray) -> None:
    with open(path, "wb") as fh:  # a file object: np.save would append ".npy" to a name
        np.save(fh, np.ascontiguousarray(array), allow_pickle=False)


def _atomic(path: Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
