"""Concurrent searches while the index re-indexes: sustained queries/s, p50/p95/p99, errors.

    .venv/bin/python bench/bench_load.py --corpus /tmp/stdcopy --index-dir /tmp/stddense
    .venv/bin/python bench/bench_load.py --url http://127.0.0.1:8000/repos/std/search \\
        --token "$TOKEN" --edit-repo /path/the/server/watches

In-process (default): copies the corpus and its dense index, starts a `Watcher` on the copy,
an editor thread that appends a function to a different real module every --edit-every
seconds, and N client threads, each with its own Index (one connection and query model per
worker; --shared: one Index for all, which serialises them), searching the 50 stdlib queries of
bench_speed.py in a loop. With --url, N asyncio clients POST {"query", "k"} to a running
`codesift serve` instead (bounded: one request in flight per client); --edit-repo then
names the tree that server serves, edited the same way and restored afterwards, and
--watch re-indexes it from this process when the server does not watch it itself.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sysconfig
import tempfile
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from _common import environment, write_json
from bench_speed import QUERIES
from bench_watch import edit, percentile, prepare, targets

import codesift
from codesift.watch import Watcher

WARMUP_QUERIES = 5


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)  # seconds, successful queries
    errors: list[str] = field(default_factory=list)


class Editor(threading.Thread):
    """Appends a documented function to a different module every `every` seconds; keeps
    the originals so they can be put back."""

    def __init__(self, repo: Path, every: float, n_files: int = 50) -> None:
        super().__init__(name="editor", daemon=True)
        self.files = targets(repo, n_files)
        self.originals = {p: p.read_bytes() for p in self.files}
        self.every, self.stop, self.edits = every, threading.Event(), 0

    def run(self) -> None:
        while not self.stop.wait(self.every):
            edit(self.files[self.edits % len(self.files)], self.edits, "load")
            self.edits += 1

    def restore(self) -> None:
        for path, data in self.originals.items():
            path.write_bytes(data)


def client_thread(repo: Path, index: Path, k: int, seed: int, ready: threading.Barrier,
                  deadline: list[float], tally: Tally, shared=None) -> None:
    queries = QUERIES[:]
    random.Random(seed).shuffle(queries)
    own = shared is None
    idx = codesift.open_index(repo, index_dir=str(index)) if own else shared
    with idx if own else nullcontext():
        for q in queries[:WARMUP_QUERIES]:
            idx.search(q, k=k)
        ready.wait()
        i = 0
        while time.perf_counter() < deadline[0]:
            started = time.perf_counter()
            try:
                idx.search(queries[i % len(queries)], k=k)
                tally.latencies.append(time.perf_counter() - started)
            except Exception as exc:  # noqa: BLE001 - counted, the run goes on
                tally.errors.append(f"{type(exc).__name__}: {exc}")
            i += 1


def run_in_process(repo: Path, index: Path, clients: int, seconds: float, k: int,
                   every: float, shared: bool = False) -> dict:
    events = []
    watcher = Watcher(repo, index_dir=str(index), listeners=[events.append]).start()
    if not watcher.ready.wait(600) or watcher.error:
        raise SystemExit(f"watcher did not start: {watcher.error}")
    tallies = [Tally() for _ in range(clients)]
    ready = threading.Barrier(clients + 1)
    deadline = [float("inf")]
    one = codesift.open_index(repo, index_dir=str(index)) if shared else None
    threads = [threading.Thread(target=client_thread, args=(repo, index, k, i, ready, deadline,
                                                            tallies[i], one))
               for i in range(clients)]
    for t in threads:
        t.start()
    ready.wait()
    editor = Editor(repo, every)
    n_before = len(events)
    started = time.perf_counter()
    deadline[0] = started + seconds
    editor.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    editor.stop.set()
    editor.join()
    time.sleep(1.0)
    during = [e for e in events[n_before:] if e.paths]
    watcher.stop()
    editor.restore()
    if one is not None:
        one.close()
    return summarise(tallies, elapsed, clients) | {"shared_index": shared,
        "edits": editor.edits, "reindexes": len(during),
        "reindex_errors": sum(1 for e in during if e.error),
        "reindex_lag_p50": percentile([e.lag for e in during], 50) if during else None,
        "reindex_lag_p95": percentile([e.lag for e in during], 95) if during else None}


async def http_client(http, url: str, k: int, seed: int, start: asyncio.Event,
                      deadline: list[float], tally: Tally) -> None:
    import httpx
    queries = QUERIES[:]
    random.Random(seed).shuffle(queries)
    for q in queries[:WARMUP_QUERIES]:
        await http.post(url, json={"query": q, "k": k})
    await start.wait()
    i = 0
    while time.perf_counter() < deadline[0]:
        started = time.perf_counter()
        try:
            got = await http.post(url, json={"query": queries[i % len(queries)], "k": k})
            if got.status_code == 200:
                tally.latencies.append(time.perf_counter() - started)
            else:
                tally.errors.append(f"HTTP {got.status_code}: {got.text[:200]}")
        except httpx.HTTPError as exc:
            tally.errors.append(f"{type(exc).__name__}: {exc}")
        i += 1


def run_http(url: str, token: str | None, clients: int, seconds: float, k: int,
             edit_repo: Path | None, every: float, watch: bool) -> dict:
    editor = Editor(edit_repo, every) if edit_repo else None
    events: list = []
    watcher = None
    if watch and edit_repo:  # for a server started without --watch: re-index from here
        watcher = Watcher(edit_repo, listeners=[events.append]).start()
        watcher.ready.wait(600)
    tallies = [Tally() for _ in range(clients)]

    async def main() -> float:
        import httpx
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        start, deadline = asyncio.Event(), [float("inf")]
        async with httpx.AsyncClient(headers=headers, timeout=30.0,
                                     limits=httpx.Limits(max_connections=clients)) as http:
            runs = asyncio.gather(*(http_client(http, url, k, i, start, deadline, tallies[i])
                                    for i in range(clients)))
            await asyncio.sleep(3.0)  # every client warmed up (5 queries each)
            if editor:
                editor.start()
            started = time.perf_counter()
            deadline[0] = started + seconds
            start.set()
            await runs
            return time.perf_counter() - started

    try:
        elapsed = asyncio.run(main())
    finally:
        if editor:
            editor.stop.set()
            editor.join()
        if watcher:
            time.sleep(1.0)
            watcher.stop()
        if editor:
            editor.restore()
    during = [e for e in events if e.paths]
    return summarise(tallies, elapsed, clients) | {
        "edits": editor.edits if editor else 0, "reindexes": len(during) if watcher else None,
        "reindex_errors": sum(1 for e in during if e.error)}


def summarise(tallies: list[Tally], elapsed: float, clients: int) -> dict:
    latencies = [x for t in tallies for x in t.latencies]
    errors = [e for t in tallies for e in t.errors]
    return {"clients": clients, "seconds": round(elapsed, 2), "queries": len(latencies),
            "qps": round(len(latencies) / elapsed, 1),
            "p50_ms": round(percentile(latencies, 50) * 1000, 1),
            "p95_ms": round(percentile(latencies, 95) * 1000, 1),
            "p99_ms": round(percentile(latencies, 99) * 1000, 1),
            "max_ms": round(max(latencies) * 1000, 1), "errors": len(errors),
            "error_samples": sorted(set(errors))[:5]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=sysconfig.get_paths()["stdlib"])
    parser.add_argument("--index-dir", help="an existing dense index of the corpus (copied)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--seconds", type=float, default=30.0, help="per client count")
    parser.add_argument("--edit-every", type=float, default=1.0, help="seconds between edits")
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--url", help="POST searches to this endpoint of a running server")
    parser.add_argument("--token", help="bearer token for --url")
    parser.add_argument("--edit-repo", help="with --url: the tree the server serves; edited"
                        " every --edit-every seconds, restored at the end")
    parser.add_argument("--watch", action="store_true",
                        help="with --edit-repo: run a Watcher on it here (for a server started"
                             " without --watch; WAL lets the server read while this writes)")
    parser.add_argument("--shared", action="store_true",
                        help="in-process: all clients share one Index (as the HTTP server's "
                             "registry does: one request at a time per repository)")
    parser.add_argument("--work", help="scratch folder (default: a temporary one, removed)")
    parser.add_argument("--out", help="write the figures as JSON here")
    args = parser.parse_args()
    rows = []
    if args.url:
        for n in args.clients:
            rows.append(run_http(args.url, args.token, n, args.seconds, args.k,
                                 Path(args.edit_repo) if args.edit_repo else None,
                                 args.edit_every, args.watch))
            print(rows[-1])
    else:
        work = Path(args.work or tempfile.mkdtemp(prefix="codesift-load-"))
        try:
            repo, index = prepare(Path(args.corpus),
                                  Path(args.index_dir) if args.index_dir else None, work)
            for n in args.clients:
                rows.append(run_in_process(repo, index, n, args.seconds, args.k,
                                           args.edit_every, args.shared))
                print(rows[-1])
        finally:
            if not args.work:
                shutil.rmtree(work, ignore_errors=True)
    print("\nclients  queries/s   p50 ms   p95 ms   p99 ms   errors  re-indexes")
    for r in rows:
        print(f"{r['clients']:7d}  {r['qps']:9.1f}  {r['p50_ms']:7.1f}  {r['p95_ms']:7.1f}"
              f"  {r['p99_ms']:7.1f}  {r['errors']:7d}  {r.get('reindexes', '-')}")
    write_json(args.out, {"environment": environment(), "mode": "http" if args.url else "in-process",
                          "edit_every": args.edit_every, "k": args.k, "rows": rows})


if __name__ == "__main__":
    main()
