"""Query latency alone, on an index that already exists: passes over bench_speed's 50 stdlib
queries (or bench_vs_llamaindex's 30 click queries), optionally with the index cold.

    cd /work/main && .venv/bin/python bench/bench_queries.py --repo STDLIB_COPY \
        --index-dir INDEX_DIR [--queries stdlib|click] [--cold] [--lexical] [--out r.json]

--cold drops the index files from the OS page cache first (posix_fadvise DONTNEED): what
bench_speed's first pass meets after its long dense build, because this machine pages out
file pages left idle for ~30 s (DAMON). To compare two source trees back to back, run it
twice with PYTHONPATH=/other/checkout/src.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import _common  # noqa: F401  (sets the import path)
from _common import drop_from_page_cache, write_json


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)  # the same rank rule as bench_speed.py
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def load_queries(name: str, path: Path | None = None) -> list[str]:
    if path is not None:  # JSON lines with a "query" field (the history set's files)
        return [json.loads(line)["query"] for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip()]
    if name == "click":
        from bench_vs_llamaindex import CLICK_QUERIES
        return CLICK_QUERIES
    from bench_speed import QUERIES
    return QUERIES


def run_passes(idx, queries: list[str], passes: int) -> list[list[float]]:
    idx.search(queries[0])  # warm-up: loads the vectors and the query model
    out = []
    for _ in range(passes):
        times = []
        for query in queries:
            started = time.perf_counter()
            idx.search(query, k=10)
            times.append((time.perf_counter() - started) * 1000)
        out.append(times)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", required=True, help="the indexed repository")
    parser.add_argument("--index-dir", required=True, type=Path)
    parser.add_argument("--queries", choices=("stdlib", "click"), default="stdlib")
    parser.add_argument("--queries-file", type=Path, default=None,
                        help="JSON lines whose \"query\" fields are the queries instead "
                             "(e.g. ../shared/eval/history/attrs-26.1.0.jsonl: whole commit messages)")
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--cold", action="store_true", help="drop the index from the page cache first")
    parser.add_argument("--lexical", action="store_true", help="dense retrieval off")
    parser.add_argument("--out", help="write the timings as JSON here")
    args = parser.parse_args()
    import codesift

    if args.cold:
        drop_from_page_cache(args.index_dir.glob("index.db*"))
    queries = load_queries(args.queries, args.queries_file)
    with codesift.open_index(args.repo, index_dir=str(args.index_dir), dense=not args.lexical) as idx:
        passes = run_passes(idx, queries, args.passes)
    label = args.queries_file.name if args.queries_file else args.queries
    print(f"codesift from {Path(codesift.__file__).parent}, {len(queries)} {label} queries"
          f"{', cold' if args.cold else ''}{', lexical' if args.lexical else ', hybrid'}", file=sys.stderr)
    for n, times in enumerate(passes, start=1):
        print(f"pass {n}: p50 {percentile(times, 50):.1f} ms, p95 {percentile(times, 95):.1f} ms, "
              f"mean {statistics.mean(times):.1f} ms")
    write_json(args.out, {"args": vars(args), "passes_ms": passes})


if __name__ == "__main__":
    main()
