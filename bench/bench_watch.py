"""Edit -> searchable latency in watch mode, dense on: real edits to a copy of a real tree.

    .venv/bin/python bench/bench_watch.py --corpus /tmp/stdcopy --index-dir /tmp/stddense

Copies the corpus (default: this Python's stdlib) and, when given, an existing dense index
of it (else builds one: minutes), starts a `Watcher` on the copy, then N times appends a new
documented function to a different real module and polls search from a second Index until
(a) the function is the top hit for its name and (b) the dense retriever returns it too
(its vector is committed and in the searcher's vector index). Reports p50/p95/max of both,
and the watcher's own figures (update time, lag from the file's mtime).
"""

from __future__ import annotations

import argparse
import os
import queue
import secrets
import shutil
import sysconfig
import tempfile
import time
from pathlib import Path

from _common import environment, write_json

import codesift
from codesift.ingest.discover import discover
from codesift.watch import DEBOUNCE_MS, STEP_MS, Reindex, Watcher

SUBJECTS = ["invoice", "glacier", "orchard", "lantern", "harbor", "meteor", "violin", "quarry",
            "saddle", "beacon", "tundra", "pepper", "falcon", "canyon", "mosaic", "walrus",
            "cobalt", "thistle", "pylon", "kestrel", "marble", "nectar", "bramble", "geyser"]
POLL_SECONDS = 0.02  # a reader polling harder would take CPU and the GIL from the watcher
GIVE_UP_SECONDS = 30.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def prepare(corpus: Path, index_dir: Path | None, work: Path) -> tuple[Path, Path]:
    """A private copy of the corpus (mtimes kept) and of its index, or a fresh dense index."""
    repo, index = work / "repo", work / "index"
    shutil.copytree(corpus, repo, symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__", "site-packages"))
    if index_dir is not None:
        shutil.copytree(index_dir, index)
    started = time.perf_counter()
    with codesift.open_index(repo, index_dir=str(index)) as idx:
        summary = idx.update()
    print(f"index ready: {summary.files_indexed} files (re)indexed, {summary.vectors_embedded}"
          f" vectors embedded in {time.perf_counter() - started:.1f} s")
    return repo, index


def targets(repo: Path, n: int) -> list[Path]:
    """n distinct real Python modules of ordinary size, spread evenly over the tree."""
    files = [f for f in discover(repo).files if f.language == "python"
             and 2_000 < f.size < 80_000 and "test" not in f.path]
    step = max(1, len(files) // n)
    return [Path(files[i * step % len(files)].abspath) for i in range(n)]


def edit(path: Path, i: int, nonce: str) -> tuple[str, str]:
    """Append a documented function; returns (its name, a question its docstring answers)."""
    subject = SUBJECTS[i % len(SUBJECTS)]
    name = f"reconcile_{subject}_{nonce}_{i}"
    doc = f"Reconcile the {subject} ledger with the stock counted in the warehouse"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(f"\n\ndef {name}(ledger, counted):\n    \"\"\"{doc}.\"\"\"\n"
                 f"    return {{k: counted.get(k, 0) - v for k, v in ledger.items()}}\n")
    return name, doc


def wait_searchable(reader, name: str, doc: str, started: float) -> tuple[float, float]:
    """Seconds from the write until the function is found by name, and by the dense retriever."""
    found = dense = None
    while time.time() - started < GIVE_UP_SECONDS:
        for hit in reader.search(f"{doc} ({name})", k=10):
            if hit.symbol.endswith(name):
                found = found or time.time() - started
                if "dense" in hit.sources:
                    dense = time.time() - started
                    return found, dense
        time.sleep(POLL_SECONDS)
    raise SystemExit(f"{name} not searchable after {GIVE_UP_SECONDS} s")


def settle(events: queue.Queue, quiet: float = 0.3) -> list[Reindex]:
    seen = []
    while True:
        try:
            seen.append(events.get(timeout=quiet))
        except queue.Empty:
            return seen


def run(repo: Path, index: Path, edits: int, step_ms: int, debounce_ms: int) -> dict:
    events: queue.Queue[Reindex] = queue.Queue()
    watcher = Watcher(repo, index_dir=str(index), step_ms=step_ms, debounce_ms=debounce_ms,
                      listeners=[events.put]).start()
    if not watcher.ready.wait(600) or watcher.error:
        raise SystemExit(f"watcher did not start: {watcher.error}")
    settle(events)
    reader = codesift.open_index(repo, index_dir=str(index))
    reader.search("warm up the query model and the vectors", k=10)
    nonce = secrets.token_hex(3)
    rows = []
    for i, path in enumerate(targets(repo, edits)):
        started = time.time()
        name, doc = edit(path, i, nonce)
        found, dense = wait_searchable(reader, name, doc, started)
        rel = path.relative_to(repo).as_posix()
        mine = [e for e in settle(events) if rel in e.paths]
        rows.append({"path": rel, "found": found, "dense": dense,
                     "update": sum(e.seconds for e in mine), "lag": max((e.lag for e in mine), default=0),
                     "runs": len(mine), "vectors": sum(e.vectors_embedded for e in mine)})
        print(f"{i + 1:2d} {rel:40s} found {found * 1000:6.0f} ms, dense {dense * 1000:6.0f} ms"
              f" (update {rows[-1]['update'] * 1000:5.0f} ms, {rows[-1]['runs']} run(s))")
    reader.close()
    watcher.stop()
    return {"edits": rows, "summary": {
        key: {"p50": percentile([r[key] for r in rows], 50),
              "p95": percentile([r[key] for r in rows], 95),
              "max": max(r[key] for r in rows)} for key in ("found", "dense", "update", "lag")}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=sysconfig.get_paths()["stdlib"])
    parser.add_argument("--index-dir", help="an existing dense index of the corpus (copied)")
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--step", type=int, default=STEP_MS, help="watch step, ms")
    parser.add_argument("--debounce", type=int, default=DEBOUNCE_MS, help="watch debounce, ms")
    parser.add_argument("--work", help="scratch folder (default: a temporary one, removed)")
    parser.add_argument("--out", help="write the figures as JSON here")
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="codesift-watch-"))
    try:
        repo, index = prepare(Path(args.corpus), Path(args.index_dir) if args.index_dir else None,
                              work)
        result = run(repo, index, args.edits, args.step, args.debounce)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    print("\n          p50      p95      max   (ms)")
    for key, label in (("found", "found by name"), ("dense", "found by dense"),
                       ("update", "watcher update"), ("lag", "watcher lag")):
        s = result["summary"][key]
        print(f"{label:15s} {s['p50'] * 1000:7.0f}  {s['p95'] * 1000:7.0f}  {s['max'] * 1000:7.0f}")
    write_json(args.out, {"environment": environment(), "cpus_busy": os.getloadavg(),
                          "step_ms": args.step, "debounce_ms": args.debounce, **result})


if __name__ == "__main__":
    main()
