"""Nearest-neighbour search: exact numpy vs hnswlib vs usearch at 10k / 100k / 300k vectors.

    cd /work/main && PYTHONPATH=src .venv/bin/python bench/bench_vectors.py [--sizes 10000 100000 300000] [--ef 64]

Vectors are "random but realistic": 1,000 real all-MiniLM-L6-v2 embeddings of ~400-char stdlib chunks
(anchors) plus gaussian noise around them, so the set keeps the cone shape and the
near-duplicate clusters of real code embeddings. Queries are embeddings of other chunks.
Reported per engine: build time, index bytes, p50/p95 query latency (k=10, 1 thread),
recall@10 against exact search, and a fresh-process load + first query time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))
ANCHORS = Path(tempfile.gettempdir()) / "codesift-bench-anchors.npy"
HNSW = dict(M=16, ef_construction=128, ef=64)


def anchors() -> np.ndarray:
    """1,200 real embeddings (1,000 anchors + 200 queries), cached between runs."""
    if ANCHORS.exists():
        return np.load(ANCHORS)
    from bench_embed import stdlib_chunks

    from codesift.embed import make_embedder

    vecs = make_embedder("local", threads=2).embed_documents(stdlib_chunks(1200, size=400, seed=7))
    np.save(ANCHORS, vecs)
    return vecs


def dataset(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    real = anchors()
    base, queries = real[:1000], real[1000:]
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(base), n)
    sigma = rng.uniform(0.01, 0.05, (n, 1)).astype(np.float32)
    vecs = base[pick] + sigma * rng.standard_normal((n, base.shape[1]), dtype=np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return vecs.astype(np.float32), queries.astype(np.float32)


def exact_topk(vecs: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    scores = vecs @ q
    top = np.argpartition(-scores, k - 1)[:k]
    return top[np.argsort(-scores[top])]


def timed(fn, queries, k=10):
    out, times = [], []
    for q in queries:
        t = time.perf_counter()
        out.append(fn(q, k))
        times.append(time.perf_counter() - t)
    ms = 1000 * np.array(times)
    return out, float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


def recall(got, truth) -> float:
    return float(np.mean([len(set(map(int, g)) & set(map(int, t))) / len(t) for g, t in zip(got, truth)]))


def build_hnswlib(vecs, path):
    import hnswlib

    idx = hnswlib.Index(space="ip", dim=vecs.shape[1])
    idx.init_index(max_elements=len(vecs), M=HNSW["M"], ef_construction=HNSW["ef_construction"])
    idx.add_items(vecs, np.arange(len(vecs)), num_threads=2)
    idx.set_ef(HNSW["ef"])
    idx.set_num_threads(1)
    idx.save_index(path)
    return lambda q, k: idx.knn_query(q, k=k)[0][0]


def build_usearch(dtype):
    def build(vecs, path):
        from usearch.index import Index

        idx = Index(ndim=vecs.shape[1], metric="cos", dtype=dtype, connectivity=HNSW["M"],
                    expansion_add=HNSW["ef_construction"], expansion_search=HNSW["ef"])  # fmt: skip
        idx.add(np.arange(len(vecs)), vecs, threads=2)
        idx.save(path)
        return lambda q, k: idx.search(q, k, threads=1).keys

    return build


ENGINES = {"hnswlib f32": build_hnswlib, "usearch f32": build_usearch("f32"), "usearch f16": build_usearch("f16")}


def load_worker(engine: str, path: str, dim: int, n: int) -> None:
    """Fresh process: time load + first query, as a CLI call would pay it."""
    q = np.load(ANCHORS)[1000]
    t = time.perf_counter()
    if engine == "exact f32 (mmap)":
        v = np.load(path, mmap_mode="r")
        exact_topk(v, q, 10)
    elif engine == "hnswlib f32":
        import hnswlib

        idx = hnswlib.Index(space="ip", dim=dim)
        idx.load_index(path, max_elements=n)
        idx.knn_query(q, k=10)
    else:
        from usearch.index import Index

        idx = Index.restore(path, view=True)
        idx.search(q, 10)
    print(json.dumps({"load_ms": 1000 * (time.perf_counter() - t)}))


def index_load_worker(folder: str) -> None:
    """Fresh process: VectorIndex.load + first query, the cost a CLI search pays."""
    q = np.load(ANCHORS)[1000]
    t = time.perf_counter()
    from codesift.vectors import VectorIndex

    index = VectorIndex.load(folder, "bench")
    assert index is not None
    index.search(q, 10)
    print(json.dumps({"load_ms": 1000 * (time.perf_counter() - t)}))


def bench_vector_index(sizes: list[int], tmp: str) -> None:
    from codesift.vectors import VectorIndex

    print("\nVectorIndex (codesift.vectors) with its defaults: save, then fresh-process load + first query")
    print(f"{'vectors':>8} {'graph':>6} {'build s':>8} {'save s':>7} {'load+1st ms':>11}")
    env = dict(os.environ, PYTHONPATH=str(HERE.parent.parent / "src"))
    for n in sizes:
        vecs, _ = dataset(n)
        t = time.perf_counter()
        index = VectorIndex(np.arange(n), vecs)
        build = time.perf_counter() - t
        folder = os.path.join(tmp, f"vi{n}")
        t = time.perf_counter()
        index.save(folder, "bench")
        save = time.perf_counter() - t
        runs = [json.loads(subprocess.run([sys.executable, str(HERE), "--load-index", folder], env=env,
                                          capture_output=True, text=True, check=True).stdout)["load_ms"]
                for _ in range(3)]  # fmt: skip
        print(f"{n:8,} {index.graph is not None!s:>6} {build:8.1f} {save:7.2f} {min(runs):11.1f}")


def fresh_load_ms(engine: str, path: str, dim: int, n: int) -> float:
    env = dict(os.environ, PYTHONPATH=str(HERE.parent.parent / "src"))
    runs = []
    for _ in range(3):
        res = subprocess.run([sys.executable, str(HERE), "--load", engine, path, str(dim), str(n)],
                             env=env, capture_output=True, text=True, check=True)  # fmt: skip
        runs.append(json.loads(res.stdout)["load_ms"])
    return min(runs)


def bench_size(n: int, tmp: str) -> None:
    vecs, queries = dataset(n)
    print(f"\n{n:,} vectors x {vecs.shape[1]}, {len(queries)} queries, k=10, "
          f"HNSW M={HNSW['M']} efC={HNSW['ef_construction']} ef={HNSW['ef']}")  # fmt: skip
    print(f"{'engine':18} {'build s':>8} {'MB':>7} {'p50 ms':>7} {'p95 ms':>7} {'p95 vs exact':>12} "
          f"{'recall@10':>9} {'load+1st ms':>11}")  # fmt: skip
    vpath = os.path.join(tmp, f"v{n}.npy")
    np.save(vpath, vecs)
    truth, p50, p95_exact = timed(lambda q, k: exact_topk(vecs, q, k), queries)
    load = fresh_load_ms("exact f32 (mmap)", vpath, vecs.shape[1], n)
    print(f"{'exact numpy f32':18} {0:8.1f} {os.path.getsize(vpath) / 1e6:7.1f} {p50:7.2f} {p95_exact:7.2f} "
          f"{1:11.2f}x {1:9.3f} {load:11.1f}")  # fmt: skip
    for name, build in ENGINES.items():
        path = os.path.join(tmp, f"{name.replace(' ', '_')}{n}.bin")
        t = time.perf_counter()
        search = build(vecs, path)
        secs = time.perf_counter() - t
        got, p50, p95 = timed(search, queries)
        load = fresh_load_ms(name, path, vecs.shape[1], n)
        print(f"{name:18} {secs:8.1f} {os.path.getsize(path) / 1e6:7.1f} {p50:7.2f} {p95:7.2f} "
              f"{p95 / p95_exact:11.2f}x {recall(got, truth):9.3f} {load:11.1f}")  # fmt: skip


def ef_sweep(n: int) -> None:
    """hnswlib recall and latency against ef at one size (one build)."""
    import hnswlib

    vecs, queries = dataset(n)
    truth = [exact_topk(vecs, q, 10) for q in queries]
    idx = hnswlib.Index(space="ip", dim=vecs.shape[1])
    idx.init_index(max_elements=n, M=HNSW["M"], ef_construction=HNSW["ef_construction"])
    idx.add_items(vecs, np.arange(n), num_threads=2)
    idx.set_num_threads(1)
    print(f"\nhnswlib ef sweep at {n:,} vectors (M={HNSW['M']}, efC={HNSW['ef_construction']})")
    for ef in (64, 128, 256):
        idx.set_ef(ef)
        got, p50, p95 = timed(lambda q, k: idx.knn_query(q, k=k)[0][0], queries)
        print(f"ef={ef:<4} recall@10 {recall(got, truth):.3f}  p50 {p50:.2f} ms  p95 {p95:.2f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 300_000])
    ap.add_argument("--index-sizes", type=int, nargs="*", default=[72_000, 100_000])
    ap.add_argument("--ef", type=int, default=HNSW["ef"])
    ap.add_argument("--ef-sweep", type=int, default=100_000, help="size for the ef sweep; 0 skips it")
    args = ap.parse_args()
    HNSW["ef"] = args.ef
    anchors()
    if args.ef_sweep:
        ef_sweep(args.ef_sweep)
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            bench_size(n, tmp)
        bench_vector_index(args.index_sizes, tmp)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--load-index":
        index_load_worker(sys.argv[2])
    elif len(sys.argv) > 1 and sys.argv[1] == "--load":
        load_worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        main()
