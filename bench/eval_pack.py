"""Packing quality on the history set: the share of gold-symbol lines the packed context
shows at 1k/2k/4k/8k tokens, the usefulness packer vs whole top-k chunks in rank order, in
one run (same hits, same token counter). Also how far budget.py's estimate is from the real
tokenizer on the CPython stdlib.

For each query with gold symbols: one search (k = 30), then both packers at every budget.
A gold line is a non-blank line of a gold symbol's range in the released file; it is present
when the context shows it (not elided). Per package: the mean share over its queries; micro
pools all queries, macro averages the packages. Indexes are the ones eval_history.py builds
in bench/.cache/index (reused and brought up to date incrementally; built when missing).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import sysconfig
import time
from pathlib import Path

import _common  # noqa: F401  (sets the import path)
from _common import history_packages, write_json

from codesift.evaluate import datasets

PACKERS = ("useful", "naive")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--packages", default="all",
                   help="comma-separated subset of: " + ",".join(datasets.history_packages()))
    p.add_argument("--budgets", default="1000,2000,4000,8000", help="token budgets")
    p.add_argument("-k", type=int, default=30, help="hits retrieved once per query (default 30)")
    p.add_argument("--tokenizer", default="auto", help="token counter for both packers")
    p.add_argument("--no-callees", action="store_true", help="pack without callee signatures")
    p.add_argument("--cache-dir", type=Path, default=None, help="default: bench/.cache")
    p.add_argument("--estimate-files", type=int, default=400,
                   help="stdlib files sampled for the estimate's error (0: skip)")
    p.add_argument("--out", help="write rows and per-query shares as JSON here")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    packages = history_packages(args.packages)
    if packages is None:
        return 2
    budgets = [int(b) for b in args.budgets.split(",")]
    cache = args.cache_dir or datasets.default_cache_dir()
    per_query: dict[str, list[dict]] = {}
    for pkg in packages:
        per_query[datasets.HISTORY_CORPORA[pkg].name] = run_package(pkg, cache, budgets, args)
    rows = summarize(per_query, budgets)
    print(f"\nShare of gold-symbol lines present in the packed context (k={args.k}, "
          f"tokenizer {args.tokenizer}; useful / naive):\n")
    print(table(rows, budgets))
    estimate = measure_estimate(args.estimate_files) if args.estimate_files else {}
    if estimate:
        print("\nbudget.py's estimate vs real tokenizers on the stdlib "
              "(ratio estimate / real, per file):\n")
        print(estimate_table(estimate))
    write_json(args.out, {"benchmark": "pack", "environment": _common.environment(),
                          "args": {k: str(v) for k, v in vars(args).items()},
                          "rows": rows, "estimate": estimate, "queries": per_query})
    return 0


# ---------------------------------------------------------------- packing quality


def run_package(pkg: str, cache: Path, budgets: list[int], args) -> list[dict]:
    import codesift
    from codesift.pack import pack, pack_whole_chunks
    from codesift.tokenizer import make_tokenizer

    corpus = datasets.HISTORY_CORPORA[pkg]
    root = datasets.fetch_history_corpus(pkg, cache_dir=cache)
    queries = [q for q in datasets.load_history(pkg) if q.gold_symbols]
    idx = codesift.open_index(str(root), index_dir=str(cache / "index" / corpus.name))
    t0 = time.perf_counter()
    idx.update()  # incremental: builds a missing index, refreshes an outdated graph
    print(f"[{corpus.name}] {len(queries)} queries with gold symbols; index ready in "
          f"{time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    tokenizer = make_tokenizer(args.tokenizer)
    store = idx.store()
    graph = None if args.no_callees else idx.graph()
    lines = _FileLines(root)
    out = []
    try:
        for q in queries:
            hits = idx.search(q.query, k=args.k)
            gold = {(s.path, n) for s in q.gold_symbols
                    for n in range(s.start_line, s.end_line + 1) if lines.nonblank(s.path, n)}
            row: dict = {"id": q.id, "gold_lines": len(gold)}
            for budget in budgets:
                t1 = time.perf_counter()
                useful = pack(hits, budget, store=store, tokenizer=tokenizer, question=q.query,
                              root=root, graph=graph)
                ms = (time.perf_counter() - t1) * 1000
                naive = pack_whole_chunks(hits, budget, store=store, tokenizer=tokenizer,
                                          question=q.query)
                for name, ctx in (("useful", useful), ("naive", naive)):
                    assert ctx.tokens <= budget, (q.id, name, budget, ctx.tokens)
                    row[f"{name}@{budget}"] = share(ctx, gold)
                    row[f"{name}_tokens@{budget}"] = ctx.tokens
                row[f"useful_ms@{budget}"] = round(ms, 2)
            out.append(row)
    finally:
        idx.close()
    return out


def share(ctx, gold: set[tuple[str, int]]) -> float:
    if not gold:
        return 0.0
    shown = {(it.path, n) for it in ctx.items for a, b in it.why.kept for n in range(a, b + 1)}
    return len(gold & shown) / len(gold)


class _FileLines:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: dict[str, list[str]] = {}

    def nonblank(self, path: str, n: int) -> bool:
        if path not in self._files:
            text = (self.root / path).read_text(encoding="utf-8", errors="replace")
            self._files[path] = text.split("\n")
        lines = self._files[path]
        return 1 <= n <= len(lines) and bool(lines[n - 1].strip())


def summarize(per_query: dict[str, list[dict]], budgets: list[int]) -> dict[str, dict]:
    keys = [f"{p}@{b}" for b in budgets for p in PACKERS] + \
        [f"{p}_tokens@{b}" for b in budgets for p in PACKERS] + [f"useful_ms@{b}" for b in budgets]
    rows = {pkg: {k: statistics.fmean(r[k] for r in qs) for k in keys} | {"queries": len(qs)}
            for pkg, qs in per_query.items() if qs}
    pooled = [r for qs in per_query.values() for r in qs]
    rows["micro"] = {k: statistics.fmean(r[k] for r in pooled) for k in keys} | \
        {"queries": len(pooled)}
    packages = [v for k, v in rows.items() if k != "micro"]
    rows["macro"] = {k: statistics.fmean(v[k] for v in packages) for k in keys} | \
        {"queries": len(pooled)}
    return rows


def table(rows: dict[str, dict], budgets: list[int]) -> str:
    head = ["package", "queries", *(f"{b // 1000}k" if b % 1000 == 0 else str(b) for b in budgets)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, row in rows.items():
        cells = [f"{row[f'useful@{b}']:.3f} / {row[f'naive@{b}']:.3f}" for b in budgets]
        lines.append(f"| {name} | {row['queries']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------- the estimate's error


def measure_estimate(n_files: int) -> dict[str, dict]:
    from codesift.budget import count_tokens
    from codesift.tokenizer import make_tokenizer

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(stdlib.rglob("*.py"))
    step = max(1, len(files) // n_files)
    texts = []
    for path in files[::step][:n_files]:
        try:
            texts.append(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, OSError):
            continue
    out = {}
    for encoding in ("o200k_base", "cl100k_base"):
        count = make_tokenizer(f"tiktoken:{encoding}").count
        real = [count(t) for t in texts]
        est = [count_tokens(t) for t in texts]
        ratios = sorted(e / r for e, r in zip(est, real) if r)
        out[encoding] = {
            "files": len(ratios), "real_tokens": sum(real), "estimate_tokens": sum(est),
            "total_ratio": sum(est) / sum(real),
            "p5": ratios[len(ratios) // 20], "median": statistics.median(ratios),
            "p95": ratios[len(ratios) * 19 // 20],
            "files_under": sum(1 for r in ratios if r < 1) / len(ratios)}
    return out


def estimate_table(rows: dict[str, dict]) -> str:
    lines = ["| encoding | files | real tokens | estimate / real (total) | p5 | median | p95 |"
             " files under-estimated |", "|---|---|---|---|---|---|---|---|"]
    for enc, r in rows.items():
        lines.append(f"| {enc} | {r['files']} | {r['real_tokens']:,} | {r['total_ratio']:.3f} |"
                     f" {r['p5']:.3f} | {r['median']:.3f} | {r['p95']:.3f} |"
                     f" {r['files_under']:.1%} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
