"""Index and query speed with a tuned encoder against the default one (issue 16: same
architecture, so the query p95 ratio should stay within 1.10). Both are measured in the same
run on the same repository, each query on both indexes in turn, warm (one pass first).

    python bench/bench_tuned_speed.py --repo PATH --tuned local:/work/cache/code-model \\
        [--queries FILE.jsonl] [--passes 3]

Queries: a history-set JSONL (its "query" field), default the rich package's."""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, write_json

import codesift

DEFAULT_QUERIES = ROOT.parent / "shared" / "eval" / "history" / "rich-14.3.3.jsonl"


def load_queries(path: Path, most: int = 60) -> list[str]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line)["query"] for line in fh if line.strip()][:most]


def index(repo: Path, spec: str, where: Path) -> tuple[object, float]:
    idx = codesift.open_index(str(repo), index_dir=str(where), embedder=spec)
    started = time.perf_counter()
    idx.update()
    return idx, time.perf_counter() - started


def latencies(indexes: dict, queries: list[str], passes: int) -> dict[str, list[float]]:
    """Each query on every index in turn (interleaved, so a busy moment of the machine
    falls on both alike), after one warm pass."""
    out: dict[str, list[float]] = {name: [] for name in indexes}
    for n in range(passes + 1):
        for q in queries:
            for name, idx in indexes.items():
                started = time.perf_counter()
                idx.search(q, k=10)
                if n:  # the first pass warms: model loaded, vectors cached
                    out[name].append((time.perf_counter() - started) * 1000)
    return out


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", type=Path, required=True)
    ap.add_argument("--default", default="local")
    ap.add_argument("--tuned", required=True)
    ap.add_argument("--queries", type=Path, default=DEFAULT_QUERIES)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--out")
    args = ap.parse_args()
    queries = load_queries(args.queries)
    work = Path(tempfile.mkdtemp(prefix="tuned-speed-"))
    rows, indexes = {}, {}
    try:
        for name, spec in (("default", args.default), ("tuned", args.tuned)):
            indexes[name], secs = index(args.repo, spec, work / name)
            rows[name] = {"spec": spec, "index_s": round(secs, 2),
                          "chunks": indexes[name].status().get("chunks")}
        for name, ms in latencies(indexes, queries, args.passes).items():
            rows[name].update(p50_ms=round(statistics.median(ms), 2), p95_ms=round(p95(ms), 2))
            print(f"{name:8} index {rows[name]['index_s']:7.1f} s  p50 {rows[name]['p50_ms']:6.1f} ms  "
                  f"p95 {rows[name]['p95_ms']:6.1f} ms  ({rows[name]['spec']})", flush=True)
    finally:
        for idx in indexes.values():
            idx.close()
        shutil.rmtree(work, ignore_errors=True)
    ratio = {k: round(rows["tuned"][k] / rows["default"][k], 3) for k in ("index_s", "p50_ms", "p95_ms")}
    print(f"tuned / default: index {ratio['index_s']}  p50 {ratio['p50_ms']}  p95 {ratio['p95_ms']}")
    write_json(args.out, {"rows": rows, "ratio": ratio, "queries": len(queries)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
