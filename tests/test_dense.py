"""Dense retrieval end to end with the real packaged model: vectors are stored and
reused, the sidecar cache is rebuilt when stale, and embedders are never mixed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import codesift
from codesift.errors import EmbedderMismatchError


@pytest.fixture(scope="module")
def dense_repo(tmp_path_factory) -> Path:
    from conftest import SMALL_REPO, write_tree
    root = write_tree(tmp_path_factory.mktemp("dense") / "repo", SMALL_REPO)
    with codesift.open_index(root) as idx:
        summary = idx.update()
        assert summary.vectors_embedded == idx.status()["vectors"] > 0
    return root


def test_dense_retriever_contributes(dense_repo: Path):
    with codesift.open_index(dense_repo) as idx:
        hits = idx.search("wait longer after each failed attempt", k=5)
        assert any("dense" in h.sources for h in hits)
        assert hits[0].symbol.endswith("HttpClient.send")


def test_a_filter_that_admits_everything_changes_nothing(dense_repo: Path):
    # Unfiltered, BM25 reads FTS5 alone and the vectors are scanned whole; filtered, both
    # join the chunk rows. The rankings must not depend on the path.
    with codesift.open_index(dense_repo) as idx:
        every_language = tuple(idx.status()["languages"])
        for query in ("wait longer after each failed attempt", "parse_header", "session store"):
            plain = idx.search(query, k=10)
            filtered = idx.search(query, k=10, languages=every_language)
            assert any("dense" in h.sources for h in plain)
            assert [(h.path, h.start_line, h.sources) for h in plain] == \
                [(h.path, h.start_line, h.sources) for h in filtered]
            assert [h.score for h in plain] == pytest.approx([h.score for h in filtered])


def test_embedding_beside_the_sqlite_worker_ranks_as_one_thread_does(dense_repo: Path):
    # search._gather embeds the query on the calling thread while a worker thread runs the
    # SQLite retrievers on the same connection; without the worker, all of it runs in turn.
    queries = ("wait longer after each failed attempt", "parse_header", "session store")
    with codesift.open_index(dense_repo) as idx:
        python_only = {"languages": ("python",)}
        parallel = [idx.search(q, k=10, **f) for q in queries for f in ({}, python_only)]
        idx._worker = lambda: None
        in_turn = [idx.search(q, k=10, **f) for q in queries for f in ({}, python_only)]
    assert parallel == in_turn
    assert any("dense" in h.sources for hits in parallel for h in hits)
    assert all(h.language == "python" for hits in parallel[1::2] for h in hits)


def test_the_pool_continues_the_dense_ranking_by_similarity(dense_repo: Path):
    # rank_pool after a top-2 search, given every chunk as the pool, must be the ranking a
    # search deep enough for all of them gives.
    from codesift.model import Filters
    from codesift.retrieve.query import analyse
    query = analyse("wait longer after each failed attempt")
    with codesift.open_index(dense_repo) as idx:
        store = idx.store()
        dense = idx._dense_retriever(store)
        everything = dense.retrieve(query, Filters(), 10_000)
        top = dense.retrieve(query, Filters(), 2)
        pool = [cid for cid, _ in reversed(everything)] + [-1]  # order and unknown ids ignored
        assert len(everything) > 4
        continued = dense.rank_pool(query, top, pool)
        assert [cid for cid, _ in continued] == [cid for cid, _ in everything]
        assert [s for _, s in continued] == pytest.approx([s for _, s in everything], abs=1e-5)
        assert dense.rank_pool(query, top, []) == top


def test_a_candidate_beyond_the_dense_depth_still_gets_its_dense_share(dense_repo: Path):
    # With every list cut at 3, the chunks lexical search ranked get a dense share too
    # (ranked after the dense top 3), where before they got none.
    from codesift.model import Filters
    from codesift.retrieve.query import analyse
    from codesift.retrieve.search import SearchOptions, rank
    query = analyse("server handle request")
    with codesift.open_index(dense_repo) as idx:
        store = idx.store()
        rows = store.chunk_rows([cid for cid, _ in
                                 idx._dense_retriever(store).retrieve(query, Filters(), 3)])
        dense_top = {(r.path, r.start_line) for r in rows.values()}
        retrievers = idx._retrievers(store, idx._dense_retriever(store))
        hits = rank(store, retrievers, query, idx.settings, SearchOptions(k=10, depth=3))
    lexical = [h for h in hits if "lexical" in h.sources and not h.is_test]
    assert any((h.path, h.start_line) not in dense_top for h in lexical)
    assert all("dense" in h.sources for h in lexical)


def test_unchanged_chunks_are_not_re_embedded(dense_repo: Path, tmp_path: Path):
    repo = tmp_path / "copy"
    shutil.copytree(dense_repo, repo)
    with codesift.open_index(repo) as idx:
        assert idx.update().vectors_embedded == 0
        client = repo / "pkg/client.py"
        client.write_text(client.read_text() + "\n\ndef added():\n    return 'new'\n")
        summary = idx.update()
        assert summary.files_indexed == 1
        # Only the new function and the chunks whose text changed need vectors.
        assert 0 < summary.vectors_embedded <= 3
        assert idx.status()["chunks_without_vector"] == 0
        assert idx.search("added", k=1)[0].symbol.endswith("added")


def test_stale_sidecar_is_rebuilt(dense_repo: Path, tmp_path: Path):
    repo = tmp_path / "copy"
    shutil.copytree(dense_repo, repo)
    shutil.rmtree(repo / ".codesift" / "vectors", ignore_errors=True)
    with codesift.open_index(repo) as idx:
        assert any("dense" in h.sources for h in idx.search("backoff between attempts"))
    assert (repo / ".codesift" / "vectors").exists()


def test_stale_sidecar_is_patched_to_what_a_rebuild_gives(dense_repo: Path, tmp_path: Path,
                                                           monkeypatch):
    import numpy as np

    from codesift.store.sqlite import SQLiteStore

    from codesift.retrieve.dense_cache import load_or_build
    repo = tmp_path / "copy"
    shutil.copytree(dense_repo, repo)
    client = repo / "pkg/client.py"
    original = client.read_text()
    with codesift.open_index(repo) as idx:
        for step in range(3):
            # The same file re-indexed gets the highest chunk ids again: SQLite reuses the
            # ids of the rows just deleted for other texts, which the patch must notice.
            client.write_text(original.replace("def ", f"def v{step}_", 2)
                              + f"\n\ndef step_{step}():\n    return {step}\n")
            if step == 2:
                (repo / "pkg/extra.py").write_text("def brand_new():\n    return 'x'\n")
            with monkeypatch.context() as m:  # the update must patch, not re-read every vector
                m.setattr(SQLiteStore, "vector_matrix", None)
                idx.update()
            store = idx.store()
            dim = int(store.get_meta("embedder_dim"))
            patched = load_or_build(store, repo / ".codesift", store.state_key(), dim)
            ids, matrix, tags = store.vector_matrix(dim)
            order = np.argsort(ids)
            assert np.array_equal(patched.ids, ids[order])
            assert np.array_equal(patched.tags, tags[order])
            assert np.array_equal(np.asarray(patched.vectors), matrix[order])
        assert idx.search("step_2", k=1)[0].symbol.endswith("step_2")


def test_other_embedder_is_refused_then_rebuilt(dense_repo: Path, tmp_path: Path):
    repo = tmp_path / "copy"
    shutil.copytree(dense_repo, repo)
    model_dir = _packaged_model_dir()
    with codesift.open_index(repo) as idx:
        with pytest.raises(EmbedderMismatchError) as err:
            idx.update(embedder=f"local:{model_dir}/.")  # same weights, another identity
        assert "--rebuild" in err.value.hint
        before = idx.status()
        summary = idx.update(embedder=f"local:{model_dir}/.", rebuild=True)
        assert summary.vectors_embedded == idx.status()["vectors"] == before["vectors"]
        assert idx.status()["embedder"] != before["embedder"]


def test_no_dense_run_keeps_vectors(dense_repo: Path, tmp_path: Path):
    repo = tmp_path / "copy"
    shutil.copytree(dense_repo, repo)
    with codesift.open_index(repo, dense=False) as idx:
        (repo / "pkg/new.py").write_text("def fresh():\n    pass\n")
        idx.update()
        info = idx.status()
        assert info["vectors"] > 0 and info["chunks_without_vector"] > 0
    with codesift.open_index(repo) as idx:
        assert idx.update().vectors_embedded == info["chunks_without_vector"]


def _packaged_model_dir() -> str:
    from codesift.embed.local import resolve_model_dir
    return str(resolve_model_dir("all-MiniLM-L6-v2"))


def test_test_code_is_embedded_only_on_request(dense_repo: Path, tmp_path: Path):
    repo = tmp_path / "copy"
    shutil.copytree(dense_repo, repo)
    with codesift.open_index(repo) as idx:
        tests = idx.store().db.execute("SELECT COUNT(*) FROM chunks WHERE is_test = 1").fetchone()[0]
        assert tests > 0 and idx.status()["chunks_without_vector"] == 0
        assert not any("dense" in h.sources for h in idx.search("test parse header", k=10)
                       if h.is_test)
    with codesift.open_index(repo, embed_tests=True) as idx:
        assert idx.update().vectors_embedded == tests
        assert idx.status()["tests_embedded"]


def test_search_with_evidence_reports_what_the_search_itself_found(dense_repo: Path):
    """The evidence a search over several repositories weighs an index by comes from the same
    search: its best cosine is its dense retriever's first hit, under the same filters."""
    from codesift.model import Filters
    from codesift.retrieve.query import analyse

    with codesift.open_index(dense_repo) as idx:
        hits, evidence = idx.search_with_evidence("send a request with retries", k=5)
        plain = idx.search("send a request with retries", k=5)
        assert [(h.path, h.start_line) for h in hits] == [(h.path, h.start_line) for h in plain]
        store = idx.store()
        top = idx._dense_retriever(store).retrieve(analyse("send a request with retries"),
                                                   Filters(), 1)
        assert evidence.best_cosine == pytest.approx(top[0][1])
        assert evidence.chunks == idx.status()["chunks"]
        assert set(evidence.doc_freqs) == {"send", "request", "retries"}
        assert evidence.doc_freqs["retries"] > 0
        assert evidence.embedder == store.get_meta("embedder_id")
        _, only_docs = idx.search_with_evidence("send a request with retries", k=5,
                                                languages=("markdown",))
        assert only_docs.best_cosine is None or only_docs.best_cosine <= evidence.best_cosine
