"""Speed and memory on the CPython standard library, beside ripgrep as the scan floor.

    cd /work/main && .venv/bin/python bench/bench_speed.py [--skip-dense] [--out results.json]

Measures, in one run on a private copy of the stdlib: cold index time lexical-only and with
dense (lines/s, peak RSS of the indexing process), an incremental re-index after changing
one file (end to end through the CLI, dense on), warm in-process query latency p50/p95 over
50 queries, the end-to-end time of one `codesift search` from a shell on the warm index
(process start-up included), and ripgrep's literal search of the same tree.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from _common import drop_from_page_cache

QUERIES = [
    "parse an HTTP header line", "read a json file into a dict", "compute the sha256 of a file",
    "create a temporary directory that is removed afterwards", "retry a failed connection",
    "format a datetime as ISO 8601", "split a path into directory and file name",
    "decode base64 data", "walk a directory tree recursively", "compare two version strings",
    "send an email over SMTP", "parse command line arguments with subcommands",
    "read a zip archive member", "spawn a subprocess and capture its output",
    "lock a file between processes", "escape html special characters", "URL-encode a query string",
    "pretty print nested data structures", "thread pool that runs callables", "gzip compress bytes",
    "JSONDecoder.raw_decode", "HTTPConnection.request", "shutil.copytree", "urlparse",
    "Thread.join", "Popen.communicate", "ArgumentParser.add_subparsers", "TarFile.extractall",
    "SSLContext.wrap_socket", "Logger.exception", "namedtuple", "lru_cache", "dataclass fields",
    "ZipFile.open", "EmailMessage.set_content", "Decimal.quantize", "Fraction.limit_denominator",
    "TypeError: Object of type set is not JSON serializable",
    "json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)",
    "ValueError: too many values to unpack (expected 2)",
    "FileNotFoundError: [Errno 2] No such file or directory",
    "ssl.SSLCertVerificationError certificate verify failed",
    "RecursionError: maximum recursion depth exceeded while calling a Python object",
    "asyncio event loop is closed", "how does the logging module find the caller's frame",
    "where does pickle handle protocol 5 out-of-band buffers",
    "how are environment variables expanded in paths", "heap queue push and pop",
    "binary search in a sorted list", "Traceback (most recent call last):\n  File \"json/decoder.py\", line 355, in raw_decode\n    obj, end = self.scan_once(s, idx)\nStopIteration: 0",
]


def run_timed(cmd: list[str], env: dict | None = None) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (KB) and stdout of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed ({status}): {' '.join(cmd)}")
    return elapsed, usage.ru_maxrss, out


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def codesift(*args: str) -> list[str]:
    return [sys.executable, "-m", "codesift", *args]


def cold_index(corpus: Path, index_dir: Path, dense: bool) -> dict:
    shutil.rmtree(index_dir, ignore_errors=True)
    flags = [] if dense else ["--no-dense"]
    seconds, rss, out = run_timed(codesift("index", str(corpus), "--index-dir", str(index_dir),
                                           "--json", *flags))
    summary = json.loads(out)
    return {"seconds": seconds, "peak_rss_mb": rss / 1024, "chunks": summary["chunks_written"],
            "vectors": summary["vectors_embedded"], "files": summary["files_indexed"]}


def indexed_lines(index_dir: Path) -> int:
    import sqlite3
    db = sqlite3.connect(index_dir / "index.db")
    return db.execute("SELECT SUM(n_lines) FROM files").fetchone()[0]


def incremental(corpus: Path, index_dir: Path, rounds: int = 5,
                cold_corpus: bool = False) -> list[float]:
    target = corpus / "json" / "decoder.py"
    original = target.read_text()
    times = []
    for i in range(rounds):
        if cold_corpus:  # the tree's files as an editor session after a while leaves them
            drop_from_page_cache(p for p in corpus.rglob("*") if p.is_file())
        target.write_text(original + f"\n\ndef bench_added_{i}(x):\n    return x * {i}\n")
        seconds, _, out = run_timed(codesift("index", str(corpus), "--index-dir", str(index_dir),
                                             "--json"))
        assert json.loads(out)["files_indexed"] == 1
        times.append(seconds)
    target.write_text(original)
    run_timed(codesift("index", str(corpus), "--index-dir", str(index_dir), "--json"))
    return times


def warm_queries(corpus: Path, index_dir: Path, dense: bool) -> list[list[float]]:
    """Two passes over the queries: the first meets each term for the first time (its
    document frequency is looked up and cached), the second is a long-lived server's case."""
    import codesift
    idx = codesift.open_index(corpus, index_dir=str(index_dir), dense=dense)
    from bench_queries import run_passes
    try:
        return run_passes(idx, QUERIES, 2)
    finally:
        idx.close()


def cli_search(corpus: Path, index_dir: Path, rounds: int = 10) -> tuple[list[float], float]:
    times, peak = [], 0
    for i in range(rounds):
        query = QUERIES[i % len(QUERIES)]
        seconds, rss, _ = run_timed(codesift("search", query, "--repo", str(corpus),
                                             "--index-dir", str(index_dir), "--json"))
        times.append(seconds * 1000)
        peak = max(peak, rss)
    return times, peak / 1024


def ripgrep(corpus: Path, rounds: int = 5) -> float | None:
    if not shutil.which("rg"):
        return None
    times = [run_timed(["rg", "-F", "-c", "def raw_decode", str(corpus)])[0] * 1000
             for _ in range(rounds)]
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=sysconfig.get_paths()["stdlib"])
    parser.add_argument("--skip-dense", action="store_true", help="lexical-only figures")
    parser.add_argument("--out", help="write the figures as JSON here")
    parser.add_argument("--incremental-only", metavar="INDEX_DIR",
                        help="only the incremental re-index figure, on --corpus already indexed "
                             "(dense) into INDEX_DIR; one file is edited and restored")
    parser.add_argument("--cold-corpus", action="store_true",
                        help="with --incremental-only: drop the corpus files (not the index) "
                             "from the page cache before each run")
    args = parser.parse_args()
    if args.incremental_only:
        times = incremental(Path(args.corpus), Path(args.incremental_only), rounds=10,
                            cold_corpus=args.cold_corpus)
        print(f"incremental re-index, 1 file changed, dense, CLI end to end"
              f"{', corpus cold' if args.cold_corpus else ''}: median "
              f"{statistics.median(times):.2f} s, max {max(times):.2f} s, {len(times)} runs "
              f"({', '.join(f'{t:.2f}' for t in times)})")
        return
    work = Path(tempfile.mkdtemp(prefix="codesift-speed-"))
    corpus = work / "stdlib"
    shutil.copytree(args.corpus, corpus, ignore=shutil.ignore_patterns("__pycache__", "site-packages"))
    results: dict = {"corpus": args.corpus}
    try:
        lex_dir, dense_dir = work / "idx-lexical", work / "idx-dense"
        results["index_lexical"] = cold_index(corpus, lex_dir, dense=False)
        lines = indexed_lines(lex_dir)
        results["lines"] = lines
        results["query_lexical_ms"] = warm_queries(corpus, lex_dir, dense=False)
        results["ripgrep_ms"] = ripgrep(corpus)
        if not args.skip_dense:
            results["index_dense"] = cold_index(corpus, dense_dir, dense=True)
            results["incremental_s"] = incremental(corpus, dense_dir)
            results["query_hybrid_ms"] = warm_queries(corpus, dense_dir, dense=True)
            results["cli_search_ms"], results["cli_search_rss_mb"] = cli_search(corpus, dense_dir)
        else:
            results["cli_search_ms"], results["cli_search_rss_mb"] = cli_search(corpus, lex_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(results)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))


def report(r: dict) -> None:
    lines = r["lines"]
    print(f"\ncorpus: {r['corpus']} ({lines:,} lines indexed)\n")
    print("| measure | value | note |\n|---|---|---|")
    lex = r["index_lexical"]
    print(f"| cold index, lexical only | {lex['seconds']:.1f} s = {lines / lex['seconds']:,.0f} lines/s "
          f"| {lex['chunks']:,} chunks, peak RSS {lex['peak_rss_mb']:.0f} MB |")
    if "index_dense" in r:
        d = r["index_dense"]
        print(f"| cold index, dense | {d['seconds']:.1f} s = {lines / d['seconds']:,.0f} lines/s "
              f"| {d['vectors']:,} vectors, peak RSS {d['peak_rss_mb']:.0f} MB |")
        inc = r["incremental_s"]
        print(f"| incremental re-index, 1 file changed, dense, CLI end to end | "
              f"median {statistics.median(inc):.2f} s, max {max(inc):.2f} s | {len(inc)} runs |")
    for key, label in (("query_lexical_ms", "warm query, lexical + symbol"),
                       ("query_hybrid_ms", "warm query, hybrid (dense on)")):
        for n, t in enumerate(r.get(key, ()), start=1):
            print(f"| {label}, pass {n} | p50 {percentile(t, 50):.1f} ms, p95 "
                  f"{percentile(t, 95):.1f} ms | {len(t)} queries, in-process |")
    cli = r["cli_search_ms"]
    print(f"| `codesift search` from a shell | p50 {percentile(cli, 50):.0f} ms, "
          f"p95 {percentile(cli, 95):.0f} ms | process start-up included, peak RSS "
          f"{r['cli_search_rss_mb']:.0f} MB |")
    if r.get("ripgrep_ms") is not None:
        print(f"| ripgrep literal search (scan floor) | {r['ripgrep_ms']:.0f} ms | "
              f"CLI search / rg = {percentile(cli, 50) / r['ripgrep_ms']:.1f}x |")


if __name__ == "__main__":
    main()
