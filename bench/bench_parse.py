"""Parse speed: raw tree-sitter `Parser.parse` vs `parse_source` on the CPython stdlib.

    cd /work/main && .venv/bin/python bench/bench_parse.py [--root DIR] [--rounds 2] [--json out.json]

Every .py file under --root (default: this interpreter's stdlib, site-packages skipped) is
read into memory first, so the timings are parsing only. Each round times the raw parse
(encode + `Parser.parse`, the floor parse_source cannot beat) and then `parse_source` over
the same files; rounds alternate so background load hits both. Times are CPU seconds of this
process (`time.process_time`), the best round of each is kept, and the figure to compare
across runs and machines is the ratio parse_source / raw, not the absolute lines/s.
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


def time_raw(files: list[tuple[str, str]]) -> float:
    grammar = load_grammar("python")
    start = time.process_time()
    for _, text in files:
        grammar.parser().parse(text.encode("utf-8"))
    return time.process_time() - start


def time_parse_source(files: list[tuple[str, str]]) -> float:
    start = time.process_time()
    for path, text in files:
        parse_source(path, text, "python")
    return time.process_time() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", type=Path, default=Path(sysconfig.get_paths()["stdlib"]))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json", help="also write the results to this JSON file")
    args = ap.parse_args()

    files = load_corpus(args.root)
    lines = sum(text.count("\n") + 1 for _, text in files)
    print(f"{len(files):,} files, {lines:,} lines under {args.root}")
    time_raw(files[:50]), time_parse_source(files[:50])  # warm up: grammar, query, imports
    raw, full = [], []
    for i in range(args.rounds):
        raw.append(time_raw(files))
        full.append(time_parse_source(files))
        print(f"round {i + 1}: raw {lines / raw[-1]:,.0f} lines/s, "
              f"parse_source {lines / full[-1]:,.0f} lines/s, ratio {raw[-1] / full[-1]:.3f}")
    best_raw, best_full = min(raw), min(full)
    ratio = best_raw / best_full
    print(f"best:    raw {lines / best_raw:,.0f} lines/s, "
          f"parse_source {lines / best_full:,.0f} lines/s, ratio {ratio:.3f} of raw")
    write_json(args.json, {
        "bench": "parse", "files": len(files), "lines": lines, "rounds": args.rounds,
        "raw_lines_per_s": round(lines / best_raw), "parse_source_lines_per_s": round(lines / best_full),
        "ratio_to_raw": round(ratio, 4), "environment": environment(),
    })


if __name__ == "__main__":
    main()
