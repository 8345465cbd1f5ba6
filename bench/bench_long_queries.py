"""Long pasted queries: one bug report (a title, a paragraph, a CI log, the traceback at its
end) cut to several sizes, searched in-process and warm on an index that already exists.

    cd /work/main && .venv/bin/python bench/bench_long_queries.py --repo CORPUS \
        --index-dir INDEX_DIR [--sizes 2000,25000,100000,1000000] [--runs 15] [--out r.json]

The defaults describe a report against rich 14.3.3 (a history-set corpus): pass --title,
--para, --frame (innermost last) and --error for another. Sizes are searched round-robin,
one query of each per round, so a change in the machine's load reaches every size alike;
the load average is printed before and after. Each size reports the query's analysis alone
(condensing included) and the whole search, and whether the top hit is in the innermost
frame's file.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import _common  # noqa: F401  (sets the import path)
from _common import write_json

TITLE = "Progress bar raises ZeroDivisionError when a task's total is 0"
PARA = ("Our exporter adds a task with total=0 when a table is empty. Rendering the progress "
        "then fails with ZeroDivisionError in the bar's percentage instead of showing an "
        "empty bar. rich 14.3.3, Python 3.12 on Linux; the CI log of the failing run is below.")
FRAMES = ("/srv/export/run.py:41:main",
          "/srv/export/.venv/lib/python3.12/site-packages/rich/progress.py:1550:refresh",
          "/srv/export/.venv/lib/python3.12/site-packages/rich/progress_bar.py:65:"
          "percentage_completed")
ERROR = "ZeroDivisionError: float division by zero"


def issue(chars: int, title: str, para: str, frames: list[str], error: str) -> str:
    """The report cut to `chars` characters: its log fills what the opening and the
    traceback leave, so the traceback is always at the end (as pasted logs end)."""
    opening = f"{title}\n\n{para}\n\n```\n"
    trace = ["Traceback (most recent call last):"]
    for frame in frames:
        path, line, function = frame.rsplit(":", 2)
        trace += [f'  File "{path}", line {line}, in {function}', "    ..."]
    ending = "\n".join([*trace, error, "```", ""])
    room = chars - len(opening) - len(ending)
    if room < 0:  # too short for all of it: the opening and as much of the log as fits
        return (opening + _log(chars))[:chars]
    return opening + _log(room) + ending


def _log(chars: int) -> str:
    """A CI log: timestamped lines that differ in their numbers, progress bars, a dump."""
    lines, size, n = [], 0, 0
    while True:
        n += 1
        if n % 7 == 0:
            line = f"Downloading wheels {n % 100:3d}% [{'#' * (n % 40):<40}] {n * 13 % 997} kB/s"
        elif n % 11 == 0:
            line = " ".join(f"{(n * k * 2654435761) % 2**32:08x}" for k in range(1, 9))
        else:
            line = (f"2024-05-01T12:{n // 60 % 60:02d}:{n % 60:02d}.{n * 7 % 1000:03d}Z INFO "
                    f"exporter[{n % 8}] wrote batch {n} ({n * 37 % 5000} rows) in {n * 7 % 900} ms")
        if size + len(line) + 1 > chars:
            break
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines) + "\n" * (chars - size + 1) if lines else "\n" * chars


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repo", required=True, type=Path, help="the indexed repository")
    p.add_argument("--index-dir", type=Path, default=None)
    p.add_argument("--sizes", default="2000,25000,100000,1000000",
                   help="comma-separated query lengths in characters")
    p.add_argument("--runs", type=int, default=15, help="timed searches per size")
    p.add_argument("--lexical", action="store_true", help="dense retrieval off")
    p.add_argument("--title", default=TITLE)
    p.add_argument("--para", default=PARA)
    p.add_argument("--frame", action="append", metavar="PATH:LINE:FUNCTION",
                   help="a traceback frame, outermost first (repeatable)")
    p.add_argument("--error", default=ERROR)
    p.add_argument("--out", help="write the timings as JSON here")
    args = p.parse_args()

    import codesift
    from codesift.retrieve.query import analyse

    frames = args.frame or list(FRAMES)
    sizes = [int(s) for s in args.sizes.split(",")]
    texts = {n: issue(n, args.title, args.para, frames, args.error) for n in sizes}
    inner = frames[-1].rsplit(":", 2)[0]
    load_before = os.getloadavg()
    idx = codesift.open_index(str(args.repo), index_dir=str(args.index_dir) if args.index_dir
                              else None, dense=False if args.lexical else None)
    search_ms: dict[int, list[float]] = {n: [] for n in sizes}
    analyse_ms: dict[int, list[float]] = {n: [] for n in sizes}
    tops: dict[int, list] = {}
    with idx:
        for n in sizes:  # warm-up: vectors, the query model, the store's caches
            tops[n] = idx.search(texts[n], k=10)
        for _ in range(args.runs):
            for n in sizes:
                t0 = time.perf_counter()
                analyse(texts[n], max_chars=idx.settings.max_query_chars)
                t1 = time.perf_counter()
                idx.search(texts[n], k=10)
                t2 = time.perf_counter()
                analyse_ms[n].append((t1 - t0) * 1000)
                search_ms[n].append((t2 - t1) * 1000)
    load_after = os.getloadavg()

    print(f"load average before {load_before[0]:.2f} {load_before[1]:.2f}, after "
          f"{load_after[0]:.2f} {load_after[1]:.2f} ({os.cpu_count()} CPUs)")
    print("\n| query chars | analyse p50 ms | search p50 ms | search p95 ms | search min ms "
          "| top hit | innermost frame's file first |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    for n in sizes:
        s, a = sorted(search_ms[n]), sorted(analyse_ms[n])
        p95 = s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))]
        top = tops[n][0] if tops[n] else None
        first = bool(top) and inner.endswith(top.path)
        label = f"{top.path}:{top.start_line} {top.symbol}" if top else "-"
        print(f"| {len(texts[n]):,} | {statistics.median(a):.2f} | {statistics.median(s):.1f} "
              f"| {p95:.1f} | {s[0]:.1f} | `{label}` | {'yes' if first else 'no'} |")
        rows.append({"chars": len(texts[n]), "analyse_ms": a, "search_ms": s, "top": label,
                     "frame_file_first": first})
    write_json(args.out, {"benchmark": "long_queries", "environment": _common.environment(),
                          "load_before": load_before, "load_after": load_after, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
