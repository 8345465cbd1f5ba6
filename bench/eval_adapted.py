"""The repository-adapted model on a temporal split (issue 16): `codesift tune` continues
from a base model on the repository as it stood at a cut-off (commits before it, the tree
at its last commit) and is measured on the queries mined from the commits after it,
against the base model and all-MiniLM-L6-v2, hybrid and dense-only, on the same queries
in the same run. The repository must not be one the base model was trained on.

    python bench/eval_adapted.py REPO --cutoff 2026-12-07 --base local:/work/cache/code-model \\
        --minutes 15 [--work DIR] [--max 60] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from _common import write_json

import codesift
from codesift.embed import DEFAULT_LOCAL_MODEL
from codesift.evaluate.compare import comparison_dict, compare, run_system
from codesift.evaluate.mine import MiningParams, mine
from codesift.tune.run import TuneOptions, tune_repository
from codesift.tune.synthesize import SynthesisParams
from codesift.tune.train import TrainParams

DENSE_ONLY = dict(weight_lexical=0, weight_opening=0, weight_identifiers=0, weight_symbol=0,
                  weight_messages=0, weight_scope=0, weight_file=0)
METRICS = ("F@1", "F@5", "F@10", "MRR", "S!@10")


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


def checkout(repo: Path, rev: str, dest: Path) -> Path:
    if not dest.exists():
        subprocess.run(["git", "clone", "-q", "--no-checkout", str(repo), str(dest)], check=True)
    git("checkout", "-q", "--detach", rev, cwd=dest)
    return dest


def adapt(cut: Path, work: Path, base: str, minutes: float, steps: int | None,
          max_pairs: int) -> tuple[Path, dict]:
    out = work / "adapted"
    if (out / "model" / "codesift-tune.json").is_file() and not (out / "checkpoints").exists():
        return out, json.loads((out / "model" / "codesift-tune.json").read_text())
    with codesift.open_index(str(cut), index_dir=str(work / "idx-cut"), dense=False) as idx:
        idx.update()
        model = base.split(":", 1)[1] if ":" in base else DEFAULT_LOCAL_MODEL
        info = tune_repository(idx, TuneOptions(
            out=out, train=TrainParams(base=model, minutes=minutes, steps=steps),
            synthesis=SynthesisParams(max_pairs=max_pairs)), print)
    return out, info


def runs_for(name: str, spec: str, head: Path, work: Path, queries: list) -> list:
    started = time.perf_counter()
    idx = codesift.open_index(str(head), index_dir=str(work / f"idx-{name}"), embedder=spec)
    with idx:
        idx.update()
        secs = time.perf_counter() - started
        hybrid = run_system(name, lambda q, k: idx.search(q, k=k), queries, secs)
        base = idx.settings
        idx.settings = base.with_overrides(**DENSE_ONLY)
        dense = run_system(f"{name}[dense]", lambda q, k: idx.search(q, k=k), queries, secs)
        idx.settings = base
    return [hybrid, dense]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("repo", type=Path)
    ap.add_argument("--cutoff", required=True, help="YYYY-MM-DD: train before, evaluate from")
    ap.add_argument("--base", required=True, help="the model adapted, e.g. local:/path")
    ap.add_argument("--minutes", type=float, default=15)
    ap.add_argument("--steps", type=int)
    ap.add_argument("--max", type=int, default=60)
    ap.add_argument("--max-pairs", type=int, default=1500,
                    help="pairs to train on: what the time allows, so the schedule completes")
    ap.add_argument("--work", type=Path)
    ap.add_argument("--out")
    args = ap.parse_args()
    repo = args.repo.resolve()
    work = args.work or Path("/work/cache/adapted") / repo.name
    work.mkdir(parents=True, exist_ok=True)
    cut_sha = git("rev-list", "-1", f"--before={args.cutoff}T00:00:00", "HEAD", cwd=repo)
    head_sha = git("rev-parse", "HEAD", cwd=repo)
    cut = checkout(repo, cut_sha, work / "cut")
    started = time.perf_counter()
    model, info = adapt(cut, work, args.base, args.minutes, args.steps, args.max_pairs)
    tune_s = time.perf_counter() - started
    head = checkout(repo, head_sha, work / "head")
    mined = mine(head, MiningParams(since=args.cutoff, max_queries=args.max))
    queries = list(mined.queries)
    print(f"cut-off {cut_sha[:10]}, {len(queries)} queries after it; tuning took {tune_s:.0f} s",
          flush=True)
    runs = []
    for name, spec in (("adapted", f"local:{model}"), ("base", args.base), ("minilm", "local")):
        runs += runs_for(name, spec, head, work, queries)
    hybrid = compare([r for r in runs if "[" not in r.name], main="adapted")
    dense = compare([r for r in runs if "[" in r.name], main="adapted[dense]")
    for title, comp in (("hybrid", hybrid), ("dense-only", dense)):
        print(f"\n{title} ({comp.queries} queries)")
        for name, row in comp.rows.items():
            print(f"  {name:16}" + "  ".join(f"{m} {row[m]:.3f}" for m in METRICS))
        for other, deltas in comp.deltas.items():
            print(f"  {comp.main} - {other}: " + "  ".join(
                f"{m} {deltas[m].diff:+.3f} [{deltas[m].low:+.3f}, {deltas[m].high:+.3f}]"
                for m in METRICS))
    write_json(args.out, {"cutoff": args.cutoff, "cut": cut_sha, "head": head_sha,
                          "queries": len(queries), "tune_seconds": tune_s, "tune": info,
                          "hybrid": comparison_dict(hybrid), "dense": comparison_dict(dense)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
