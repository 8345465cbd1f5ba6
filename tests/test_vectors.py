"""VectorIndex: exact and HNSW search agree, filters keep k results, the sidecar round-trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from codesift.vectors import VectorIndex


def clustered(n: int, dim: int = 64, clusters: int = 50, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors around fixed random centres, like embeddings of related code."""
    centres = np.random.default_rng(0).standard_normal((clusters, dim)).astype(np.float32)
    rng = np.random.default_rng(seed)
    vecs = centres[rng.integers(0, clusters, n)] + 0.4 * rng.standard_normal((n, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ids = rng.permutation(np.arange(1000, 1000 + 3 * n, 3)).astype(np.int64)  # sparse, unsorted
    return ids, vecs


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return clustered(6000)


@pytest.fixture(scope="module")
def exact(data) -> VectorIndex:
    return VectorIndex(*data, ann="exact")


@pytest.fixture(scope="module")
def hnsw(data) -> VectorIndex:
    return VectorIndex(*data, ann="hnsw", exact_max=400)  # filters of > 100 ids use the graph


def queries(n: int = 50, seed: int = 1) -> np.ndarray:
    return clustered(n, seed=seed)[1]


def same(a: list[tuple[int, float]], b: list[tuple[int, float]]) -> bool:
    return [i for i, _ in a] == [i for i, _ in b] and np.allclose([s for _, s in a], [s for _, s in b], atol=1e-5)


def test_exact_is_exact(data, exact: VectorIndex) -> None:
    ids, vecs = data
    q = queries(1)[0]
    got = exact.search(q, 10)
    scores = vecs @ q
    best = np.argsort(-scores)[:10]
    assert [i for i, _ in got] == [int(ids[b]) for b in best]
    assert [s for _, s in got] == pytest.approx([float(scores[b]) for b in best], abs=1e-5)
    assert same(exact.search(q * 3.0, 3), exact.search(q, 3))  # queries are normalised


def test_hnsw_recall_against_exact(exact: VectorIndex, hnsw: VectorIndex) -> None:
    assert hnsw.graph is not None and exact.graph is None
    recalls = []
    for q in queries():
        truth = {i for i, _ in exact.search(q, 10)}
        got = hnsw.search(q, 10)
        assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)
        recalls.append(len(truth & {i for i, _ in got}) / 10)
    assert np.mean(recalls) >= 0.95


@pytest.mark.parametrize("which", ["exact", "hnsw"])
@pytest.mark.parametrize("fraction", [0.002, 0.05, 0.5])
def test_allowed_filter_returns_k(request, data, exact: VectorIndex, which: str, fraction: float) -> None:
    index: VectorIndex = request.getfixturevalue(which)
    ids = data[0]
    rng = np.random.default_rng(3)
    allowed = {int(i) for i in rng.choice(ids, int(len(ids) * fraction), replace=False)}
    for q in queries(10):
        got = index.search(q, 10, allowed=allowed)
        assert len(got) == min(10, len(allowed))
        assert {i for i, _ in got} <= allowed
        truth = {i for i, _ in exact.search(q, 10, allowed=allowed)}
        assert len(truth & {i for i, _ in got}) >= 8


def test_edge_cases(exact: VectorIndex, hnsw: VectorIndex) -> None:
    q = queries(1)[0]
    assert exact.search(q, 0) == []
    assert exact.search(q, 10, allowed=set()) == []
    assert exact.search(q, 10, allowed={-5, 7}) == []  # unknown ids are ignored
    assert len(exact.search(q, 10**6)) == len(exact)
    assert len(hnsw.search(q, 10**4)) == len(hnsw)
    empty = VectorIndex(np.zeros(0, dtype=np.int64), np.zeros((0, 8), dtype=np.float32))
    assert empty.search(np.ones(8), 5) == []
    with pytest.raises(ValueError):
        VectorIndex(np.array([1, 1]), np.ones((2, 4), dtype=np.float32))


@pytest.mark.parametrize("which", ["exact", "hnsw"])
def test_similarities_rank_the_given_ids_as_a_full_scan_does(request, data, which: str) -> None:
    index: VectorIndex = request.getfixturevalue(which)
    ids, vecs = data
    q = queries(1)[0]
    wanted = [int(i) for i in ids[::37]] + [-5, 7]  # unknown ids are left out
    got = index.similarities(q * 2.0, wanted)
    truth = sorted(((int(i), float(s)) for i, s in zip(ids, vecs @ q) if int(i) in set(wanted)),
                   key=lambda p: -p[1])
    assert same(got, truth)
    assert index.similarities(q, []) == []


@pytest.mark.parametrize("which", ["exact", "hnsw"])
def test_save_load_roundtrip(request, tmp_path: Path, which: str) -> None:
    index: VectorIndex = request.getfixturevalue(which)
    index.save(tmp_path, generation=7)
    loaded = VectorIndex.load(tmp_path, expected_generation=7)
    assert loaded is not None and len(loaded) == len(index)
    assert (loaded.graph is None) == (index.graph is None)
    assert isinstance(loaded.vectors, np.memmap)
    for q in queries(5):
        assert same(loaded.search(q, 10), index.search(q, 10))
    exact_only = VectorIndex.load(tmp_path, expected_generation=7, with_graph=False)
    assert exact_only is not None and exact_only.graph is None


def test_stale_missing_or_damaged_sidecar_is_none(tmp_path: Path, exact: VectorIndex) -> None:
    assert VectorIndex.load(tmp_path / "nothing", 1) is None
    exact.save(tmp_path, generation="g1")
    assert VectorIndex.load(tmp_path, "g2") is None
    assert VectorIndex.load(tmp_path, "g1") is not None
    exact.save(tmp_path, generation="g2")  # a second save replaces the first's files
    assert len(list(tmp_path.glob("vectors-*.npy"))) == 1
    vec_file = next(tmp_path.glob("vectors-*.npy"))
    vec_file.write_bytes(vec_file.read_bytes()[:1000])  # truncated
    assert VectorIndex.load(tmp_path, "g2") is None
    (tmp_path / "meta.json").write_text("{not json")
    assert VectorIndex.load(tmp_path, "g2") is None


def test_damaged_graph_is_none(tmp_path: Path, hnsw: VectorIndex) -> None:
    hnsw.save(tmp_path, generation=1)
    graph_file = next(tmp_path.glob("hnsw-*.bin"))
    graph_file.write_bytes(graph_file.read_bytes()[:5000])
    assert VectorIndex.load(tmp_path, 1) is None


def test_a_patched_graph_answers_as_a_fresh_build_and_never_returns_a_dropped_id(
        tmp_path: Path) -> None:
    """Edits patch the HNSW graph in place (a rebuild took minutes at 440k vectors): ids
    dropped, vectors changed under the same id, ids new, an id dropped and later back,
    each round saved and loaded again as a server would."""
    ids, vecs = clustered(3000)
    index = VectorIndex(ids, vecs, ann="hnsw", exact_max=400, tags=ids.copy())
    rng = np.random.default_rng(7)
    spare_ids, spare = clustered(600, seed=3)
    spare_ids = spare_ids + 10**6
    live = dict(zip(ids.tolist(), vecs))
    dropped_once: list[int] = []
    for round_ in range(4):
        current = np.array(sorted(live), dtype=np.int64)
        drop = set(rng.choice(current, 40, replace=False).tolist())
        change = [i for i in rng.choice(current, 30, replace=False).tolist() if i not in drop]
        new = spare_ids[round_ * 20:(round_ + 1) * 20].tolist()  # fewer than dropped: slots wait
        back = dropped_once[:10]  # dropped in an earlier round, back now
        add_ids = np.array(change + new + back, dtype=np.int64)
        add_vecs = np.vstack([clustered(len(add_ids), seed=20 + round_)[1]])
        keep = np.array([i not in drop and i not in change for i in index.ids.tolist()])
        before = index.graph
        index = index.patched(keep, add_ids, add_vecs, add_ids.copy(), exact_max=400)
        assert index.graph is before  # patched in place, not rebuilt
        for i in drop:
            live.pop(i)
        live.update(zip(add_ids.tolist(), add_vecs))
        dropped_once = [i for i in drop if i not in live] + dropped_once[10:]
        index.save(tmp_path, generation=round_)
        index = VectorIndex.load(tmp_path, round_)
        assert index is not None and index.graph is not None
    truth = VectorIndex(np.array(sorted(live)), np.vstack([live[i] for i in sorted(live)]),
                        ann="exact")
    assert sorted(index.ids.tolist()) == sorted(live)
    recalls = []
    for q in queries(40, seed=9):
        got = index.search(q, 10)
        assert all(i in live for i, _ in got)
        recalls.append(len({i for i, _ in truth.search(q, 10)} & {i for i, _ in got}) / 10)
    assert np.mean(recalls) >= 0.95
    for i in list(live)[:50]:  # each live id finds itself, with its current vector
        assert index.search(live[i], 1)[0][0] == i
