"""Every repository in one search: quality and latency of a search over many indexes.

The pool: the 7 history-set packages and the multi-language repositories of
bench/devset_repos.toml (their clones at the pinned commits; the indexes eval_devsets.py
keeps, brought up to date here). Each history query is asked of every repository; a hit
counts only when it is in the query's own package. Printed, pooled over the 388 queries
against the per-repository search of the query's own package (the baseline, same run, same
indexes): file recall@1/@5/@10, MRR and strict symbol recall@10 for each way of merging the
per-index rankings (retrieve/federate.py MERGES). Then the latency of the whole search as
`codesift search --workspace` runs it (Workspace.search, one worker per core), over
--latency-queries queries, warm, merged by score and by relevance (which also asks each
index for its evidence).

    .venv/bin/python bench/bench_cross_repo.py --out cross.json
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tomllib
from dataclasses import replace
from pathlib import Path

import _common  # noqa: F401  (sets the import path)
from _common import write_json
from eval_devsets import LIST, clone_dir, head_of

from codesift.evaluate import datasets
from codesift.evaluate.compare import SystemRun, compare, comparison_dict
from codesift.evaluate.metrics import score_history_query
from codesift.retrieve.federate import MERGES, cori_beliefs, merge, repo_relevance
from codesift.workspace import Workspace, WorkspaceRepo

SHOWN = ("F@1", "F@5", "F@10", "MRR", "S!@10")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clones", type=Path, default=Path("/work/clones"))
    p.add_argument("--cache-dir", type=Path, default=None, help="default: bench/.cache")
    p.add_argument("--index-root", type=Path, default=None,
                   help="the indexes of eval_devsets.py (default: <cache-dir>/devsets)")
    p.add_argument("-k", type=int, default=10, help="hits asked of each repository and kept")
    p.add_argument("--latency-queries", type=int, default=100)
    p.add_argument("--resamples", type=int, default=2000)
    p.add_argument("--out", help="write the figures as JSON here")
    return p


def pool_repos(args, cache: Path) -> tuple[list[WorkspaceRepo], list[str]]:
    root = args.index_root or cache / "devsets"
    repos, missing = [], []
    for package in datasets.history_packages():
        name = datasets.HISTORY_CORPORA[package].name
        src = datasets.fetch_history_corpus(package, cache_dir=cache)
        repos.append(WorkspaceRepo(name, src, root / "history" / name))
    for entry in tomllib.loads(LIST.read_text(encoding="utf-8"))["repo"]:
        src = clone_dir(args.clones, entry["url"])
        if not src.is_dir() or head_of(src) != entry["commit"]:
            missing.append(entry["name"])
            continue
        repos.append(WorkspaceRepo(entry["name"], src, root / "repos" / entry["name"]))
    return repos, missing


def history_queries() -> list[tuple[str, object]]:
    return [(datasets.HISTORY_CORPORA[p].name, q) for p in datasets.history_packages()
            for q in datasets.load_history(p)]


def foreign(repo: str, hit):
    """A hit of another repository: never the query's gold, whatever its path."""
    return replace(hit, path=f"\x00{repo}/{hit.path}")


def selection_signals(found, evidence) -> dict[str, dict[str, float]]:
    """Each signal repo_relevance sums, alone, and the sum: which repository it puts first."""
    signals = {"CORI belief": cori_beliefs(evidence),
               "best cosine": {r: e.best_cosine or 0.0 for r, e in evidence.items()},
               "best score": {r: max((h.score for h in hits), default=0.0)
                              for r, hits in found.items()}}
    return {**signals, "relevance (the three)": repo_relevance(found, evidence)}


def quality(ws: Workspace, queries, k: int) -> tuple[dict[str, SystemRun], dict[str, float]]:
    """Each query asked of every index once; the merges are applied to the same rankings.
    Also how often each repository-relevance signal puts the query's own package first."""
    scores: dict[str, list] = {"per-repository": [], **{f"all:{m}": [] for m in MERGES}}
    firsts: dict[str, int] = {}
    for n, (own, q) in enumerate(queries, start=1):
        answers = {name: index.search_with_evidence(q.query, k=k)
                   for name, index in ws.indexes.items()}
        found = {name: hits for name, (hits, _) in answers.items()}
        evidence = {name: ev for name, (_, ev) in answers.items()}
        relevance = repo_relevance(found, evidence)
        for signal, values in selection_signals(found, evidence).items():
            firsts[signal] = firsts.get(signal, 0) + (max(values, key=values.get) == own)
        scores["per-repository"].append(
            score_history_query(q.id, found[own], q.gold_files, q.gold_symbols))
        for how in MERGES:
            hits = [h.hit if h.repo == own else foreign(h.repo, h.hit)
                    for h in merge(found, k, how, relevance)]
            scores[f"all:{how}"].append(score_history_query(q.id, hits, q.gold_files,
                                                            q.gold_symbols))
        if n % 50 == 0:
            print(f"  {n}/{len(queries)} queries", file=sys.stderr, flush=True)
    return ({name: SystemRun(name, tuple(s), (), float("nan")) for name, s in scores.items()},
            {signal: round(n / len(queries), 3) for signal, n in firsts.items()})


def latency(ws: Workspace, queries, k: int, n: int, how: str) -> dict:
    step = max(1, len(queries) // n)
    chosen = [q for _, q in queries[::step]][:n]
    ws.search(chosen[0].query, k=k, merge=how)  # warm: vectors and the query model loaded
    times, partial = [], 0
    for q in chosen:
        t0 = time.perf_counter()
        result = ws.search(q.query, k=k, merge=how)
        times.append((time.perf_counter() - t0) * 1000)
        partial += result.partial
    times.sort()
    return {"queries": len(times), "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
            "max_ms": round(times[-1], 1), "partial": partial}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cache = args.cache_dir or datasets.default_cache_dir()
    repos, missing = pool_repos(args, cache)
    if missing:
        print(f"not in the pool (no clone at the pinned commit): {', '.join(missing)}",
              file=sys.stderr)
    queries = history_queries()
    with Workspace(repos) as ws:
        t0 = time.perf_counter()
        lines = 0
        for name, index in ws.indexes.items():
            index.update()
            lines += index.status().get("lines", 0) or 0
        print(f"{len(ws.indexes)} repositories up to date in {time.perf_counter() - t0:.1f} s",
              file=sys.stderr, flush=True)
        runs, selection = quality(ws, queries, args.k)
        timing = {how: latency(ws, queries, args.k, args.latency_queries, how)
                  for how in ("score", "relevance")}
    base = runs["per-repository"]
    print(f"\n{len(queries)} history queries, {len(repos)} repositories searched at once\n")
    print("| search | " + " | ".join(SHOWN) + " | F@1 minus per-repository | F@5 minus per-repository |")
    print("|---|" + "---|" * (len(SHOWN) + 2))
    comparisons = {}
    for name, run in runs.items():
        c = comparisons[name] = compare([run, base] if run is not base else [run], main=name,
                                        resamples=args.resamples)
        row = c.rows[name]
        deltas = ["–", "–"] if run is base else [
            f"{c.deltas['per-repository'][m].diff:+.3f} [{c.deltas['per-repository'][m].low:+.3f}, "
            f"{c.deltas['per-repository'][m].high:+.3f}]" for m in ("F@1", "F@5")]
        print(f"| {name} | " + " | ".join(f"{row[m]:.3f}" for m in SHOWN) + " | "
              + " | ".join(deltas) + " |")
    print(f"\nthe query's own package first among {len(repos)} repositories, by signal: {selection}")
    for how, t in timing.items():
        print(f"latency of one search over all {len(repos)} (Workspace.search, merge {how}, "
              f"warm): {t}")
    if args.out:
        write_json(args.out, {"benchmark": "cross_repo", "environment": _common.environment(),
                              "repos": [r.name for r in repos], "missing": missing,
                              "lines": lines, "selection": selection,
                              "comparison": {n: comparison_dict(c) for n, c in comparisons.items()},
                              "latency": timing})
    return 0


if __name__ == "__main__":
    sys.exit(main())
