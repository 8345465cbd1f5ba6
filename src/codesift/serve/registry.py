"""The repositories a server serves: registered by name and path in the server home, each
with its own `Index` opened on first use and kept, one request at a time per repository.
"""

# An Index holds one SQLite connection and caches (vectors, the query embedder) that are
# not built for concurrent use, so requests to one repository take turns on a lock while
# different repositories run in parallel. A rebuild (here or by the CLI) swaps a new
# database file in: the cached Index is reopened when the file's inode changes.

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..api import Index, open_index
from ..embed.shared import SharedQueryEmbedders
from ..errors import PathError, UsageError
from .home import HomeDB
from .http_errors import Conflict, Forbidden, NotFound

REPO_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_repo_name(name: str) -> str:
    if not isinstance(name, str) or not REPO_NAME.match(name):
        raise UsageError(f"bad repository name {name!r}",
                         hint="use 1-64 letters, digits, '.', '_' or '-', starting with a "
                              "letter or digit")
    return name


@dataclass(frozen=True, slots=True)
class Repo:
    name: str
    path: str
    dense: bool
    created_at: float

    def to_dict(self) -> dict:
        return {"name": self.name, "path": self.path, "dense": self.dense,
                "created_at": self.created_at}


@dataclass(slots=True)
class _Open:
    index: Index
    path: str
    inode: int | None
    lock: threading.Lock


class Registry:
    """Registered repositories and their open indexes."""

    def __init__(self, db: HomeDB, clock: Callable[[], float] = time.time,
                 on_open: Callable[[str, Index], None] | None = None) -> None:
        self.db = db
        self.clock = clock
        self.on_open = on_open  # told of each long-lived Index opened (the app's metrics)
        self._open: dict[str, _Open] = {}
        self._lock = threading.Lock()
        # One query model per embedder for every repository served (embed/shared.py).
        self.shared_queries = SharedQueryEmbedders()

    # -- registration ------------------------------------------------------------------

    def add(self, name: str, path: str, *, dense: bool = True,
            allowed_roots: Sequence[Path] | None = None) -> Repo:
        """Register the directory `path` as `name`. `allowed_roots` (the HTTP API's
        --allow-path) confines where a client may point the server; None = anywhere."""
        check_repo_name(name)
        root = _real_directory(path)
        if allowed_roots is not None and not any(_within(root, r) for r in allowed_roots):
            raise Forbidden(f"{root} is outside the folders this server may register",
                            hint="start the server with --allow-path DIR, or register it "
                                 "with `codesift repo add` on the server's machine")
        repo = Repo(name, str(root), dense, self.clock())
        with self.db.transaction() as db:
            if db.execute("SELECT 1 FROM repos WHERE name = ?", (name,)).fetchone():
                raise Conflict(f"a repository named {name!r} is already registered",
                               hint="pick another name, or remove it first")
            db.execute("INSERT INTO repos (name, path, dense, created_at) VALUES (?, ?, ?, ?)",
                       (name, repo.path, int(dense), repo.created_at))
        return repo

    def remove(self, name: str) -> Repo:
        """Unregister `name` (its index stays where it is, in the repository)."""
        repo = self.get(name)
        with self.db.transaction() as db:
            db.execute("DELETE FROM repos WHERE name = ?", (name,))
            db.execute("UPDATE jobs SET state = 'failed', message = 'the repository was removed', "
                       "updated_at = ? WHERE repo = ? AND state = 'queued'", (self.clock(), name))
        self._close(name)
        return repo

    def get(self, name: str) -> Repo:
        row = self.db.one("SELECT name, path, dense, created_at FROM repos WHERE name = ?",
                          (name,))
        if row is None:
            raise NotFound(f"no repository named {name!r}",
                           hint="list them with GET /repos (or codesift repo list)")
        return Repo(row[0], row[1], bool(row[2]), row[3])

    def list(self) -> list[Repo]:
        return [Repo(r[0], r[1], bool(r[2]), r[3]) for r in
                self.db.rows("SELECT name, path, dense, created_at FROM repos ORDER BY name")]

    # -- open indexes ------------------------------------------------------------------

    def open_fresh(self, repo: Repo) -> Index:
        """A new Index of `repo`, for a caller that owns it (an index job)."""
        try:
            return open_index(repo.path, dense=None if repo.dense else False)
        except PathError as exc:
            raise Conflict(f"repository {repo.name}: {exc}",
                           hint="the folder moved or vanished: remove and re-register it"
                           ) from exc

    @contextmanager
    def using(self, name: str, wait_s: float | None = None) -> Iterator[Index]:
        """The repository's long-lived Index, held for one request. `wait_s`: how long to
        wait for a request holding it now (None: as long as it takes); past it, TimeoutError."""
        repo = self.get(name)
        stale = opened = None
        with self._lock:
            entry = self._open.get(name)
            inode = _inode(entry.index.db_path) if entry else None
            if entry is not None and (entry.path != repo.path or entry.inode != inode):
                stale, entry = self._open.pop(name), None
            if entry is None:
                index = self.open_fresh(repo)
                index.shared_queries = self.shared_queries
                entry = opened = _Open(index, repo.path, _inode(index.db_path),
                                       threading.Lock())
                self._open[name] = entry
        if stale is not None:
            _close_later(stale)
        if not entry.lock.acquire(timeout=-1 if wait_s is None else max(0.0, wait_s)):
            raise TimeoutError(f"repository {name} stayed busy for {wait_s:.1f} s "
                               "(another request or a re-index holds it)")
        try:
            if opened is not None and self.on_open is not None:
                self.on_open(name, entry.index)
            yield entry.index
        finally:
            entry.lock.release()

    def _close(self, name: str) -> None:
        with self._lock:
            entry = self._open.pop(name, None)
        if entry is not None:
            _close_later(entry)

    def close(self) -> None:
        with self._lock:
            entries, self._open = list(self._open.values()), {}
        for entry in entries:
            _close_later(entry)


def _close_later(entry: _Open) -> None:
    """Close once the request holding it (if any) is done."""
    with entry.lock:
        entry.index.close()


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def _real_directory(path: str) -> Path:
    # No `~` expansion: a client's `~` means nothing on the server (the CLI expands its own).
    raw = Path(str(path or ""))
    if not str(path or "").strip() or "\x00" in str(path) or not raw.is_absolute():
        raise PathError(f"repository path {path!r} must be an absolute path",
                        hint="give the folder's full path on the server, e.g. /srv/code/app")
    real = Path(os.path.realpath(raw))
    if not real.is_dir():
        raise PathError(f"{raw}: no such directory", hint="check the path on the server")
    return real


def _within(path: Path, root: Path) -> bool:
    real_root = Path(os.path.realpath(root))
    return path == real_root or real_root in path.parents
