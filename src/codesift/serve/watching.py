"""`codesift serve --watch`: one Watcher per registered, indexed repository, each on its own
Index (its own SQLite connection), kept in step with the registry by a polling thread.
"""

# Why a poll and not a hook in POST /repos: repositories also arrive by `codesift repo add`
# in another process, and a new one has no index until its first job has run; looking at
# the home every poll interval catches both, and a rebuild (a new database file swapped in,
# which a watcher holding the old file would keep writing to) restarts that repository's
# watcher. Searches keep using the Registry's Index: SQLite's WAL lets them read while a
# watcher writes, each seeing one snapshot.

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass

from ..watch import DEBOUNCE_MS, STEP_MS, Reindex, Watcher
from .metrics import Metrics
from .registry import Registry, Repo

log = logging.getLogger(__name__)


STOP_DEADLINE_S = 5.0  # every watcher told to stop and waited for, in all


@dataclass(slots=True)
class _Watching:
    path: str
    inode: int | None  # of the index database when the watcher started
    watcher: Watcher
    reported: bool = False  # its death was logged and counted


class WatchSet:
    """Watchers for the registry's repositories. `start()` runs the polling thread,
    `stop()` ends it and every watcher; `reconcile()` is one pass (tests call it)."""

    def __init__(self, registry: Registry, metrics: Metrics, *, poll_seconds: float = 1.0,
                 step_ms: int = STEP_MS, debounce_ms: int = DEBOUNCE_MS) -> None:
        self.registry = registry
        self.metrics = metrics
        self.poll_seconds = poll_seconds
        self.step_ms, self.debounce_ms = step_ms, debounce_ms
        self.watching: dict[str, _Watching] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="codesift-watchset", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop every watcher within STOP_DEADLINE_S in all: each is told at once, then
        waited for in turn out of the one deadline. A watcher still re-indexing then is
        left to die with the process (a daemon thread): its batch in progress is rolled
        back, and the next run redoes what it had left."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
        entries = [self.watching.pop(name) for name in list(self.watching)]
        for entry in entries:
            entry.watcher.stop_event.set()
        deadline = time.monotonic() + STOP_DEADLINE_S
        for entry in entries:
            entry.watcher.stop(timeout=max(0.0, deadline - time.monotonic()))

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.reconcile()
            except Exception:  # noqa: BLE001 - the home was locked, say: next poll
                log.exception("watch: could not read the registered repositories")
            self._stop.wait(self.poll_seconds)

    # -- one pass ---------------------------------------------------------------------

    def reconcile(self) -> None:
        """Start watchers for indexed repositories without one; stop those of repositories
        removed, moved or rebuilt (the latter two start again on their new path / file)."""
        repos = {repo.name: repo for repo in self.registry.list()}
        for name, entry in list(self.watching.items()):
            repo = repos.get(name)
            if repo is None or repo.path != entry.path \
                    or _inode(entry.watcher.index.db_path) != entry.inode:
                self._drop(name)
            elif entry.watcher.error is not None:
                self._report_death(name, entry)
        for name, repo in repos.items():
            if name not in self.watching and not self._stop.is_set():
                self._start(repo)

    def _start(self, repo: Repo) -> None:
        try:
            watcher = Watcher(repo.path, step_ms=self.step_ms, debounce_ms=self.debounce_ms,
                              dense=None if repo.dense else False)
        except Exception as exc:  # noqa: BLE001 - a vanished folder: the routes say so too
            log.debug("watch: cannot watch %s: %s", repo.name, exc)
            return
        if not watcher.index.exists:  # not indexed yet: its first job builds it
            watcher.index.close()
            return
        watcher.listeners.append(self._listener(repo.name, watcher))
        self.watching[repo.name] = _Watching(repo.path, _inode(watcher.index.db_path), watcher)
        watcher.start()
        log.info("watching %s (%s)", repo.name, repo.path)

    def _listener(self, name: str, watcher: Watcher):
        def listener(event: Reindex) -> None:
            self.metrics.observe_reindex(event, index=name)
            if not event.error:  # on the watcher's thread, which owns its Index
                self.metrics.set_index_size(name, watcher.index.status())
        return listener

    def _drop(self, name: str) -> None:
        entry = self.watching.pop(name)
        entry.watcher.stop()

    def _report_death(self, name: str, entry: _Watching) -> None:
        # Not restarted in a loop: a watcher ends on a problem every run would hit (a
        # corrupt index, another embedder); a rebuild or a re-registration starts it again.
        if not entry.reported:
            entry.reported = True
            error = entry.watcher.error
            self.metrics.count_error(error, where="watch")
            log.error("watch: %s stopped: %s", name, error)


def _inode(path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None
