"""Big code: how codesift holds as a tree grows, measured on nested subsets of one codebase.

    .venv/bin/python bench/bench_scale.py --tree 1m=/work/cache/linux/k1m \\
        --tree 4m=/work/cache/linux/k4m --tree 10m=/work/cache/linux/k10m --out scale.json

Each tree is indexed into its own `.codesift` (as a user's would be). For each, in order:

- `index`: a cold lexical index (`codesift index --no-dense`, a child process: wall time,
  lines/s, peak RSS), its size on disk and its lines as `codesift status` counts them;
  with `--dense`, then `codesift index` (embedding what is missing: resumable, so a run
  cut short continues where it stopped) and the same figures;
- `queries`: in a child process of its own, warm in-process search latency over QUERIES
  (questions, identifiers, kernel messages, a call trace) in two passes, `graph callers`
  at depth 3 for --graph-n functions, the repo map, and the process's peak RSS;
- `http`: `codesift serve` in a child process with the tree registered, the same queries
  over HTTP (one client, keep-alive), and the server's peak RSS (VmHWM);
- `watch`: the watcher on the tree; --edits C files each get a new function, and the time
  from the write until a search finds it by name.

Phases can be chosen with --phases; a tree's existing index is reused unless --cold.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (sets the import path)
from _common import write_json

QUERIES = [
    # questions
    "allocate pages for a slab cache", "pick the next task to run on a cpu runqueue",
    "wake up a process sleeping on a wait queue", "copy a buffer from user space",
    "free memory allocated with vmalloc", "insert a node into a red-black tree",
    "retry a failed block io request", "hash a message with sha256",
    "check whether a task may open a file", "handle a page fault in a user address space",
    "create a kernel thread", "register a timer that fires after a delay",
    "send a signal to a process group", "parse a kernel command line option",
    "lock a mutex and sleep if it is contended", "print a message to the kernel log",
    "compress data with zlib deflate", "submit an io_uring request",
    "find the vma that contains an address", "sort an array with a comparison function",
    # identifiers
    "schedule", "wake_up_process", "mutex_lock", "copy_process", "do_exit", "alloc_pages",
    "vfree", "find_vma", "rb_insert_color", "idr_alloc", "call_rcu", "kthread_create_on_node",
    "blk_mq_submit_bio", "crypto_alloc_shash", "security_file_open", "kobject_add",
    "hrtimer_start_range_ns", "sched_setaffinity", "cgroup_attach_task", "do_mmap",
    # messages
    "BUG: scheduling while atomic", "Out of memory: Killed process",
    "INFO: task blocked for more than seconds", "possible circular locking dependency detected",
    "general protection fault", "Unable to handle kernel paging request",
    "RCU detected stall on CPU", "kernel BUG at mm/slub.c",
    "sleeping function called from invalid context",
    # a call trace
    "BUG: kernel NULL pointer dereference, address: 0000000000000008\nCall Trace:\n <TASK>\n"
    " __schedule+0x2d6/0x8a0\n schedule+0x5b/0xd0\n schedule_timeout+0x11d/0x160\n"
    " wait_for_completion+0x8a/0x110\n kthread_stop+0x6a/0x180\n </TASK>",
]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(times: list[float]) -> dict:
    return {"n": len(times), "p50_ms": round(percentile(times, 50), 1),
            "p95_ms": round(percentile(times, 95), 1), "max_ms": round(max(times), 1)}


def codesift(*args: str) -> list[str]:
    return [sys.executable, "-m", "codesift", *args]


def run_child(cmd: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) and stdout of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed ({status}): {' '.join(cmd)}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024, out


def disk_mb(index_dir: Path) -> float:
    return sum(p.stat().st_size for p in index_dir.rglob("*") if p.is_file()) / 1e6


def status(tree: Path) -> dict:
    return json.loads(run_child(codesift("status", "--repo", str(tree), "--json"))[2])


def index_phase(tree: Path, cold: bool, dense: bool) -> dict:
    out = {}
    if cold:
        shutil.rmtree(tree / ".codesift", ignore_errors=True)
    seconds, rss, text = run_child(codesift("index", str(tree), "--no-dense", "--json"))
    info = status(tree)
    out["lexical"] = {"seconds": round(seconds, 1), "peak_rss_mb": round(rss),
                      "lines": info["lines"], "files": info["files"], "chunks": info["chunks"],
                      "lines_per_s": round(info["lines"] / seconds),
                      "disk_mb": round(disk_mb(tree / ".codesift")),
                      "graph": json.loads(text).get("graph"), "cold": cold}
    if dense:
        seconds, rss, text = run_child(codesift("index", str(tree), "--json"))
        info = status(tree)
        out["dense"] = {"seconds": round(seconds, 1), "peak_rss_mb": round(rss),
                        "vectors": info["vectors"], "embedded_now": json.loads(text)["vectors_embedded"],
                        "waiting": info["chunks_without_vector"],
                        "disk_mb": round(disk_mb(tree / ".codesift"))}
    return out


def queries_child(tree: Path, graph_n: int, seed: int) -> dict:
    """Run in a child process (--phase-child): its peak RSS is the serving figure."""
    import resource

    import codesift
    from bench_queries import run_passes

    idx = codesift.open_index(tree)
    t0 = time.perf_counter()  # loads the query model and the vectors (builds their index
    idx.search(QUERIES[0], k=10)  # when no sidecar is fresh: HNSW above 100k vectors)
    first_s = time.perf_counter() - t0
    passes = run_passes(idx, QUERIES, 2)
    out = {"first_search_s": round(first_s, 2), "pass1": summary(passes[0]),
           "pass2": summary(passes[1]), "dense": bool(idx.store().get_meta("embedder_id"))}
    db = idx.store().db
    names = [r[0] for r in db.execute(
        "SELECT DISTINCT s.name FROM symbols s WHERE s.kind = 'function' ORDER BY s.name")]
    chosen = random.Random(seed).sample(names, min(graph_n, len(names)))
    graph = idx.graph()
    times = []
    for name in chosen:
        t0 = time.perf_counter()
        graph.callers(graph.find(name), depth=3)
        times.append((time.perf_counter() - t0) * 1000)
    out["callers_depth3"] = summary(times)
    t0 = time.perf_counter()
    idx.repo_map(1024)
    out["map_s"] = round(time.perf_counter() - t0, 2)
    idx.close()
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


def queries_phase(tree: Path, graph_n: int, seed: int) -> dict:
    _, _, text = run_child([sys.executable, __file__, "--phase-child", str(tree),
                            "--graph-n", str(graph_n), "--seed", str(seed)])
    return json.loads(text.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_phase(tree: Path) -> dict:
    import httpx

    home = Path(tempfile.mkdtemp(prefix="scale-home-"))
    env = {**os.environ, "CODESIFT_HOME": str(home)}
    subprocess.run(codesift("repo", "add", "tree", str(tree), "--no-index", "--home", str(home)),
                   env=env, check=True, capture_output=True)
    port = free_port()
    # No rate limit: the bench's one client asks faster than the default 20 requests/s.
    server = subprocess.Popen(codesift("serve", "--no-auth", "--rate-limit", "0", "--port",
                                       str(port), "--home", str(home), "--log-level", "warning"),
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        with httpx.Client(base_url=url, timeout=120) as client:
            client.post("/repos/tree/search", json={"query": QUERIES[0]})  # opens the index
            passes = []
            for _ in range(2):
                times = []
                for query in QUERIES:
                    t0 = time.perf_counter()
                    reply = client.post("/repos/tree/search", json={"query": query, "k": 10})
                    times.append((time.perf_counter() - t0) * 1000)
                    reply.raise_for_status()
                passes.append(summary(times))
        hwm = next(line for line in Path(f"/proc/{server.pid}/status").read_text().splitlines()
                   if line.startswith("VmHWM"))
        return {"pass1": passes[0], "pass2": passes[1],
                "server_peak_rss_mb": round(int(hwm.split()[1]) / 1024)}
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
        shutil.rmtree(home, ignore_errors=True)


def watch_phase(tree: Path, edits: int, seed: int) -> dict:
    """Each edit breaks the file's hard link first (the bench trees share inodes)."""
    import codesift
    from codesift.watch import Watcher

    candidates = sorted(p for p in (tree / "kernel").rglob("*.c") if p.stat().st_size > 4000)
    targets = random.Random(seed).sample(candidates, edits)
    # A lexical index stays lexical (a watcher with the default settings would embed it).
    watcher = Watcher(tree, dense=bool(status(tree)["embedder"])).start()
    if not watcher.ready.wait(900) or watcher.error:
        raise SystemExit(f"watcher did not start: {watcher.error}")
    reader = codesift.open_index(tree)
    reader.search("warm up", k=5)
    rows, originals = [], {}
    try:
        for i, path in enumerate(targets):
            original = path.read_bytes()
            originals[path] = original
            path.unlink()
            path.write_bytes(original)  # its own inode now, same content
            time.sleep(1.5)  # let the watcher see the rewrite as no change before timing
            name = f"scale_bench_probe_{seed}_{i}"
            started = time.time()
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(f"\nstatic int {name}(int x)\n{{\n\treturn x + {i};\n}}\n")
            found = None
            while time.time() - started < 120:
                if any(h.symbol.endswith(name) for h in reader.search(name, k=5)):
                    found = time.time() - started
                    break
                time.sleep(0.02)
            rows.append(found)
    finally:
        reader.close()
        watcher.stop()
        for path, original in originals.items():
            path.write_bytes(original)
    done = [r * 1000 for r in rows if r is not None]
    return {"edits": len(rows), "found": len(done), **(summary(done) if done else {})}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tree", action="append", default=[], metavar="NAME=PATH")
    p.add_argument("--phases", default="index,queries,http,watch")
    p.add_argument("--cold", action="store_true", help="delete each tree's index first")
    p.add_argument("--dense", action="store_true", help="also embed (resumable)")
    p.add_argument("--graph-n", type=int, default=50)
    p.add_argument("--edits", type=int, default=5)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out")
    p.add_argument("--phase-child", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.phase_child:
        print(json.dumps(queries_child(args.phase_child, args.graph_n, args.seed)))
        return 0
    phases = set(args.phases.split(","))
    results: dict = {"benchmark": "scale", "environment": _common.environment(), "trees": {}}
    for spec in args.tree:
        name, _, path = spec.partition("=")
        tree = Path(path)
        row: dict = {"path": str(tree)}
        if "index" in phases:
            row["index"] = index_phase(tree, args.cold, args.dense)
            print(f"[{name}] index {row['index']}", file=sys.stderr, flush=True)
        if "queries" in phases:
            row["queries"] = queries_phase(tree, args.graph_n, args.seed)
            print(f"[{name}] queries {row['queries']}", file=sys.stderr, flush=True)
        if "http" in phases:
            row["http"] = http_phase(tree)
            print(f"[{name}] http {row['http']}", file=sys.stderr, flush=True)
        if "watch" in phases:
            row["watch"] = watch_phase(tree, args.edits, args.seed)
            print(f"[{name}] watch {row['watch']}", file=sys.stderr, flush=True)
        results["trees"][name] = row
        if args.out:
            write_json(args.out, results)
    print(json.dumps(results["trees"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
