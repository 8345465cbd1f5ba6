"""The library API: `open_index(path)` -> `Index` with `.update()`, `.search()`, `.status()`.

An Index holds settings and a store, nothing global; the CLI and servers are thin
adapters over it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .config import INDEX_DIRNAME, Settings, index_path, load_settings
from .errors import (CorruptIndexError, EmbedderError, IndexError_, NoIndexError, PathError,
                     UsageError)
from .model import Filters, Hit, RepoEvidence
from .retrieve.query import analyse
from .retrieve.retrievers import (DenseRetriever, FrameRetriever, IdentifierRetriever,
                                  LexicalRetriever, MessageRetriever, OpeningRetriever,
                                  SymbolRetriever)
from .retrieve.scope import ScopeRetriever
from .retrieve.search import SearchOptions, rank
from .store.sqlite import SQLiteStore

if TYPE_CHECKING:  # the indexer pulls in tree-sitter: imported only when indexing
    from concurrent.futures import Executor

    from .embed.shared import SharedQueryEmbedders
    from .graph.query import GraphQueries
    from .graph.repomap import RepoMap
    from .indexer import IndexSummary, Progress
    from .pack import Context

MAX_K = 1000
STALE_VECTORS_SECONDS = 10.0  # see Index._await_writer


def open_index(path: str | os.PathLike, *, settings: Settings | None = None,
               **overrides) -> Index:
    """Open (or prepare to create) the index of the repository at `path`.

    Keyword overrides are Settings fields (index_dir, dense, embedder, ...)."""
    root = Path(path).expanduser()
    if not root.exists():
        raise PathError(f"{root}: no such directory", hint="check the path you gave")
    if not root.is_dir():
        raise PathError(f"{root}: not a directory", hint="give the repository's root folder")
    if not os.access(root, os.R_OK | os.X_OK):
        raise PathError(f"{root}: permission denied", hint="check the folder's permissions")
    base = settings or load_settings(root.resolve())
    return Index(root.resolve(), base.with_overrides(**overrides))


class Index:
    """One repository's index: update it, search it, report on it."""

    def __init__(self, root: Path, settings: Settings) -> None:
        self.root = root
        self.settings = settings
        self._check_fusion()
        self.db_path = index_path(root, settings)
        self._store: SQLiteStore | None = None
        self._query_embedder = None
        self._vectors = None
        self._vectors_generation: str | None = None
        # A process that answers one query (the CLI) scans vectors exactly rather than
        # paying to load an ANN graph; long-lived users (servers, benchmarks) keep it.
        self.one_shot = False
        self._pool = None  # one worker thread: SQLite retrievers while a query is embedded
        self._doc_embedder = None  # (spec, embedder): a watcher's runs reuse its loaded model
        self._stale_since: float | None = None  # when the vectors in hand fell behind
        # (index state, scopes) -> the places they name: retrievers are made per search,
        # and matching a scope walks every indexed path (~2 us a path).
        self._scope_places: dict = {}
        # (stage, seconds) -> None, called as each retriever finishes: a server's metrics.
        self.stage_observer: Callable[[str, float], None] | None = None
        # Query models shared with the process's other indexes (embed/shared.py): set by a
        # server or a search over several repositories before the first search.
        self.shared_queries: SharedQueryEmbedders | None = None

    # -- lifecycle ---------------------------------------------------------------

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._store is not None:
            self._store.close()
            self._store = None

    @property
    def exists(self) -> bool:
        return self.db_path.exists()

    def store(self) -> SQLiteStore:
        if self._store is None:
            if not self.exists:
                raise NoIndexError(f"no index for {self.root} yet",
                                   hint=f"build one first: codesift index {self.root}")
            self._store = SQLiteStore(self.db_path)
        return self._store

    # -- indexing ----------------------------------------------------------------

    def update(self, progress: Progress | None = None, *, rebuild: bool = False,
               embedder: str | None = None, paths: Sequence[str] | None = None) -> IndexSummary:
        """Bring the index up to date: only changed files are re-parsed and re-embedded.
        `paths` (repo-relative, from a file watcher) skips the walk: only those are redone."""
        from .indexer import needs_rebuild
        self._prepare_index_dir()
        if self.exists:
            store = self.store()
            spec = embedder or store.get_meta("embedder_spec") or self.settings.embedder
            if rebuild or needs_rebuild(store):
                return self._rebuild(spec, progress)
        else:
            spec = embedder or self.settings.embedder
            self._store = SQLiteStore(self.db_path, create=True)
        return self._run(self._store, spec, progress, paths)

    def _run(self, store: SQLiteStore, spec: str, progress: Progress | None,
             paths: Sequence[str] | None = None) -> IndexSummary:
        from .indexer import run_index
        from .reindex import index_paths
        emb = self._document_embedder(spec) if self.settings.dense else None
        self._vectors = None
        options = dict(embedder=emb, embedder_spec=spec, progress=progress,
                       max_file_bytes=self.settings.max_file_bytes,
                       embed_tests=self.settings.embed_tests,
                       extra_ignores=self.settings.extra_ignores,
                       redact_secrets=self.settings.redact_secrets)
        summary = index_paths(self.root, store, paths, **options) if paths is not None else None
        if summary is None:
            summary = run_index(self.root, store, **options)
        if emb is not None:  # searches should never pay for building the vector cache
            self._load_vectors(store)
            _prepare_queries(emb)
        return summary

    def _rebuild(self, spec: str, progress: Progress | None) -> IndexSummary:
        """Build a fresh database beside the old one and swap it in only when complete:
        an interrupted rebuild leaves the previous index untouched."""
        tmp = self.db_path.with_name(self.db_path.name + ".rebuild")
        for leftover in _sqlite_files(tmp):
            leftover.unlink(missing_ok=True)
        fresh = SQLiteStore(tmp, create=True)
        try:
            summary = self._run(fresh, spec, progress)
            fresh.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            fresh.close()
        self.close()
        os.replace(tmp, self.db_path)
        for stale in _sqlite_files(self.db_path)[1:] + _sqlite_files(tmp)[1:]:
            stale.unlink(missing_ok=True)
        return summary

    def _prepare_index_dir(self) -> None:
        folder = self.db_path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PathError(f"cannot create index folder {folder}: {exc.strerror}",
                            hint="pass --index-dir to put the index somewhere writable") from exc
        ignore = folder / ".gitignore"
        if folder.name == INDEX_DIRNAME and not ignore.exists():
            # Never leave index files where git would pick them up.
            ignore.write_text("# created by codesift\n*\n", encoding="utf-8")

    def _check_fusion(self) -> None:
        from .retrieve.fuse import FUSERS
        if self.settings.fusion not in FUSERS:
            raise UsageError(f"unknown fusion {self.settings.fusion!r}",
                             hint=f"use one of: {', '.join(FUSERS)}")

    def _document_embedder(self, spec: str):
        if self._doc_embedder is None or self._doc_embedder[0] != spec:
            self._doc_embedder = (spec, self._make_embedder(spec))
        return self._doc_embedder[1]

    def _make_embedder(self, spec: str, *, for_queries: bool = False):
        from .embed import make_embedder
        from .embed.base import split_spec
        opts: dict = {"batch_size": self.settings.embed_batch_size}
        if split_spec(spec)[0] in ("local", "local-int8"):
            # One thread answers a query fastest; indexing gets every core.
            threads = self.settings.embed_threads or os.cpu_count() or 1
            opts.update(threads=1 if for_queries else threads,
                        max_tokens=self.settings.embed_max_tokens,
                        query_max_tokens=self.settings.query_max_tokens,
                        query_precision=self.settings.query_precision)
        elif self.settings.embed_base_url:
            opts["base_url"] = self.settings.embed_base_url
        return make_embedder(spec, **opts)

    # -- searching ---------------------------------------------------------------

    def search(self, query: str, k: int = 10, *, languages: tuple[str, ...] = (),
               path: str | None = None, kinds: tuple[str, ...] = (),
               exclude_tests: bool = False, files: bool = False) -> list[Hit]:
        """Hybrid search; returns at most `k` hits, best first."""
        return self._search(query, k, Filters(tuple(languages), path, tuple(kinds),
                                              exclude_tests), files, evidence=False)[0]

    def search_with_evidence(self, query: str, k: int = 10, *, languages: tuple[str, ...] = (),
                             path: str | None = None, kinds: tuple[str, ...] = (),
                             exclude_tests: bool = False, files: bool = False
                             ) -> tuple[list[Hit], RepoEvidence]:
        """search(), and how much this index has to say about the query, comparable with
        other indexes': its chunk count, each query term's chunk count, and the query's best
        cosine with its vectors under the filters (None without vectors). A search over
        several repositories weighs them by it (retrieve/federate.py). The one analysis,
        read snapshot and vector scan of the search serve both."""
        hits, evidence = self._search(query, k, Filters(tuple(languages), path, tuple(kinds),
                                                        exclude_tests), files, evidence=True)
        assert evidence is not None
        return hits, evidence

    def _search(self, query: str, k: int, filters: Filters, files: bool, *,
                evidence: bool) -> tuple[list[Hit], RepoEvidence | None]:
        if not isinstance(k, int) or k <= 0:
            raise UsageError(f"k must be a positive integer, got {k!r}", hint="use -k 10")
        if k > MAX_K:
            raise UsageError(f"k={k} is more than the {MAX_K} allowed", hint="ask for fewer hits")
        q = analyse(query, max_chars=self.settings.max_query_chars)
        options = SearchOptions(k=k, filters=filters, files=files, depth=max(100, k * 3))
        store = self.store()
        # One read snapshot: a file re-indexed meanwhile is seen wholly old or wholly new.
        with store.snapshot():
            dense = self._dense_retriever(store)
            hits = rank(store, self._retrievers(store, dense), q, self.settings, options,
                        pool=self._worker())
            if not evidence:
                return hits, None
            return hits, RepoEvidence(store.chunk_count(),
                                      store.doc_freqs(tuple(dict.fromkeys(q.terms))),
                                      dense.best if dense is not None else None,
                                      store.get_meta("embedder_id") or "")

    def _worker(self) -> Executor:
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="codesift-sql")
        return self._pool

    def _retrievers(self, store: SQLiteStore, dense: DenseRetriever | None) -> list:
        retrievers = [LexicalRetriever(store), OpeningRetriever(store),
                      IdentifierRetriever(store), SymbolRetriever(store),
                      FrameRetriever(store), MessageRetriever(store),
                      ScopeRetriever(store, self._scope_places),
                      *([dense] if dense is not None else [])]
        if self.stage_observer is not None:
            from .retrieve.timed import TimedRetriever
            retrievers = [TimedRetriever(r, self.stage_observer) for r in retrievers]
        return retrievers

    def _dense_retriever(self, store: SQLiteStore) -> DenseRetriever | None:
        spec = store.get_meta("embedder_spec")
        if not self.settings.dense or not spec or not store.get_meta("embedder_id"):
            return None
        self._load_vectors(store)
        # Made again when the settings it was made from change (an evaluation's variants).
        key = (spec, self.settings.query_precision, self.settings.query_max_tokens)
        if self._query_embedder is None or self._query_embedder[0] != key:
            self._query_embedder = (key, self._query_embedding(key, store))
        return DenseRetriever(store, self._query_embedder[1], self._vectors)

    def _query_embedding(self, key: tuple, store: SQLiteStore) -> Callable[[str], object]:
        """The function that embeds this index's queries: its own model, or the model the
        process shares (`shared_queries`) among the indexes embedded alike."""
        spec = key[0]

        def make():
            return self._make_embedder(spec, for_queries=True)
        shared = self.shared_queries
        embedder = make() if shared is None else shared.model(key, make)
        stored = store.get_meta("embedder_id")
        if embedder.id != stored:
            # The folder the index names holds another encoder now (tuned again):
            # its query vectors would be compared with the old model's documents.
            raise EmbedderError(f"this index was embedded with {stored!r}, but "
                                f"{spec!r} is now {embedder.id!r}",
                                hint="rebuild the index: codesift index --rebuild")
        return embedder.embed_query if shared is None else shared.embedding(key)

    def _load_vectors(self, store: SQLiteStore) -> None:
        from .retrieve.dense_cache import load_or_build
        generation = store.state_key()
        if self._vectors is not None and self._vectors_generation != generation \
                and not self.one_shot and self._await_writer(store, generation):
            return
        if self._vectors is None or self._vectors_generation != generation:
            self._stale_since = None
            dim = int(store.get_meta("embedder_dim") or 0)
            self._vectors = load_or_build(store, store.path.parent, generation, dim,
                                          with_graph=not self.one_shot)
            self._vectors_generation = generation

    def _await_writer(self, store: SQLiteStore, generation: str) -> bool:
        """True to keep the vectors in hand for now. While another connection updates the
        index (a watcher), a long-lived searcher takes the writer's sidecar once it is saved
        and meanwhile keeps its vectors (new chunks are found lexically) for at most
        STALE_VECTORS_SECONDS, instead of patching its own for every intermediate
        generation: ~150 ms per search on the stdlib (bench/bench_load.py)."""
        from .retrieve.dense_cache import SIDECAR_DIRNAME
        from .vectors import VectorIndex
        fresh = VectorIndex.load(store.path.parent / SIDECAR_DIRNAME, generation)
        if fresh is not None:
            self._vectors, self._vectors_generation, self._stale_since = fresh, generation, None
            return True
        if self._stale_since is None:
            self._stale_since = time.monotonic()
        return time.monotonic() - self._stale_since < STALE_VECTORS_SECONDS

    # -- the code graph ----------------------------------------------------------

    def graph(self) -> GraphQueries:
        """Callers, callees, call paths, references, definitions and subclasses."""
        from .graph.build import GRAPH_VERSION
        from .graph.query import GraphQueries
        store = self.store()
        if store.get_meta("graph_version") != GRAPH_VERSION:
            raise IndexError_(f"the code graph of {self.root} is missing or out of date",
                              hint=f"run codesift index {self.root} to (re)build it")
        return GraphQueries(store.db)

    def repo_map(self, budget: int = 1024, *, focus: Sequence[str] = (),
                 query: str | None = None) -> RepoMap:
        """The most important definitions as a file tree of signatures that fits `budget`
        tokens, personalised toward `focus` paths / symbols and the names in `query`."""
        from .graph.focus import repo_relative
        from .graph.repomap import build_repo_map, check_budget
        from .store.sqlite_map import read_code_graph
        check_budget(budget)
        self.graph()  # a missing or outdated graph: the hint to rebuild it
        focus = [repo_relative(self.root, item) for item in focus]
        return build_repo_map(read_code_graph(self.store().db), budget, focus=focus,
                              query=query, max_query_chars=self.settings.max_query_chars)

    def context(self, question: str, budget: int | None = None, *, k: int = 20,
                languages: tuple[str, ...] = (), path: str | None = None,
                kinds: tuple[str, ...] = (), exclude_tests: bool = False,
                callees: bool = True) -> Context:
        """The most useful lines of the best `k` hits for `question`, within `budget` tokens
        (default Settings.context_budget) under Settings.tokenizer, with citations (pack/)."""
        from .pack import check_budget, pack
        from .tokenizer import make_tokenizer
        budget = self.settings.context_budget if budget is None else budget
        check_budget(budget)
        tokenizer = make_tokenizer(self.settings.tokenizer, self.settings.llm_model)
        store = self.store()
        with store.snapshot():  # the hits and the lines packed from them: one index state
            hits = self.search(question, k, languages=languages, path=path, kinds=kinds,
                               exclude_tests=exclude_tests)
            graph = self._current_graph() if callees else None
            return pack(hits, budget, store=store, tokenizer=tokenizer, question=question,
                        root=self.root, graph=graph)

    def _current_graph(self) -> GraphQueries | None:
        try:
            return self.graph()
        except IndexError_:  # no graph (yet): the context goes without callees
            return None

    # -- reporting ---------------------------------------------------------------

    def status(self) -> dict:
        store = self.store()
        meta = store.all_meta()
        return {"repo": str(self.root), "index": str(self.db_path),
                "size_bytes": sum(p.stat().st_size for p in _sqlite_files(self.db_path)
                                  if p.exists()),
                "embedder": meta.get("embedder_id") or None,
                "chunker_version": meta.get("chunker_version"),
                "generation": int(meta.get("generation", 0)), **store.stats(),
                "graph": self._graph_status(store, meta)}

    @staticmethod
    def _graph_status(store: SQLiteStore, meta: dict) -> dict:
        from .graph.build import GRAPH_VERSION
        from .store.sqlite_graph import GraphTables
        return {"current": meta.get("graph_version") == GRAPH_VERSION,
                "edges": GraphTables(store.db).counts()}

    def check(self) -> list[str]:
        """Integrity problems of the index database ([] when sound)."""
        try:
            return self.store().check_integrity()
        except CorruptIndexError as exc:
            return [str(exc)]


def _sqlite_files(db: Path) -> list[Path]:
    return [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]


def _prepare_queries(embedder) -> None:
    """Let the embedder make its query model now (the local one exports and quantizes it
    once per model). Best effort: a failure here is met, and reported, by the first search."""
    prepare = getattr(embedder, "prepare_queries", None)
    if prepare is not None:
        try:
            prepare()
        except Exception:  # noqa: BLE001 - the index itself is complete and committed
            pass
