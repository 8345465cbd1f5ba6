"""CoSQA dev (500 real web queries, 6,267 Python functions): codesift vs BM25, same run.

Each function is one file `<id>.py` (bench/.cache/corpora/cosqa); a query's rank is the
position of its one relevant function among the hits. Systems: codesift hybrid (dense on),
codesift lexical-only (dense=False, its own index) and the BM25 floor of shared/eval/README.md.
MRR is over the top --k hits (default 100; 1/rank, 0 when absent). Latency in-process, warm.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import _common  # noqa: F401  (sets the import path)
from _common import parse_opts, parse_variants, split_settings, timed, write_json

from codesift.evaluate import baselines, datasets, metrics, report

SYSTEMS = ("codesift", "codesift-lexical", "bm25")
PUBLISHED = "published zero-shot MRR on the CoSQA *test* split: UniXcoder 0.431, CodeT5+ 110M 0.396"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated subset of: " + ", ".join(SYSTEMS))
    p.add_argument("--k", type=int, default=100, help="hits asked per query (default 100)")
    p.add_argument("--limit", type=int, default=0, help="only the first N queries (quick iteration)")
    p.add_argument("--embedder", default="local")
    p.add_argument("--open-opt", action="append", metavar="KEY=VALUE", help="extra open_index keyword")
    p.add_argument("--search-opt", action="append", metavar="KEY=VALUE", help="extra Index.search keyword")
    p.add_argument("--variant", action="append", metavar="NAME:KEY=VALUE[,KEY=VALUE]",
                   help="also run the dense codesift index with these Settings fields or search "
                        "keywords (repeatable); shown as codesift[NAME]")
    p.add_argument("--reuse-index", action="store_true", help="keep existing codesift indexes")
    p.add_argument("--cache-dir", type=Path, default=None, help="default: bench/.cache")
    p.add_argument("--out", help="write results as JSON here")
    return p


def evaluate(search, queries, k: int) -> tuple[dict, list[dict]]:
    ranks, lat, rows = [], [], []
    if queries:
        search(queries[0].query, k)  # warm-up
    for q in queries:
        hits, ms = timed(search, q.query, k)
        ids = [datasets.cosqa_id_of(h.path) for h in hits]
        rank = metrics.cosqa_rank(ids, q.gold_id)
        ranks.append(rank)
        lat.append(ms)
        rows.append({"id": q.id, "gold": q.gold_id, "rank": rank, "top5": ids[:5], "ms": round(ms, 3)})
    out = metrics.cosqa_scores(ranks)
    out["p50 ms"], out["p95 ms"] = metrics.percentile(lat, 50), metrics.percentile(lat, 95)
    return out, rows


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    systems = [s for s in args.systems.split(",") if s]
    bad = [s for s in systems if s not in SYSTEMS]
    if bad:
        print(f"unknown system(s): {', '.join(bad)}", file=sys.stderr)
        return 2
    cache = args.cache_dir or datasets.default_cache_dir()
    corpus = datasets.write_cosqa_corpus(cache)
    queries = datasets.load_cosqa_queries()
    if args.limit:
        queries = queries[: args.limit]
    open_opts, search_opts = parse_opts(args.open_opt), parse_opts(args.search_opt)
    variants = parse_variants(args.variant)
    rows, details = {}, {}

    for name in systems:
        print(f"[{name}] indexing + {len(queries)} queries", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        if name == "bm25":
            code = datasets.load_cosqa_code()
            bm = baselines.bm25_over_texts([(f"{i}.py", c) for i, c in code.items()])
            secs = time.perf_counter() - t0
            rows[name], details[name] = evaluate(bm.search, queries, args.k)
        else:
            import codesift

            dense = name == "codesift"
            index_dir = cache / "index" / ("cosqa" if dense else "cosqa-nodense")
            if index_dir.exists() and not args.reuse_index:
                shutil.rmtree(index_dir)
            idx = codesift.open_index(str(corpus), index_dir=str(index_dir), dense=dense,
                                      embedder=args.embedder, **open_opts)
            try:
                idx.update()
                secs = time.perf_counter() - t0
                runs = {name: {}, **({f"{name}[{v}]": o for v, o in variants.items()}
                                     if dense else {})}
                base = idx.settings
                for label, opts in runs.items():
                    tuned, kwargs = split_settings(opts)
                    idx.settings = base.with_overrides(**tuned)
                    rows[label], details[label] = evaluate(
                        lambda q, k, _kw=kwargs: idx.search(q, k=k, **search_opts, **_kw),
                        queries, args.k)
                    rows[label]["index s"] = secs
            finally:
                idx.close()
            continue
        rows[name]["index s"] = secs

    print(f"\nCoSQA dev, {len(queries)} queries, 6,267 functions; k = {args.k}; "
          "latency in-process and warm.\n")
    print(report.markdown_table("system", rows, ("n", "MRR", "R@1", "R@5", "R@10",
                                                 "p50 ms", "p95 ms", "index s")))
    print("\nBM25 floor in shared/eval/README.md: MRR 0.333, R@1 0.236, R@5 0.440, R@10 0.522; "
          + PUBLISHED + ".")
    if "bm25" in rows:
        for name in (n for n in rows if n != "bm25"):
            ratios = ", ".join(f"{key} ×{rows[name][key] / rows['bm25'][key]:.2f}"
                               for key in ("MRR", "R@1", "R@10") if rows["bm25"][key])
            print(f"- {name} / bm25: {ratios}")
    write_json(args.out, {"benchmark": "cosqa", "environment": _common.environment(),
                          "args": {k: str(v) for k, v in vars(args).items()},
                          "rows": rows, "queries": details})
    return 0


if __name__ == "__main__":
    sys.exit(main())
