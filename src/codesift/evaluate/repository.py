"""`codesift evaluate`'s job: mine a repository's history, then measure its index and the two
BM25 floors on the mined queries in the same run.

The floors read the files git tracks (an untracked virtualenv or build folder is no more part
of the repository for them than it is for the index's discovery).
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from ..errors import UsageError
from . import baselines
from .compare import Comparison, SystemRun, compare, run_system
from .mine import MinedSet, MiningParams, mine

__all__ = ["BASELINES", "Evaluation", "tracked_files", "evaluate_repository", "evaluation_plot"]

BASELINES = ("bm25-file", "bm25-chunk")


@dataclass(frozen=True, slots=True)
class Evaluation:
    mined: MinedSet
    comparison: Comparison
    runs: tuple[SystemRun, ...]
    seconds: dict[str, float]  # stage -> wall seconds: mine, index, codesift, each baseline


def tracked_files(root: Path) -> list[str] | None:
    """Paths git tracks under `root`, relative to it; None outside a work tree."""
    proc = subprocess.run(["git", "-c", "core.quotePath=false", "ls-files", "-z"], cwd=root,
                          capture_output=True)
    if proc.returncode != 0:
        return None
    return sorted(p for p in proc.stdout.decode("utf-8", "replace").split("\0") if p)


def evaluate_repository(root: str | Path, index, params: MiningParams = MiningParams(), *,
                        systems: Sequence[str] = ("codesift", *BASELINES), resamples: int = 2000,
                        progress: Callable[[str, int, int], None] | None = None,
                        update_index: Callable[[], object] | None = None) -> Evaluation:
    """Mine, bring the index up to date (`update_index`, default `index.update()`), then run
    each system on every mined query. Raises UsageError when no query survives mining."""
    root = Path(root).resolve()
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    mined = mine(root, params, progress=(lambda i, n: progress("mine", i, n)) if progress else None)
    seconds["mine"] = time.perf_counter() - t0
    if not mined.queries:
        reasons = ", ".join(f"{r} {n}" for r, n in sorted(mined.rejected.items(), key=lambda x: -x[1])[:4])
        raise UsageError(f"no usable queries in the history of {root.name} since {mined.since}"
                         + (f" (rejected: {reasons})" if reasons else " (no commits)"),
                         hint="try an earlier --since, or a repository whose commits change "
                              "1-3 source files with meaningful messages")
    queries = list(mined.queries)
    runs: list[SystemRun] = []
    if "codesift" in systems:
        t0 = time.perf_counter()
        (update_index or index.update)()
        seconds["index"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        runs.append(run_system("codesift", lambda q, k: index.search(q, k=k), queries, seconds["index"]))
        seconds["codesift"] = time.perf_counter() - t0
    files = tracked_files(root)
    for name in BASELINES:
        if name not in systems:
            continue
        t0 = time.perf_counter()
        build = baselines.bm25_file if name == "bm25-file" else baselines.bm25_chunk
        bm = build(root, paths=files)
        built = time.perf_counter() - t0
        runs.append(run_system(name, bm.search, queries, built))
        seconds[name] = time.perf_counter() - t0
    return Evaluation(mined, compare(runs, resamples=resamples, seed=params.seed), tuple(runs), seconds)


def evaluation_plot(ev: Evaluation, path: str | Path) -> Path:
    """Two panels: each system's metrics, and codesift minus each floor with its interval."""
    from .compare import METRICS
    from .plot import Panel, bar_panels

    c = ev.comparison
    absolute = Panel("metrics (top 10)", METRICS,
                     {name: [row[m] for m in METRICS] for name, row in c.rows.items()}, ylim=(0, 1.05))
    deltas = {f"{c.main} - {base}": [iv[m].diff for m in METRICS] for base, iv in c.deltas.items()}
    bounds = {f"{c.main} - {base}": [(iv[m].low, iv[m].high) for m in METRICS]
              for base, iv in c.deltas.items()}
    spread = max([abs(x) for b in bounds.values() for lh in b for x in lh if x == x] or [0.1])
    diff = Panel(f"difference, {int(c.level * 100)}% bootstrap interval", METRICS, deltas, bounds,
                 ylim=(-spread * 1.25, spread * 1.25))
    m = ev.mined
    return bar_panels(path, [absolute, diff] if deltas else [absolute],
                      title=f"{m.repo} @ {m.head[:10]}: {c.queries} queries mined since {m.since}",
                      note="codesift evaluate: F@k file recall, MRR, S!@10 strict symbol recall")
