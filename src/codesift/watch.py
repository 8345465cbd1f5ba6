"""Live re-indexing: watch a repository and re-index the files that change as they change,
debounced, on a connection of its own so searches elsewhere see old or new, never a mix.
"""

# Why these defaults: an editor's save is a burst of events a few ms apart (write a temp
# file, rename it over the original), so 50 ms of quiet ends a burst without adding much
# to the edit -> searchable latency; under a steady stream (a checkout, a formatter over the
# tree) changes are grouped for at most 1 s, so one long run replaces hundreds of small ones.

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from .api import Index, open_index
from .config import Settings
from .errors import CodesiftError, UsageError

STEP_MS = 50  # quiet time that ends a burst of changes
DEBOUNCE_MS = 1000  # longest a steady stream of changes is grouped
WAKE_MS = 250  # the watch loop wakes this often to notice a stop request or a retry
RETRY_SECONDS = 2.0  # a failed re-index is tried again after this, or with the next change
MAX_RETRY_SECONDS = 60.0  # ... and after twice as long each time it fails again, up to this
log = logging.getLogger("codesift.watch")


@dataclass(frozen=True, slots=True)
class Reindex:
    """One re-index the watcher ran, as reported to its listeners."""

    paths: tuple[str, ...]  # repo-relative paths the changes named (() for the first, full run)
    files_indexed: int
    files_deleted: int
    chunks_written: int
    vectors_embedded: int
    seconds: float  # the update itself
    lag: float  # from the earliest change (its file's mtime, else its event) to searchable
    full: bool  # a walk of the whole tree (start-up, a directory or an ignore file changed)
    error: str | None = None  # what went wrong; the watcher carries on
    error_type: str | None = None

    def to_dict(self) -> dict:
        out = asdict(self)
        out.update(paths=list(self.paths), seconds=round(self.seconds, 4), lag=round(self.lag, 4))
        return out


Listener = Callable[[Reindex], None]


class ChangeFilter:
    """watchfiles' filter: a path under the repository, outside the index folder, and not in
    a directory discovery always skips (.git, node_modules, caches). The ignore files and
    the rest of discovery's rules are applied when the batch is indexed (reindex.py)."""

    def __init__(self, root: Path, index_dir: Path) -> None:
        # Imported here: discovery pulls in pathspec (~25 ms), which every CLI command would
        # pay through cli/watch.py's import of this module.
        from .ingest.discover import ALWAYS_SKIP_DIRS
        self.skip_dirs = frozenset(ALWAYS_SKIP_DIRS)
        self.prefix = str(root).rstrip(os.sep) + os.sep
        index_dir = str(index_dir).rstrip(os.sep)
        self.index_prefix = index_dir + os.sep
        self.index_dir = index_dir

    def relative(self, path: str) -> str | None:
        if not path.startswith(self.prefix) or path == self.index_dir \
                or path.startswith(self.index_prefix):
            return None
        rel = path[len(self.prefix):].replace(os.sep, "/")
        if not rel or any(part in self.skip_dirs for part in rel.split("/")):
            return None
        return rel

    def __call__(self, change, path: str) -> bool:
        return self.relative(path) is not None


class Watcher:
    """Watches `root` and keeps its index current. `run()` blocks until stopped (the CLI);
    `start()` runs it on a daemon thread (a server). Listeners get a `Reindex` per run."""

    def __init__(self, root: str | os.PathLike, *, settings: Settings | None = None,
                 step_ms: int = STEP_MS, debounce_ms: int = DEBOUNCE_MS,
                 listeners: Sequence[Listener] = (), **overrides) -> None:
        if step_ms <= 0 or debounce_ms < step_ms:
            raise UsageError(f"bad watch timing: step {step_ms} ms, debounce {debounce_ms} ms",
                             hint="use a positive step no longer than the debounce")
        self.index: Index = open_index(root, settings=settings, **overrides)
        self.root = self.index.root
        self.filter = ChangeFilter(self.root, self.index.db_path.parent)
        self.step_ms, self.debounce_ms = step_ms, debounce_ms
        self.listeners = list(listeners)
        self.stop_event = threading.Event()
        self.ready = threading.Event()  # set once changes are being watched
        self.error: BaseException | None = None  # what ended a background run
        self._thread: threading.Thread | None = None
        self._last_batch = time.time()  # no change in a batch is older than the batch before
        self._retry: tuple[list[str] | None, float] | None = None  # (paths, when) that failed
        self._retry_delay = RETRY_SECONDS / 2  # doubles while runs keep failing

    # -- running ----------------------------------------------------------------

    def run(self) -> None:
        """Bring the index up to date, then re-index every change until `stop()`."""
        import watchfiles
        try:
            changes = watchfiles.watch(
                self.root, watch_filter=self.filter, debounce=self.debounce_ms,
                step=self.step_ms, stop_event=self.stop_event, rust_timeout=WAKE_MS,
                yield_on_timeout=True, raise_interrupt=True)
            for batch in changes:
                # The first yield means the OS watch is in place: catching up now misses
                # nothing written before it.
                if not self.ready.is_set():
                    # A problem here (a corrupt index, another embedder) would fail every
                    # run after it too: it ends the watch with its message and hint.
                    self.reindex(None, time.time(), strict=True)
                    self.ready.set()
                else:
                    self._handle(batch)
        finally:
            self.ready.set()
            self.index.close()

    def start(self) -> Watcher:
        """Run on a daemon thread; `ready` is set once changes are being watched."""
        if self._thread is not None:
            raise UsageError("this watcher is already running")
        self._thread = threading.Thread(target=self._run_logged, name="codesift-watch",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = 10.0) -> None:
        self.stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run_logged(self) -> None:
        try:
            self.run()
        except BaseException as exc:  # a thread's death must be visible to its owner
            self.error = exc
            log.exception("watcher stopped", extra={"repo": str(self.root)})

    # -- one batch --------------------------------------------------------------

    def _handle(self, batch: Iterable[tuple[object, str]]) -> None:
        """Re-index a batch, with what failed last time once it is due again."""
        paths: list[str] | None = self._paths(batch)
        retry, self._retry = self._retry, None
        if retry is not None:
            if not paths and time.monotonic() < retry[1]:
                self._retry = retry
                return
            paths = None if retry[0] is None else sorted({*paths, *retry[0]})
        if paths is None or paths:
            self._run_batch(paths)

    def _run_batch(self, paths: list[str] | None) -> None:
        first_change = self._first_change(paths or ())
        self._last_batch = time.time()
        event = self.reindex(paths, first_change)
        if event.error:  # a locked database, a full disk: try these paths again later
            self._retry_delay = min(2 * self._retry_delay, MAX_RETRY_SECONDS)
            self._retry = (paths, time.monotonic() + self._retry_delay)
        else:
            self._retry_delay = RETRY_SECONDS / 2

    def reindex(self, paths: Sequence[str] | None, first_change: float, *,
                strict: bool = False) -> Reindex:
        """Update the index for `paths` (None: the whole tree) and tell the listeners.
        A failure is reported to them and logged; `strict` raises a CodesiftError instead."""
        started = time.perf_counter()
        try:
            summary = self.index.update(paths=paths)
        except CodesiftError as exc:
            if strict:
                raise
            event = self._failed(paths, started, first_change, exc, str(exc))
        except Exception as exc:  # noqa: BLE001 - e.g. a locked database: retried next change
            log.debug("re-index failed", exc_info=True, extra={"repo": str(self.root)})
            event = self._failed(paths, started, first_change, exc, f"{type(exc).__name__}: {exc}")
        else:
            event = Reindex(
                paths=tuple(paths or ()), files_indexed=summary.files_indexed,
                files_deleted=summary.files_deleted, chunks_written=summary.chunks_written,
                vectors_embedded=summary.vectors_embedded,
                seconds=time.perf_counter() - started,
                lag=max(0.0, time.time() - first_change),
                full=paths is None or summary.files_seen > len(paths))
        log.info("re-indexed", extra={"repo": str(self.root), **event.to_dict()})
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - one bad listener must not stop the watch
                log.exception("re-index listener failed")
        return event

    def _failed(self, paths, started: float, first_change: float, exc: BaseException,
                message: str) -> Reindex:
        return Reindex(tuple(paths or ()), 0, 0, 0, 0, time.perf_counter() - started,
                       max(0.0, time.time() - first_change), paths is None,
                       error=message, error_type=type(exc).__name__)

    def _paths(self, batch: Iterable[tuple[object, str]]) -> list[str]:
        """Repo-relative paths worth a look. A directory reported as modified (its
        metadata) says nothing; added or deleted, reindex.py walks or clears it."""
        import watchfiles
        out: dict[str, None] = {}
        for change, path in batch:
            rel = self.filter.relative(path)
            if rel is None:
                continue
            if change == watchfiles.Change.modified and os.path.isdir(path):
                continue
            out[rel] = None
        return sorted(out)

    def _first_change(self, paths: Sequence[str]) -> float:
        """When the oldest change in the batch was written: its file's last mtime (a
        deleted file has none: now), but no earlier than the previous batch, so a file
        copied with its old mtime does not count as days late. The lag counts from here."""
        first = time.time()
        for rel in paths:
            try:
                first = min(first, os.stat(os.path.join(self.root, rel)).st_mtime)
            except OSError:
                pass
        return max(first, self._last_batch)
