"""Parse speed: raw tree-sitter `Parser.parse` vs `parse_source` on the CPython stdlib.

    cd /work/main && .venv/bin/python bench/bench_parse.py [--root DIR] [--rounds 3] [--json out.json]

Every .py file under --root (default: this interpreter's stdlib, site-packages skipped) is
read into memory first, so the timings are parsing only. Each file is parsed raw (encode +
`Parser.parse`, the floor parse_source cannot beat) and then by `parse_source`, --rounds
times interleaved, and the best time per file is kept: on a busy machine that drops the
rounds another process interrupted. The figure to compare across runs and machines is the
ratio raw / parse_source (1.0 would mean parse_source costs nothing over the raw parse).
"""

from __future__ import annotations

import argparse
import os
import sys
import sysconfig
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import environment, write_json  # noqa: E402

from codesift.ingest.languages import load_grammar  # noqa: E402
from codesift.ingest.parse import parse_source  # noqa: E402


def load_corpus(root: Path) -> list[tuple[str, str]]:
    """(repo-relative path, text) of every decodable .py file under root, in a stable order."""
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in ("site-packages", "__pycache__"))
        for name in sorted(filenames):
            if not name.endswith(".py"):
                continue
            path = Path(dirpath) / name
            try:
                text = path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            files.append((path.relative_to(root).as_posix(), text))
    return files


def best_times(files: list[tuple[str, str]], rounds: int) -> tuple[float, float]:
    """Seconds for raw parsing and for parse_source over all files, best round per file."""
    grammar = load_grammar("python")
    clock = time.perf_counter
    raw_total = full_total = 0.0
    for path, text in files:
        raw = full = float("inf")
        for _ in range(rounds):
            start = clock()
            grammar.parser().parse(text.encode("utf-8"))
            middle = clock()
            parse_source(path, text, "python")
            end = clock()
            raw, full = min(raw, middle - start), min(full, end - middle)
        raw_total += raw
        full_total += full
    return raw_total, full_total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", type=Path, default=Path(sysconfig.get_paths()["stdlib"]))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", help="also write the results to this JSON file")
    args = ap.parse_args()

    files = load_corpus(args.root)
    lines = sum(text.count("\n") + 1 for _, text in files)
    print(f"{len(files):,} files, {lines:,} lines under {args.root}")
    best_times(files[:50], 1)  # warm up: grammar, query, imports
    raw, full = best_times(files, args.rounds)
    ratio = raw / full
    print(f"raw tree-sitter parse  {lines / raw:>10,.0f} lines/s  ({raw:.2f} s)")
    print(f"parse_source           {lines / full:>10,.0f} lines/s  ({full:.2f} s)")
    print(f"ratio                  {ratio:.3f} of raw (best of {args.rounds} per file)")
    write_json(args.json, {
        "bench": "parse", "files": len(files), "lines": lines, "rounds": args.rounds,
        "raw_lines_per_s": round(lines / raw), "parse_source_lines_per_s": round(lines / full),
        "ratio_to_raw": round(ratio, 4), "environment": environment(),
    })


if __name__ == "__main__":
    main()
