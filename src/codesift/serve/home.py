"""The HTTP server's home: one SQLite file holding registered repositories, token hashes,
index jobs and the audit log, with its own numbered migrations and a one-server lock (the
`codesift sql` catalog is sql.db beside it).
"""

# Each repository keeps its own index where codesift puts it; this file only holds what the
# server itself needs. The CLI (`codesift token`, `codesift repo`) writes the same file while
# a server runs, so the server reads it on every request instead of caching rows: a revoked
# token stops working at once. One connection behind a lock serves every thread; SQLite in
# WAL mode with a busy timeout lets the CLI write beside it.

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from ..errors import CodesiftError, PathError
from ..store.migrations import immediate_transaction, run_script

DB_NAME = "server.db"
LOCK_NAME = "server.lock"


def default_home() -> Path:
    """$CODESIFT_HOME, else ~/.codesift-server."""
    return Path(os.environ.get("CODESIFT_HOME") or "~/.codesift-server").expanduser()


def m001_server(db: sqlite3.Connection) -> None:
    run_script(db, """
        CREATE TABLE repos (
            name TEXT PRIMARY KEY,
            path TEXT NOT NULL,
            dense INTEGER NOT NULL DEFAULT 1,
            created_at REAL NOT NULL
        );
        CREATE TABLE tokens (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE,
            repos TEXT NOT NULL,
            actions TEXT NOT NULL,
            created_at REAL NOT NULL,
            revoked_at REAL,
            last_used_at REAL
        );
        CREATE TABLE jobs (
            id TEXT PRIMARY KEY,
            repo TEXT NOT NULL,
            rebuild INTEGER NOT NULL DEFAULT 0,
            state TEXT NOT NULL,
            stage TEXT NOT NULL DEFAULT '',
            done INTEGER NOT NULL DEFAULT 0,
            total INTEGER NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0,
            worker TEXT,
            message TEXT,
            hint TEXT,
            summary TEXT,
            token_id TEXT,
            created_at REAL NOT NULL,
            started_at REAL,
            finished_at REAL,
            updated_at REAL NOT NULL
        );
        CREATE INDEX jobs_by_repo ON jobs(repo, created_at);
        CREATE INDEX jobs_by_state ON jobs(state, created_at);
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            token_id TEXT,
            client TEXT,
            method TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            repo TEXT,
            status INTEGER NOT NULL,
            paths TEXT NOT NULL DEFAULT '[]'
        );
        CREATE INDEX audit_by_token ON audit(token_id, at);
        CREATE INDEX audit_by_repo ON audit(repo, at);
    """)


def m002_sql(db: sqlite3.Connection) -> None:
    """Databases (`codesift sql` served) become a resource beside repositories. A token made
    before this has no database: '[]' keeps its meaning. The audit log names the database
    and keeps what a SQL call did (question, SQL, ran, rows, outcome) as JSON."""
    run_script(db, """
        ALTER TABLE tokens ADD COLUMN databases TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE audit ADD COLUMN database TEXT;
        ALTER TABLE audit ADD COLUMN detail TEXT;
        CREATE INDEX audit_by_database ON audit(database, at);
    """)


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (m001_server, m002_sql)


class HomeDB:
    """The server home's database; every call runs under one lock, writes in a transaction."""

    def __init__(self, home: str | os.PathLike) -> None:
        self.home = Path(home).expanduser()
        try:
            self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise PathError(f"cannot create the server home {self.home}: {exc.strerror}",
                            hint="pass --home DIR (or set CODESIFT_HOME) to a writable folder"
                            ) from exc
        self.path = self.home / DB_NAME
        fresh = not self.path.exists()
        self._lock = threading.RLock()
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                  timeout=10.0)
        if fresh:  # token hashes and the audit log: nobody else's business
            os.chmod(self.path, 0o600)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self._migrate()
        self._server_lock: int | None = None

    def _migrate(self) -> None:
        with self.transaction():
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise CodesiftError(f"{self.path} was written by a newer codesift",
                                    hint="upgrade codesift, or use another --home")
            for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
                migration(self.db)
                self.db.execute(f"PRAGMA user_version={number}")

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate_transaction(self.db, self._lock)

    def rows(self, sql: str, args: tuple | list = ()) -> list[tuple]:
        with self._lock:
            return self.db.execute(sql, args).fetchall()

    def one(self, sql: str, args: tuple | list = ()) -> tuple | None:
        with self._lock:
            return self.db.execute(sql, args).fetchone()

    def write(self, sql: str, args: tuple | list = ()) -> int:
        """Run one statement in its own transaction; the number of rows it changed."""
        with self.transaction() as db:
            return db.execute(sql, args).rowcount

    # -- one server per home -----------------------------------------------------------

    def lock_server(self) -> None:
        """Claim the home for this process: two servers would both resume the same jobs.
        The kernel drops the lock when the process dies, even by kill -9."""
        if self._server_lock is not None:
            return
        fd = os.open(self.home / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise CodesiftError(f"another codesift server is running with home {self.home}",
                                hint="stop it first, or pass a different --home") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._server_lock = fd

    def unlock_server(self) -> None:
        if self._server_lock is not None:
            os.close(self._server_lock)  # closing the descriptor releases the flock
            self._server_lock = None

    def close(self) -> None:
        self.unlock_server()
        with self._lock:
            self.db.close()
