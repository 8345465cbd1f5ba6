"""Index jobs: recorded in the server home with their progress, run one at a time by a worker
thread, and resumed when a server restarts after dying in the middle of one.
"""

# A job is the normal incremental `Index.update` (or a rebuild), which is already kill-safe:
# every batch is one transaction, so a run cut anywhere leaves the previous index usable and
# the next run finishes the work. Resuming is therefore just running the job again. Only one
# server holds a home (HomeDB.lock_server), so at start-up a job still marked `running` has
# no live worker and goes back to the queue, up to MAX_ATTEMPTS times. One worker: indexing
# already takes every core, two at once would only fight over them.

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import CodesiftError
from .home import HomeDB
from .registry import Registry

log = logging.getLogger(__name__)
ACTIVE = ("queued", "running")
MAX_ATTEMPTS = 3
_COLUMNS = ("id, repo, rebuild, state, stage, done, total, attempts, message, hint, summary, "
            "created_at, started_at, finished_at, updated_at")


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    repo: str
    rebuild: bool
    state: str  # queued, running, done, failed
    stage: str  # parse, graph, embed (the indexer's progress stages); "" before the first
    done: int
    total: int
    attempts: int
    message: str | None
    hint: str | None
    summary: dict | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    updated_at: float

    @property
    def finished(self) -> bool:
        return self.state not in ACTIVE

    def to_dict(self) -> dict:
        return {"id": self.id, "repo": self.repo, "rebuild": self.rebuild, "state": self.state,
                "progress": {"stage": self.stage, "done": self.done, "total": self.total},
                "attempts": self.attempts, "message": self.message, "hint": self.hint,
                "summary": self.summary, "created_at": self.created_at,
                "started_at": self.started_at, "finished_at": self.finished_at,
                "updated_at": self.updated_at}


def _job(row: tuple) -> Job:
    values = list(row)
    values[2] = bool(values[2])
    values[10] = json.loads(values[10]) if values[10] else None
    return Job(*values)


class JobStore:
    """Job rows in the server home."""

    def __init__(self, db: HomeDB, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock

    def submit(self, repo: str, *, rebuild: bool = False, token_id: str | None = None) -> Job:
        """Queue a job, or return the queued one for this repository: a job not started yet
        will see every change made before it starts."""
        with self.db.transaction() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE repo = ? AND state = 'queued' "
                             "AND rebuild >= ? ORDER BY created_at LIMIT 1",
                             (repo, int(rebuild))).fetchone()
            if row is not None:
                return _job(row)
            now = self.clock()
            job_id = f"job_{secrets.token_hex(8)}"
            db.execute("INSERT INTO jobs (id, repo, rebuild, state, token_id, created_at, "
                       "updated_at) VALUES (?, ?, ?, 'queued', ?, ?, ?)",
                       (job_id, repo, int(rebuild), token_id, now, now))
        return self.get(job_id)  # type: ignore[return-value]

    def get(self, job_id: str) -> Job | None:
        row = self.db.one(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
        return _job(row) if row else None

    def for_repo(self, repo: str, limit: int = 20) -> list[Job]:
        return [_job(r) for r in self.db.rows(
            f"SELECT {_COLUMNS} FROM jobs WHERE repo = ? ORDER BY created_at DESC LIMIT ?",
            (repo, limit))]

    def count(self, state: str) -> int:
        return self.db.one("SELECT COUNT(*) FROM jobs WHERE state = ?", (state,))[0]

    def claim_next(self) -> Job | None:
        """The oldest queued job, marked running by this process."""
        worker = f"{socket.gethostname()}:{os.getpid()}"
        with self.db.transaction() as db:
            row = db.execute("SELECT id FROM jobs WHERE state = 'queued' "
                             "ORDER BY created_at LIMIT 1").fetchone()
            if row is None:
                return None
            now = self.clock()
            db.execute("UPDATE jobs SET state = 'running', worker = ?, attempts = attempts + 1, "
                       "started_at = ?, updated_at = ? WHERE id = ?", (worker, now, now, row[0]))
        return self.get(row[0])

    def progress(self, job_id: str, stage: str, done: int, total: int) -> None:
        self.db.write("UPDATE jobs SET stage = ?, done = ?, total = ?, updated_at = ? "
                      "WHERE id = ?", (stage, done, total, self.clock(), job_id))

    def finish(self, job_id: str, summary: dict) -> None:
        now = self.clock()
        self.db.write("UPDATE jobs SET state = 'done', summary = ?, finished_at = ?, "
                      "updated_at = ? WHERE id = ?", (json.dumps(summary), now, now, job_id))

    def fail(self, job_id: str, message: str, hint: str = "") -> None:
        now = self.clock()
        self.db.write("UPDATE jobs SET state = 'failed', message = ?, hint = ?, finished_at = ?, "
                      "updated_at = ? WHERE id = ?", (message, hint, now, now, job_id))

    def requeue(self, job_id: str) -> None:
        self.db.write("UPDATE jobs SET state = 'queued', worker = NULL, updated_at = ? "
                      "WHERE id = ?", (self.clock(), job_id))

    def recover(self) -> list[str]:
        """Jobs left `running` by a server that died: queued again, or failed once they have
        been cut short MAX_ATTEMPTS times (a job that kills its server must not loop)."""
        orphans = self.db.rows("SELECT id, attempts FROM jobs WHERE state = 'running'")
        for job_id, attempts in orphans:
            if attempts >= MAX_ATTEMPTS:
                self.fail(job_id, f"interrupted {attempts} times; not resumed again",
                          "look at the server's log, then start a new job")
            else:
                self.requeue(job_id)
        return [job_id for job_id, _ in orphans]


class _Stopped(Exception):
    """Raised from the progress callback to end a run between batches at shutdown."""


class JobRunner:
    """One worker thread running queued jobs. It also polls, so jobs queued by the CLI
    (`codesift repo add`) start without a request to wake it."""

    def __init__(self, jobs: JobStore, registry: Registry, *, poll_seconds: float = 1.0,
                 on_done: Callable | None = None) -> None:
        self.jobs = jobs
        self.on_done = on_done  # (repo name, Index) after a job's update: the app's metrics
        self.registry = registry
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> list[str]:
        """Resume interrupted jobs and start the worker; the ids of resumed jobs."""
        resumed = self.jobs.recover()
        for job_id in resumed:
            log.warning("resuming index job %s, interrupted when the server stopped", job_id)
        self._thread = threading.Thread(target=self._loop, name="codesift-jobs", daemon=True)
        self._thread.start()
        return resumed

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """End the running job at its next batch boundary (it is queued again, to resume at
        the next start) and the worker with it."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            job = self.jobs.claim_next()
            if job is None:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()
                continue
            self._run(job)

    def _run(self, job: Job) -> None:
        def progress(stage: str, done: int, total: int) -> None:
            self.jobs.progress(job.id, stage, done, total)
            if self._stop.is_set():
                raise _Stopped

        try:
            repo = self.registry.get(job.repo)
            with self.registry.open_fresh(repo) as index:
                summary = index.update(progress, rebuild=job.rebuild)
                if self.on_done is not None:
                    self.on_done(job.repo, index)
        except _Stopped:
            self.jobs.requeue(job.id)
            return
        except CodesiftError as exc:
            self.jobs.fail(job.id, str(exc), exc.hint)
            return
        except Exception as exc:  # a bug or an OS error: recorded, and the worker goes on
            log.exception("index job %s failed", job.id)
            self.jobs.fail(job.id, f"{type(exc).__name__}: {exc}",
                           "look at the server's log; the previous index is still usable")
            return
        self.jobs.finish(job.id, summary.to_dict())
