"""Both development sets in one run: the shared history set (7 packages) and the multi-language
repositories of bench/devset_repos.toml (queries mined from each clone's history with the
committed parameters), codesift against BM25-file and BM25-chunk on the same queries.

Prints, per set, one row per repository and the pooled row, each difference with its paired
95% bootstrap interval; `--out` keeps every query's hits. Indexes are kept under
--index-root and updated incrementally, so a ranking change re-runs in minutes.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import _common  # noqa: F401  (sets the import path)
from _common import history_packages, parse_variants, split_settings, write_json

from codesift.evaluate import baselines, datasets
from codesift.evaluate.compare import METRICS, SystemRun, compare, comparison_dict, run_system
from codesift.evaluate.mine import MiningParams, mine
from codesift.evaluate.repository import tracked_files

LIST = Path(__file__).resolve().parent / "devset_repos.toml"
SHOWN = ("F@1", "F@5", "MRR", "S!@10")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sets", default="history,repos", help="history, repos or both (default)")
    p.add_argument("--packages", default="all", help="history packages (comma list or all)")
    p.add_argument("--repos", default="all", help="repositories of devset_repos.toml (comma list or all)")
    p.add_argument("--clones", type=Path, default=Path("/work/clones"),
                   help="folder holding <owner>+<name> clones at their pinned commits")
    p.add_argument("--cache-dir", type=Path, default=None, help="default: bench/.cache")
    p.add_argument("--index-root", type=Path, default=None,
                   help="where the codesift indexes live (default: <cache-dir>/devsets)")
    p.add_argument("--no-dense", action="store_true", help="codesift without vectors")
    p.add_argument("--embedder", default=None,
                   help="embedder of fresh indexes (e.g. local:/path/to/tuned; default: the "
                        "settings'); an existing index keeps its own")
    p.add_argument("--variant", action="append", metavar="NAME:KEY=VALUE[,KEY=VALUE]",
                   help="also run codesift with these Settings fields or search options "
                        "on the same indexes (repeatable)")
    p.add_argument("--subject-only", action="store_true",
                   help="ask each query's first line only (the commit subject)")
    p.add_argument("--resamples", type=int, default=2000)
    p.add_argument("--out", help="write rows and per-query hits as JSON here")
    p.add_argument("--plot", help="also draw each set's pooled metrics into this PNG")
    return p


def clone_dir(clones: Path, url: str) -> Path:
    owner, name = url.rstrip("/").split("/")[-2:]
    return clones / f"{owner}+{name}"


def clone_commands(clones: Path, missing: list[str]) -> list[str]:
    names = {m.split(" ", 1)[0] for m in missing}
    spec = tomllib.loads(LIST.read_text(encoding="utf-8"))
    return [f"git clone -q {r['url']} {clone_dir(clones, r['url'])} && "
            f"git -C {clone_dir(clones, r['url'])} checkout -q {r['commit']}"
            for r in spec["repo"] if r["name"] in names]


def head_of(root: Path) -> str | None:
    proc = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else None


def repo_sets(args) -> tuple[list[tuple[str, Path, list, list | None]], list[str]]:
    """(name, root, queries, tracked files) per available repository, and what is missing."""
    spec = tomllib.loads(LIST.read_text(encoding="utf-8"))
    params = MiningParams(**spec["mining"])
    wanted = None if args.repos == "all" else set(args.repos.split(","))
    out, missing = [], []
    for repo in spec["repo"]:
        if wanted is not None and repo["name"] not in wanted:
            continue
        root = clone_dir(args.clones, repo["url"])
        head = head_of(root) if root.is_dir() else None
        if head != repo["commit"]:
            missing.append(f"{repo['name']} ({root}: " + ("absent" if head is None else f"at {head[:10]}, "
                           f"not {repo['commit'][:10]}") + ")")
            continue
        t0 = time.perf_counter()
        mined = mine(root, params, name=repo["name"])
        print(f"[{repo['name']}] {len(mined.queries)} queries mined in {time.perf_counter() - t0:.1f} s "
              f"({mined.examined} examined)", file=sys.stderr, flush=True)
        out.append((repo["name"], root, list(mined.queries), tracked_files(root)))
    return out, missing


def history_sets(args, cache: Path) -> list[tuple[str, Path, list, None]]:
    packages = history_packages(args.packages) or []
    return [(datasets.HISTORY_CORPORA[p].name, datasets.fetch_history_corpus(p, cache_dir=cache),
             datasets.load_history(p), None) for p in packages]


def subject_only(queries: list) -> list:
    from dataclasses import replace

    return [replace(q, query=q.query.strip().split("\n", 1)[0]) for q in queries]


def run_one(name: str, root: Path, queries: list, files, args, index_dir: Path,
            variants: dict) -> list[SystemRun]:
    import codesift

    runs: list[SystemRun] = []
    if args.subject_only:
        queries = subject_only(queries)
    t0 = time.perf_counter()
    idx = codesift.open_index(str(root), index_dir=str(index_dir), dense=not args.no_dense,
                              **({"embedder": args.embedder} if args.embedder else {}))
    try:
        idx.update()
        secs = time.perf_counter() - t0
        base = idx.settings
        for label, opts in {"codesift": {}, **{f"codesift[{v}]": o for v, o in variants.items()}}.items():
            tuned, kwargs = split_settings(opts)
            idx.settings = base.with_overrides(**tuned)
            runs.append(run_system(label, lambda q, k, _kw=kwargs: idx.search(q, k=k, **_kw), queries, secs))
        idx.settings = base
    finally:
        idx.close()
    for bname, build in (("bm25-file", baselines.bm25_file), ("bm25-chunk", baselines.bm25_chunk)):
        t0 = time.perf_counter()
        bm = build(root, paths=files)
        runs.append(run_system(bname, bm.search, queries, time.perf_counter() - t0))
    print(f"[{name}] done", file=sys.stderr, flush=True)
    return runs


def pooled(per_repo: dict[str, list[SystemRun]]) -> list[SystemRun]:
    names = [r.name for r in next(iter(per_repo.values()))]
    return [SystemRun(n, tuple(s for runs in per_repo.values() for r in runs if r.name == n for s in r.scores),
                      (), math.nan) for n in names]


def cell(c, base: str, metric: str) -> str:
    iv = c.deltas[base][metric]
    if not iv.n:
        return "–"
    mark = " **loss**" if iv.high < 0 else " (below)" if iv.diff < 0 else ""
    return f"{iv.diff:+.3f} [{iv.low:+.2f}, {iv.high:+.2f}]{mark}"


def table(rows: dict, main: str, resamples: int) -> str:
    head = ["repository", "n", "n sym"] + [f"{main} {m}" for m in SHOWN] + \
        [f"vs file {m}" for m in ("F@1", "F@5", "MRR")] + ["vs chunk S!@10"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, runs in rows.items():
        c = compare(runs, main=main, resamples=resamples)
        r = c.rows[main]
        out.append("| " + " | ".join([name, str(int(r["n"])), str(int(r["n_sym"]))]
                                     + [f"{r[m]:.3f}" for m in SHOWN]
                                     + [cell(c, "bm25-file", m) for m in ("F@1", "F@5", "MRR")]
                                     + [cell(c, "bm25-chunk", "S!@10")]) + " |")
    return "\n".join(out)


def baseline_table(rows: dict) -> str:
    head = ["repository"] + [f"{b} {m}" for b in ("bm25-file", "bm25-chunk") for m in SHOWN]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, runs in rows.items():
        by = {r.name: compare([r]).rows[r.name] for r in runs}
        out.append("| " + " | ".join([name] + [f"{by[b][m]:.3f}" for b in ("bm25-file", "bm25-chunk")
                                               for m in SHOWN]) + " |")
    return "\n".join(out)


def plot_sets(path: str, sets: dict[str, list[SystemRun]]) -> None:
    """One panel per set: each system's pooled metrics (the shared plotting helper)."""
    from codesift.evaluate.plot import Panel, bar_panels

    panels = []
    for name, runs in sets.items():
        rows = compare(runs).rows
        panels.append(Panel(f"{name}: {len(runs[0].scores)} queries", SHOWN,
                            {r: [rows[r][m] for m in SHOWN] for r in rows}, ylim=(0, 1.05)))
    bar_panels(path, panels, title="codesift and the BM25 floors, pooled")
    print(f"plot: {path}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cache = args.cache_dir or datasets.default_cache_dir()
    variants = parse_variants(args.variant)
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    results: dict[str, dict[str, list[SystemRun]]] = {}
    missing: list[str] = []
    suffix = "-nodense" if args.no_dense else ""
    for set_name in sets:
        index_root = (args.index_root or cache / "devsets") / set_name
        if set_name == "history":
            items = history_sets(args, cache)
        else:
            items, missing = repo_sets(args)
        results[set_name] = {name: run_one(name, root, queries, files, args,
                                           index_root / f"{name}{suffix}", variants)
                             for name, root, queries, files in items}
    report: dict = {"benchmark": "devsets", "environment": _common.environment(),
                    "args": {k: str(v) for k, v in vars(args).items()}, "missing": missing, "sets": {}}
    mains = ["codesift", *(f"codesift[{v}]" for v in variants)]
    for set_name, per_repo in results.items():
        if not per_repo:
            continue
        rows = dict(per_repo) | {"**pooled**": pooled(per_repo)}
        print(f"\n## {set_name}: {sum(len(r[0].scores) for r in per_repo.values())} queries, "
              f"{len(per_repo)} repositories\n")
        for m in mains:
            print(f"### {m} (difference [95% paired bootstrap interval]; **loss**: interval below 0)\n")
            print(table(rows, m, args.resamples) + "\n")
        print("### baselines\n")
        print(baseline_table(rows) + "\n")
        report["sets"][set_name] = {
            name: {m: comparison_dict(compare(runs, main=m, resamples=args.resamples)) for m in mains}
            for name, runs in rows.items()}
        report["sets"][set_name]["queries"] = {
            name: {r.name: [{"F@1": s.f1, "F@5": s.f5, "MRR": s.mrr, "S!@10": s.s_strict,
                             "hits": list(h)} for s, h in zip(r.scores, r.hits)] for r in runs}
            for name, runs in per_repo.items()}
    if args.plot and results:
        plot_sets(args.plot, {name: pooled(per) for name, per in results.items() if per})
    if missing:
        print("missing repositories: " + "; ".join(missing))
        print("clone each at its pinned commit:\n" + "\n".join(clone_commands(args.clones, missing)))
    write_json(args.out, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
