"""Several local repositories searched as one: named from `--repo` paths or a workspace file,
each searched on its own index in parallel and merged (retrieve/federate.py).

A workspace file is TOML, paths relative to the file:

    [[repo]]
    path = "../api"
    name = "api"                 # optional: the folder's name
    index_dir = "/srv/idx/api"   # optional: <path>/.codesift
"""

from __future__ import annotations

import os
import queue
import threading
import tomllib
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path

from .api import Index, open_index
from .embed.shared import SharedQueryEmbedders
from .errors import UsageError
from .retrieve.federate import (DEFAULT_DEADLINE_S, DEFAULT_MERGE, NEEDS_EVIDENCE,
                               FederatedResult, RepoAnswer, answer_of, search_repos)


@dataclass(frozen=True, slots=True)
class WorkspaceRepo:
    name: str
    path: Path
    index_dir: Path | None = None


def load_workspace(path: str | os.PathLike) -> tuple[WorkspaceRepo, ...]:
    """The repositories a workspace file lists; a clear UsageError for a bad file."""
    file = Path(path).expanduser()
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read workspace file {file}: {exc.strerror}",
                         hint="give the path of a TOML file with [[repo]] entries") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"workspace file {file} is not valid TOML: {exc}",
                         hint='each repository is a [[repo]] table with path = "..."') from exc
    entries = data.get("repo")
    if not isinstance(entries, list) or not entries:
        raise UsageError(f"workspace file {file} lists no repositories",
                         hint='add a [[repo]] table with path = "..." for each one')
    base = file.resolve().parent
    repos = []
    for n, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise UsageError(f"workspace file {file}: repository {n} has no path",
                             hint='write path = "relative/or/absolute/folder"')
        root = (base / Path(entry["path"]).expanduser()).resolve()
        index_dir = entry.get("index_dir")
        repos.append(WorkspaceRepo(str(entry.get("name") or ""), root,
                                   (base / index_dir).resolve() if index_dir else None))
    return name_repos(repos)


def from_paths(paths: Sequence[str]) -> tuple[WorkspaceRepo, ...]:
    return name_repos([WorkspaceRepo("", Path(p).expanduser().resolve()) for p in paths])


def name_repos(repos: Sequence[WorkspaceRepo]) -> tuple[WorkspaceRepo, ...]:
    """Each unnamed repository named by its folder, or by as many trailing path parts as
    tell it apart; a name given twice is an error."""
    named = []
    for repo in repos:
        name = repo.name or _short_name(repo.path, [r.path for r in repos if r is not repo])
        named.append(WorkspaceRepo(name, repo.path, repo.index_dir))
    seen: dict[str, Path] = {}
    for repo in named:
        if repo.name in seen and seen[repo.name] != repo.path:
            raise UsageError(f"two repositories are named {repo.name!r}",
                             hint="give each its own name in the workspace file")
        seen[repo.name] = repo.path
    unique = {r.name: r for r in named}  # the same folder given twice is searched once
    return tuple(unique.values())


def _short_name(path: Path, others: Sequence[Path]) -> str:
    parts = path.parts
    for n in range(1, len(parts) + 1):
        tail = parts[-n:]
        if not any(o != path and o.parts[-n:] == tail for o in others):
            return "/".join(tail)
    return str(path)


class Workspace:
    """Open indexes of several repositories sharing one query model per embedder."""

    def __init__(self, repos: Sequence[WorkspaceRepo], *, dense: bool | None = None) -> None:
        if not repos:
            raise UsageError("no repositories to search", hint="pass --repo PATH (repeatable)")
        self.shared = SharedQueryEmbedders()
        self.indexes: dict[str, Index] = {}
        # An Index answers one search at a time; a search still running past a deadline
        # keeps its index until it ends, and the next search of that index waits for it.
        self._locks: dict[str, threading.Lock] = {}
        for repo in repos:
            overrides = {"index_dir": str(repo.index_dir)} if repo.index_dir else {}
            index = open_index(repo.path, dense=dense, **overrides)
            index.shared_queries = self.shared
            self.indexes[repo.name] = index
            self._locks[repo.name] = threading.Lock()
        # One worker per core: the repositories' searches release the GIL in SQLite and
        # ONNX Runtime, and more workers would only queue on the cores.
        self._pool = DaemonPool(min(len(self.indexes), os.cpu_count() or 1), "codesift-repos")

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close every index no search holds; one still running past its deadline is left
        to its worker (its process ends with it)."""
        self._pool.shutdown(wait=False)
        for name, index in self.indexes.items():
            lock = self._locks[name]
            if lock.acquire(blocking=False):
                try:
                    index.close()
                finally:
                    lock.release()

    def search(self, query: str, k: int = 10, *, repos: Sequence[str] = (),
               deadline_s: float = DEFAULT_DEADLINE_S, merge: str = DEFAULT_MERGE,
               **filters) -> FederatedResult:
        """Search every repository (or those named in `repos`) and merge the hits; filters
        are Index.search's (languages, path, kinds, exclude_tests, files)."""
        unknown = [r for r in repos if r not in self.indexes]
        if unknown:
            raise UsageError(f"no repository named {unknown[0]!r} in this workspace",
                             hint="choose from: " + ", ".join(self.indexes))
        chosen = {n: i for n, i in self.indexes.items() if not repos or n in repos}
        weigh = merge in NEEDS_EVIDENCE
        searches = {name: _bound(index, self._locks[name], query, k, filters, weigh)
                    for name, index in chosen.items()}
        return search_repos(searches, k, pool=self._pool, query=query, deadline_s=deadline_s,
                            how=merge)


def _bound(index: Index, lock: threading.Lock, query: str, k: int, filters: dict,
           weigh: bool):
    def search() -> RepoAnswer:
        with lock:
            return answer_of(index, query, k, filters, weigh)
    return search


class DaemonPool(Executor):
    """A fixed pool of daemon threads. concurrent.futures joins its workers when the
    interpreter exits, so a search left running past its deadline kept `codesift search`
    from exiting after it had printed; daemon workers end with the process instead. The
    searches are read-only, so nothing is lost when one is cut off."""

    def __init__(self, workers: int, name: str) -> None:
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._closed = False
        for i in range(max(1, workers)):
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True).start()
        self._workers = max(1, workers)

    def submit(self, fn: Callable, /, *args, **kwargs) -> Future:
        if self._closed:
            raise RuntimeError("the pool is shut down")
        future: Future = Future()
        self._tasks.put((future, fn, args, kwargs))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = True) -> None:
        """Stop taking work and cancel what has not started. Workers are never joined,
        whatever `wait` says: a search still running finishes on its own or ends with
        the process."""
        self._closed = True
        while True:
            try:
                task = self._tasks.get_nowait()
            except queue.Empty:
                break
            if task is not None:
                task[0].cancel()
        for _ in range(self._workers):
            self._tasks.put(None)

    def _work(self) -> None:
        while (task := self._tasks.get()) is not None:
            future, fn, args, kwargs = task
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's future
                future.set_exception(exc)

