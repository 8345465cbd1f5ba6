"""File kinds on a real tree: how many files of each kind, how long classifying takes, and
what some bug reports find (docs/benchmarks.md, "File kinds").

    bench/bench_kinds.py --repo PATH                       # counts, timing
    bench/bench_kinds.py --repo PATH --list vendored,locale
    bench/bench_kinds.py --repo PATH --index-dir DIR --queries reports.txt --out hits.json

With --queries (one report a line) the repository is indexed into DIR (default settings) and
each report's top 10 is printed and saved. Run it with an older codesift on PYTHONPATH to get
the "before" hits: the classification part then is skipped (that code has no kinds).
"""

from __future__ import annotations

import argparse
import collections
import json
import time
from pathlib import Path

import codesift
from codesift.ingest.discover import discover


def classify_tree(root: Path, listed: set[str]) -> dict:
    from codesift.ingest.kinds import HEAD_BYTES, classify, linguist
    files = discover(root).files
    heads = {}
    for f in files:
        with open(f.abspath, "rb") as fh:
            heads[f.path] = fh.read(HEAD_BYTES)
    # Twice: the first pass also pays go-enry's one-time regex compilation (~60 ms).
    for run in ("first", "second"):
        by_kind: dict[str, list[str]] = collections.defaultdict(list)
        started = time.perf_counter()
        for f in files:
            by_kind[classify(f.path, f.language, heads[f.path])].append(f.path)
        seconds = time.perf_counter() - started
        print(f"{len(files)} files classified in {seconds:.3f} s, {run} pass "
              f"({seconds / max(len(files), 1) * 1e6:.0f} us a file; enry: {linguist() is not None})")
    for kind, paths in sorted(by_kind.items(), key=lambda kv: -len(kv[1])):
        print(f"  {kind:10s} {len(paths):6d}")
        if kind in listed:
            print("".join(f"      {p}\n" for p in paths), end="")
    return {kind: len(paths) for kind, paths in by_kind.items()}


def ask(root: Path, index_dir: str, reports: list[str]) -> dict:
    with codesift.open_index(root, index_dir=index_dir) as idx:
        idx.update()
        found = {q: [h.to_dict() for h in idx.search(q, k=10)] for q in reports}
    for q, hits in found.items():
        print(f"\n## {q}")
        for rank, h in enumerate(hits, start=1):
            print(f"  {rank:2d}. {h.get('file_kind', '?'):9s} {h['path']}:{h['start_line']}")
    return found


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repo", type=Path, required=True)
    p.add_argument("--list", default="", help="comma-separated kinds whose paths to print")
    p.add_argument("--index-dir", help="index here and run --queries")
    p.add_argument("--queries", type=Path, help="bug reports, one a line")
    p.add_argument("--out", type=Path, help="write counts and hits as JSON here")
    args = p.parse_args()
    result: dict = {}
    try:
        result["kinds"] = classify_tree(args.repo, set(filter(None, args.list.split(","))))
    except ImportError:
        print("this codesift has no file kinds: classification skipped")
    if args.queries:
        reports = [ln.strip() for ln in args.queries.read_text().splitlines() if ln.strip()]
        result["hits"] = ask(args.repo, args.index_dir or str(args.repo / ".codesift"), reports)
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
