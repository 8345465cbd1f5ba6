"""Retrieval quality on the history set: codesift vs BM25-file and BM25-chunk, same run.

Fetches each pinned corpus (bench/.cache), builds every system's index, asks each query's
top 10 and scores them by ../shared/eval/history/README.md. Latency is in-process and warm
(process start-up and model load excluded; the first query is a warm-up and not timed).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

import _common  # noqa: F401  (sets the import path)
from _common import hit_dict, history_packages, parse_opts, parse_variants, split_settings, timed, write_json

from codesift.evaluate import baselines, datasets, metrics, report

BASELINES = ("bm25-file", "bm25-chunk")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--packages", default="all",
                   help="comma-separated subset of: " + ",".join(datasets.history_packages()))
    p.add_argument("--systems", default="codesift,bm25-file,bm25-chunk",
                   help="comma-separated: codesift, bm25-file, bm25-chunk (default: all three)")
    p.add_argument("--no-dense", action="store_true", help="build codesift without vectors")
    p.add_argument("--embedder", default="local", help="codesift embedder (default: local)")
    p.add_argument("--open-opt", action="append", metavar="KEY=VALUE",
                   help="extra keyword argument to codesift.open_index (repeatable)")
    p.add_argument("--search-opt", action="append", metavar="KEY=VALUE",
                   help="extra keyword argument to Index.search for the main codesift run (repeatable)")
    p.add_argument("--variant", action="append", metavar="NAME:KEY=VALUE[,KEY=VALUE]",
                   help="also run codesift with these search keyword arguments or Settings fields "
                        "(e.g. graph_expand=0.3), on the same index (repeatable); shown as codesift[NAME]")
    p.add_argument("--reuse-index", action="store_true",
                   help="keep an existing codesift index (index s then measures an incremental update)")
    p.add_argument("--subject", action="store_true",
                   help="also run codesift with each query cut to its first line (the commit "
                        "subject), on the same index; shown as codesift[subject]")
    p.add_argument("--cache-dir", type=Path, default=None, help="default: bench/.cache")
    p.add_argument("--index-dir", type=Path, default=None,
                   help="where codesift's indexes go (default: CACHE_DIR/index); a cache shared "
                        "with other runs keeps its downloads, each run its own indexes")
    p.add_argument("--k", type=int, default=10, help=argparse.SUPPRESS)
    p.add_argument("--out", help="write all results (rows and per-query hits) as JSON here")
    return p


def run_queries(search, queries, k: int) -> tuple[list[metrics.QueryScore], list[dict]]:
    scores, details = [], []
    if queries:
        search(queries[0].query, k)  # warm-up: caches, lazy model load
    for q in queries:
        hits, ms = timed(search, q.query, k)
        hits = list(hits)[:k]
        scores.append(metrics.score_history_query(q.id, hits, q.gold_files, q.gold_symbols, ms))
        details.append({"id": q.id, "ms": round(ms, 3), "hits": [hit_dict(h) for h in hits]})
    return scores, details


def _subject(message: str) -> str:
    """A commit message's first non-blank line."""
    return next((line for line in message.strip().splitlines() if line.strip()), message)


def open_codesift(root: Path, index_dir: Path, args, open_opts: dict):
    import codesift

    if index_dir.exists() and not args.reuse_index:
        shutil.rmtree(index_dir)
    t0 = time.perf_counter()
    idx = codesift.open_index(str(root), index_dir=str(index_dir), dense=not args.no_dense,
                              embedder=args.embedder, **open_opts)
    summary = idx.update()
    return idx, time.perf_counter() - t0, summary


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    packages = history_packages(args.packages)
    if packages is None:
        return 2
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    open_opts, search_opts = parse_opts(args.open_opt), parse_opts(args.search_opt)
    variants = parse_variants(args.variant)
    cache = args.cache_dir or datasets.default_cache_dir()

    names: list[str] = []
    if "codesift" in systems:
        names.append("codesift")
        names += [f"codesift[{v}]" for v in variants]
        names += ["codesift[subject]"] if args.subject else []
    names += [b for b in BASELINES if b in systems]
    per_system = {n: {} for n in names}
    index_s = {n: {} for n in names}
    details = {n: {} for n in names}
    summaries = {}

    for pkg in packages:
        corpus = datasets.HISTORY_CORPORA[pkg]
        root = datasets.fetch_history_corpus(pkg, cache_dir=cache)
        queries = datasets.load_history(pkg)
        label = corpus.name
        print(f"[{label}] {len(queries)} queries", file=sys.stderr, flush=True)
        if "codesift" in systems:
            suffix = "-nodense" if args.no_dense else ""
            index_root = args.index_dir or cache / "index"
            idx, secs, summary = open_codesift(root, index_root / f"{label}{suffix}", args, open_opts)
            summaries[label] = str(summary)
            try:
                runs = {"codesift": search_opts, **{f"codesift[{v}]": {**search_opts, **o}
                                                     for v, o in variants.items()}}
                base_settings = idx.settings
                for name, opts in runs.items():
                    # Keys naming a Settings field (graph_expand=0.3) change the settings for
                    # this run; the others are Index.search keyword arguments.
                    tuned, kwargs = split_settings(opts)
                    idx.settings = base_settings.with_overrides(**tuned)

                    def search(q, k, _opts=kwargs):
                        return idx.search(q, k=k, **_opts)
                    per_system[name][label], details[name][label] = run_queries(search, queries, args.k)
                    index_s[name][label] = secs
                idx.settings = base_settings
                if args.subject:
                    # The same queries, each cut to its first line: what a full message adds
                    # over its subject, on the same index in the same run.
                    subjects = [replace(q, query=_subject(q.query)) for q in queries]
                    per_system["codesift[subject]"][label], details["codesift[subject]"][label] = \
                        run_queries(lambda q, k: idx.search(q, k=k, **search_opts), subjects, args.k)
                    index_s["codesift[subject]"][label] = secs
            finally:
                idx.close()
        for name in BASELINES:
            if name not in systems:
                continue
            build = baselines.bm25_file if name == "bm25-file" else baselines.bm25_chunk
            t0 = time.perf_counter()
            bm = build(root)
            index_s[name][label] = time.perf_counter() - t0
            per_system[name][label], details[name][label] = run_queries(bm.search, queries, args.k)

    rows = {n: metrics.summarize_packages(per_system[n], index_s[n]) for n in names}
    print("\nLatency: in-process, warm (no process start-up, model already loaded); "
          "index s: fresh build" + (" / incremental" if args.reuse_index else "") + ".")
    for name in names:
        print(f"\n### {name}\n")
        print(report.history_table(rows[name]))
    if "codesift" in names and any(b in names for b in BASELINES):
        print("\n### wins (codesift vs baselines; F@1, MRR, S!@10)\n")
        for label in [*per_system["codesift"], "micro", "macro"]:
            base = {b.removeprefix("bm25-"): rows[b][label] for b in BASELINES if b in rows}
            print(report.wins_line(label, rows["codesift"][label], base))

    write_json(args.out, {
        "benchmark": "history",
        "environment": _common.environment(),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "index_summaries": summaries,
        "rows": rows,
        "queries": {n: {pkg: [dict(zip(("id", "F@1", "F@5", "F@10", "MRR", "S!@10", "S@10", "ms"),
                                       (s.query_id, s.f1, s.f5, s.f10, s.mrr, s.s_strict, s.s_lenient,
                                        s.latency_ms))) | {"hits": d["hits"]}
                              for s, d in zip(per_system[n][pkg], details[n][pkg])]
                        for pkg in per_system[n]} for n in names},
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
