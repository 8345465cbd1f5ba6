"""Re-index only the paths a file watcher names: each is judged as the full walk would judge
it, then written, resolved and embedded like any other run, without walking the tree.

`index_paths` returns None when only a full run can be trusted (a new directory, an ignore
file edited, an index a newer parser must redo): the caller then runs `run_index`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from .graph.build import update_graph
from .indexer import (IndexSummary, Progress, _bump_generation, changed_files, check_embedder,
                      classify_stored, delete_files, embed_missing, write_batches)
from .ingest.discover import ALWAYS_SKIP_DIRS, classify_path
from .ingest.parse import PARSER_VERSION
from .ingest.secrets import REDACTOR_VERSION
from .model import SkippedFile, SourceFile
from .store.sqlite import SQLiteStore
from .store.sqlite_graph import GraphTables

# Editing one of these changes what the walk keeps everywhere below it.
RULE_FILES = frozenset({".gitignore", ".codesiftignore"})
# Past this many paths a walk costs less than judging each one on its own.
MAX_PATHS = 2_000


def needs_walk(root: Path, paths: Iterable[str]) -> bool:
    """True when these changes can alter what the walk keeps beyond the paths themselves."""
    for rel in paths:
        full = os.path.join(root, rel)
        if rel.rsplit("/", 1)[-1] in RULE_FILES or rel == "codesift.toml":
            return True
        if os.path.isdir(full) and not os.path.islink(full):
            return True  # a directory created or moved in: its files were never announced
    return False


def index_paths(root: Path, store: SQLiteStore, paths: Sequence[str], *, embedder=None,
                embedder_spec: str = "", max_file_bytes: int = 1_000_000,
                embed_tests: bool = False, extra_ignores: tuple[str, ...] = (),
                progress: Progress | None = None,
                redact_secrets: bool = True) -> IndexSummary | None:
    """Bring the index up to date for `paths` (repo-relative, posix) alone."""
    started = time.perf_counter()
    paths = sorted({p.strip("/") for p in paths if p.strip("/")})
    redaction = REDACTOR_VERSION if redact_secrets else "off"
    if len(paths) > MAX_PATHS or needs_walk(root, paths) \
            or store.get_meta("chunker_version") is None \
            or store.get_meta("parser_version") != PARSER_VERSION \
            or store.get_meta("redaction") != redaction:  # every file's text is redone
        return None
    if embedder is not None:
        check_embedder(store, embedder.id)
    known = store.file_states()
    sources, skipped, deleted = _judge(root, paths, known, max_file_bytes, extra_ignores)
    todo = changed_files(sources, known)
    changed = [s.path for s in todo]
    before = GraphTables(store.db).definitions_in([*changed, *deleted])
    old_texts = _text_hashes(store, [*changed, *deleted])
    delete_files(store, deleted)
    chunks_written, failures, warnings = write_batches(store, todo, progress, redact_secrets)
    classify_stored(root, store, frozenset(changed))  # once, after an upgrade: no walk needed
    graph = update_graph(store, changed, deleted, before, progress)
    embedded = 0
    if embedder is not None:
        embedded = embed_missing(store, embedder, progress, embed_tests)
        if store.get_meta("embedder_spec") != embedder_spec:
            with store.transaction():
                store.set_meta("embedder_spec", embedder_spec)
                store.set_meta("embedder_dim", str(embedder.dim))
    if old_texts:
        with store.transaction():
            if _drop_orphans(store, old_texts):
                _bump_generation(store)
    languages: dict[str, int] = {}
    for source in sources:
        languages[source.language] = languages.get(source.language, 0) + 1
    return IndexSummary(
        files_seen=len(sources), files_indexed=len(todo),
        files_unchanged=len(sources) - len(todo), files_deleted=len(deleted),
        chunks_written=chunks_written, vectors_embedded=embedded,
        seconds=time.perf_counter() - started, languages=languages, skipped=tuple(skipped),
        parse_failures=tuple(failures), encoding_warnings=tuple(warnings), graph=graph)


def _text_hashes(store: SQLiteStore, paths: Sequence[str]) -> list[bytes]:
    """The chunk texts these files have now: the only vectors a re-index can orphan."""
    out: set[bytes] = set()
    for start in range(0, len(paths), 500):
        part = list(paths[start:start + 500])
        out.update(r[0] for r in store.db.execute(
            "SELECT c.text_hash FROM files f JOIN chunks c ON c.file_id = f.id"
            f" WHERE f.path IN ({','.join('?' * len(part))})", part))
    return sorted(out)


def _drop_orphans(store: SQLiteStore, hashes: Sequence[bytes]) -> int:
    """`drop_orphan_vectors` for these texts only: the full scan costs ~50 ms on the stdlib."""
    dropped = 0
    for start in range(0, len(hashes), 500):
        part = list(hashes[start:start + 500])
        dropped += store.db.execute(
            f"DELETE FROM vectors WHERE text_hash IN ({','.join('?' * len(part))})"
            " AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.text_hash = vectors.text_hash)",
            part).rowcount
    return dropped


def _judge(root: Path, paths: Sequence[str], known: dict, max_file_bytes: int,
           extra_ignores: tuple[str, ...]
           ) -> tuple[list[SourceFile], list[SkippedFile], list[str]]:
    """(files to index, files skipped, indexed paths to delete). A path that is gone or now
    skipped leaves the index, and so does every indexed file under a directory gone."""
    sources: list[SourceFile] = []
    skipped: list[SkippedFile] = []
    deleted: dict[str, None] = {}
    for rel in paths:
        if any(part in ALWAYS_SKIP_DIRS for part in rel.split("/")[:-1]):
            continue
        found = classify_path(root, rel, max_file_bytes=max_file_bytes,
                              extra_ignores=extra_ignores)
        if isinstance(found, SourceFile):
            sources.append(found)
            continue
        if found is not None:
            skipped.append(found)
        if rel in known:
            deleted[rel] = None
        elif found is None:  # perhaps a directory that was removed or moved away
            prefix = rel + "/"
            deleted.update((k, None) for k in known if k.startswith(prefix))
    return sources, skipped, list(deleted)
