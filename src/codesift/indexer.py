"""Incremental indexing: discover -> hash diff -> parse -> chunk -> store -> embed.

Each batch of files is written in one transaction and vectors are committed per batch,
so a run killed at any point leaves the last committed state usable; the next run
sees the remaining hash differences and missing vectors and finishes the work.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import EmbedderMismatchError
from .graph.build import GraphSummary, update_graph
from .ingest.chunk import CHUNKER_VERSION, chunk_file
from .ingest.discover import discover, read_text
from .ingest.kinds import HEAD_BYTES, classify, rules_id
from .ingest.languages import DEEP_LANGUAGES, PROSE_LANGUAGES, is_test_path
from .ingest.parse import PARSER_VERSION, parse_source
from .ingest.secrets import REDACTOR_VERSION, redact
from .model import ParsedFile, SkippedFile, SourceFile
from .store.sqlite import FileRecord, SQLiteStore
from .store.sqlite_graph import GraphTables

Progress = Callable[[str, int, int], None]  # (stage, done, total)
FILE_BATCH = 64
VECTOR_BATCH = 256
EMBED_WINDOW = 8192  # chunk texts read (and sorted by length) at a time while embedding
INDEX_FORMAT_VERSION = "1"


@dataclass(frozen=True, slots=True)
class IndexSummary:
    files_seen: int
    files_indexed: int
    files_unchanged: int
    files_deleted: int
    chunks_written: int
    vectors_embedded: int
    seconds: float
    languages: dict[str, int] = field(default_factory=dict)
    skipped: tuple[SkippedFile, ...] = ()
    parse_failures: tuple[tuple[str, str], ...] = ()
    encoding_warnings: tuple[tuple[str, str], ...] = ()
    graph: GraphSummary | None = None

    def to_dict(self) -> dict:
        return {
            "files_seen": self.files_seen, "files_indexed": self.files_indexed,
            "files_unchanged": self.files_unchanged, "files_deleted": self.files_deleted,
            "chunks_written": self.chunks_written, "vectors_embedded": self.vectors_embedded,
            "seconds": round(self.seconds, 3), "languages": self.languages,
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
            "parse_failures": [{"path": p, "reason": r} for p, r in self.parse_failures],
            "encoding_warnings": [{"path": p, "warning": w} for p, w in self.encoding_warnings],
            "graph": None if self.graph is None else {
                "files_resolved": self.graph.files_resolved, "edges": self.graph.edges,
                "unresolved": self.graph.unresolved, "seconds": round(self.graph.seconds, 3),
                "full": self.graph.full},
        }


@dataclass(frozen=True, slots=True)
class _Prepared:
    record: FileRecord
    text: str
    parsed: ParsedFile | None
    chunks: tuple
    findings: tuple = ()  # secrets redacted from `text` (ingest/secrets.py)


def file_sha(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def prepare_file(source: SourceFile, redact_secrets: bool = True) -> _Prepared:
    """Read, redact, parse and chunk one file; never raises for bad content."""
    text, warning = read_text(source.abspath)
    sha = file_sha(text.encode("utf-8", "surrogatepass"))  # of the file: what the diff compares
    found = redact(text, source.path) if redact_secrets else None
    text = found.text if found else text
    is_test = is_test_path(source.path, source.language)
    parsed = None
    if source.language in DEEP_LANGUAGES:
        parsed = parse_source(source.path, text, source.language)
    chunks = chunk_file(source, text, parsed, is_test=is_test)
    head = text[:HEAD_BYTES].encode("utf-8", "surrogatepass")[:HEAD_BYTES]
    record = FileRecord(
        path=source.path, language=source.language,
        sha=sha, size=source.size,
        n_lines=text.count("\n") + 1, is_test=is_test,
        parse_error=parsed.error if parsed is not None else None, warning=warning,
        mtime_ns=source.mtime_ns, kind=classify(source.path, source.language, head))
    return _Prepared(record, text, parsed if parsed and not parsed.error else None, tuple(chunks),
                     found.findings if found else ())


def changed_files(files: Sequence[SourceFile],
                  known: dict[str, tuple[str, int, int]]) -> list[SourceFile]:
    """Files whose content hash differs from the stored one (or that are new). A file whose
    size and modification time are unchanged is not read again (git's rule)."""
    out = []
    for source in files:
        state = known.get(source.path)
        if state is None:
            out.append(source)
            continue
        old, size, mtime_ns = state
        if source.mtime_ns and (size, mtime_ns) == (source.size, source.mtime_ns):
            continue
        try:
            text, _ = read_text(source.abspath)
        except OSError:
            out.append(source)
            continue
        if file_sha(text.encode("utf-8", "surrogatepass")) != old:
            out.append(source)
    return out


def check_embedder(store: SQLiteStore, embedder_id: str) -> None:
    """Refuse to mix vectors of two models (a rebuild starts a fresh database instead)."""
    stored = store.get_meta("embedder_id") or ""
    if stored and embedder_id and stored != embedder_id:
        raise EmbedderMismatchError(
            f"this index was embedded with {stored!r}, not {embedder_id!r}",
            hint="re-run with --rebuild to re-embed everything with the new model, "
                 "or pass --embedder to use the original one")
    if stored != embedder_id:  # a lexical-only index becomes dense
        with store.transaction():
            store.set_meta("embedder_id", embedder_id)


def needs_rebuild(store: SQLiteStore) -> bool:
    """An index written by another chunker would mix chunk formats: rebuild it whole."""
    version = store.get_meta("chunker_version")
    return version is not None and version != CHUNKER_VERSION


def write_batches(store: SQLiteStore, todo: Sequence[SourceFile], progress: Progress | None,
                  redact_secrets: bool = True
                  ) -> tuple[int, list[tuple[str, str]], list[tuple[str, str]]]:
    chunks_written = 0
    failures: list[tuple[str, str]] = []
    warnings: list[tuple[str, str]] = []
    for start in range(0, len(todo), FILE_BATCH):
        prepared = [prepare_file(s) if redact_secrets else prepare_file(s, redact_secrets=False)
                    for s in todo[start:start + FILE_BATCH]]
        with store.transaction():
            for item in prepared:
                store.write_file(item.record, item.text, item.chunks, item.parsed, item.findings)
            _bump_generation(store)
        for item in prepared:
            chunks_written += len(item.chunks)
            if item.record.parse_error:
                failures.append((item.record.path, item.record.parse_error))
            if item.record.warning:
                warnings.append((item.record.path, item.record.warning))
        if progress:
            progress("parse", min(start + FILE_BATCH, len(todo)), len(todo))
    return chunks_written, failures, warnings


PROSE_EMBED_CHARS = 500  # ~128 tokens of English: the window MiniLM-class models train on


def dense_input(text: str, language: str) -> str:
    """What the dense model sees of a chunk. A prose section (Markdown, rst, text) is
    about what its heading and lead paragraph say, and prose is found by its words
    lexically anyway: its vector is made from that head, cut at a line end (on click's
    sdist, 134k document tokens become 115k: docs/benchmarks.md). Code keeps its whole
    embedding text."""
    if language not in PROSE_LANGUAGES or len(text) <= PROSE_EMBED_CHARS:
        return text
    cut = text.rfind("\n", 0, PROSE_EMBED_CHARS)
    return text[:cut if cut > PROSE_EMBED_CHARS // 2 else PROSE_EMBED_CHARS]


def embed_missing(store: SQLiteStore, embedder, progress: Progress | None,
                  embed_tests: bool = False) -> int:
    """Embed every chunk text that has no vector yet, committing per batch. Test code is
    embedded only on request: it is ranked below the code it tests and found by its
    names and words, and leaving it out takes a third or more off the embedding time."""
    if (store.get_meta("embed_tests") == "1") != embed_tests:
        with store.transaction():
            store.set_meta("embed_tests", "1" if embed_tests else "0")
    hashes = store.hashes_missing_vectors()
    done = 0
    # Texts are read a window at a time: memory stays bounded however big the repository
    # (only its hashes are listed whole). Each window is sorted by length so that similar
    # lengths batch together: less padding, much faster on CPU.
    for window in range(0, len(hashes), EMBED_WINDOW):
        part_texts = [(h, dense_input(text, language)) for h, text, language
                      in store.embedding_texts(hashes[window:window + EMBED_WINDOW])]
        part_texts.sort(key=lambda item: len(item[1]))
        for start in range(0, len(part_texts), VECTOR_BATCH):
            part = part_texts[start:start + VECTOR_BATCH]
            vectors = embedder.embed_documents([text for _, text in part])
            with store.transaction():
                store.put_vectors([h for h, _ in part], vectors)
                _bump_generation(store)
            done += len(part)
            if progress:
                progress("embed", done, len(hashes))
    return done


def delete_files(store: SQLiteStore, paths: Sequence[str]) -> None:
    """Forget files that are gone, in one transaction (their chunks, symbols and edges)."""
    if paths:
        with store.transaction():
            for path in paths:
                store.delete_file(path)
            _bump_generation(store)


def classify_stored(root: Path, store: SQLiteStore, skip: frozenset[str] = frozenset()) -> int:
    """Classify the indexed files again when the kind rules differ from those that classified
    them (an index older than file kinds, newer rules, enry-python installed or gone): from
    each path and the file's first bytes on disk, nothing re-parsed or re-embedded. `skip`:
    files just written, already classified by these rules. Returns how many kinds changed."""
    rules = rules_id()
    if store.get_meta("file_kinds") == rules:
        return 0
    changed: dict[str, str] = {}
    for path, (language, kind) in store.file_kinds().items():
        if path in skip:
            continue
        try:
            with open(root / path, "rb") as fh:
                head = fh.read(HEAD_BYTES)
        except OSError:
            head = None  # gone or unreadable: judged by its path (the walk will drop it)
        new = classify(path, language, head)
        if new != kind:
            changed[path] = new
    with store.transaction():
        store.set_file_kinds(changed)
        store.set_meta("file_kinds", rules)
        if changed:
            _bump_generation(store)
    return len(changed)


def _bump_generation(store: SQLiteStore) -> None:
    store.set_meta("generation", str(int(store.get_meta("generation") or 0) + 1))


def run_index(root: Path, store: SQLiteStore, *, embedder=None, embedder_spec: str = "",
              max_file_bytes: int = 1_000_000, embed_tests: bool = False,
              extra_ignores: tuple[str, ...] = (), progress: Progress | None = None,
              redact_secrets: bool = True) -> IndexSummary:
    """Bring the index at `store` up to date with the tree at `root`."""
    started = time.perf_counter()
    if embedder is not None:
        # Without an embedder (--no-dense) existing vectors are kept, new chunks wait.
        check_embedder(store, embedder.id)
    redaction = REDACTOR_VERSION if redact_secrets else "off"
    if store.get_meta("chunker_version") is None:
        # A new index is written this way from its first batch: a killed first run resumes
        # where it stopped instead of re-parsing everything.
        with store.transaction():
            store.set_meta("chunker_version", CHUNKER_VERSION)
            store.set_meta("index_format", INDEX_FORMAT_VERSION)
            store.set_meta("parser_version", PARSER_VERSION)
            store.set_meta("redaction", redaction)
            store.set_meta("file_kinds", rules_id())
    redacted_before = store.get_meta("redaction")
    # Stored text redacted otherwise (or not at all: an index older than redaction) is redone.
    reparse = store.get_meta("parser_version") != PARSER_VERSION or redacted_before != redaction
    found = discover(root, max_file_bytes=max_file_bytes, extra_ignores=extra_ignores,
                     known=None if reparse else store.file_classes())
    known = store.file_states()
    present = {f.path for f in found.files}
    deleted = sorted(set(known) - present)
    # A newer parser records more: every file is parsed again (vectors are kept).
    todo = list(found.files) if reparse else changed_files(found.files, known)
    changed = [s.path for s in todo]
    before = GraphTables(store.db).definitions_in([*changed, *deleted])
    delete_files(store, deleted)
    chunks_written, failures, warnings = write_batches(store, todo, progress, redact_secrets)
    if reparse:
        if redact_secrets and known and redacted_before != redaction:
            store.scrub()  # the rows replaced held secrets: leave none in free pages
        with store.transaction():
            store.set_meta("parser_version", PARSER_VERSION)
            store.set_meta("redaction", redaction)
    classify_stored(root, store, frozenset(changed))
    graph = update_graph(store, changed, deleted, before, progress)
    embedded = 0
    if embedder is not None:
        embedded = embed_missing(store, embedder, progress, embed_tests)
        with store.transaction():
            store.set_meta("embedder_spec", embedder_spec)
            store.set_meta("embedder_dim", str(embedder.dim))
    with store.transaction():
        if store.drop_orphan_vectors():
            _bump_generation(store)
    languages: dict[str, int] = {}
    for source in found.files:
        languages[source.language] = languages.get(source.language, 0) + 1
    return IndexSummary(
        files_seen=len(found.files), files_indexed=len(todo),
        files_unchanged=len(found.files) - len(todo), files_deleted=len(deleted),
        chunks_written=chunks_written, vectors_embedded=embedded,
        seconds=time.perf_counter() - started, languages=languages,
        skipped=found.skipped, parse_failures=tuple(failures),
        encoding_warnings=tuple(warnings), graph=graph)
