"""codesift against the BM25 floors on one query set, in one run: each system's per-query
scores, pooled metrics, and paired bootstrap intervals on every difference.

The systems are callables `query -> hits`; scoring is metrics.py's, so a mined set and the
shared history set are measured the same way.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .datasets import HistoryQuery
from .metrics import K_MAX, QueryScore, aggregate, as_loc, score_history_query

__all__ = ["METRICS", "Interval", "SystemRun", "Comparison", "run_system", "paired_bootstrap",
           "compare", "comparison_dict"]

METRICS = ("F@1", "F@5", "F@10", "MRR", "S!@10")
_FIELD = {"F@1": "f1", "F@5": "f5", "F@10": "f10", "MRR": "mrr", "S!@10": "s_strict"}


@dataclass(frozen=True, slots=True)
class SystemRun:
    """One system's answers to every query, in query order."""

    name: str
    scores: tuple[QueryScore, ...]
    hits: tuple[tuple[dict, ...], ...]
    index_seconds: float


@dataclass(frozen=True, slots=True)
class Interval:
    """A paired difference (system minus baseline) with its bootstrap percentile interval."""

    diff: float
    low: float
    high: float
    n: int

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0


@dataclass(frozen=True, slots=True)
class Comparison:
    """Pooled metrics per system, and the main system's difference to each baseline."""

    queries: int
    rows: Mapping[str, Mapping[str, float]]
    deltas: Mapping[str, Mapping[str, Interval]]  # baseline -> metric -> interval
    main: str
    resamples: int
    level: float


def run_system(name: str, search: Callable[[str, int], Sequence[Any]],
               queries: Sequence[HistoryQuery], index_seconds: float = math.nan,
               k: int = K_MAX) -> SystemRun:
    """Ask `search` each query's top k, timing each call (the first call is a warm-up)."""
    if queries:
        search(queries[0].query, k)
    scores, hits = [], []
    for q in queries:
        t0 = time.perf_counter()
        found = list(search(q.query, k))[:k]
        ms = (time.perf_counter() - t0) * 1000
        scores.append(score_history_query(q.id, found, q.gold_files, q.gold_symbols, ms))
        hits.append(tuple(_hit_dict(h) for h in found))
    return SystemRun(name, tuple(scores), tuple(hits), index_seconds)


def _hit_dict(hit: Any) -> dict:
    loc = as_loc(hit)
    return {"path": loc.path, "start_line": loc.start_line, "end_line": loc.end_line}


def _values(scores: Sequence[QueryScore], metric: str) -> list[float | None]:
    return [getattr(s, _FIELD[metric]) for s in scores]


def paired_bootstrap(ours: Sequence[float | None], theirs: Sequence[float | None],
                     resamples: int = 2000, level: float = 0.95, seed: int = 0) -> Interval:
    """Mean of ours - theirs over the queries both score (None = not scored), with the
    percentile interval of that mean over query resamples (Efron & Tibshirani 1993, ch. 13)."""
    pairs = [(a, b) for a, b in zip(ours, theirs) if a is not None and b is not None]
    if not pairs:
        return Interval(math.nan, math.nan, math.nan, 0)
    d = np.asarray([a - b for a, b in pairs], dtype=np.float64)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(d), size=(resamples, len(d)))
    means = d[idx].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return Interval(float(d.mean()), float(low), float(high), len(d))


def compare(runs: Sequence[SystemRun], main: str = "codesift", resamples: int = 2000,
            level: float = 0.95, seed: int = 0) -> Comparison:
    by_name = {r.name: r for r in runs}
    rows = {r.name: aggregate(r.scores) | {"index s": r.index_seconds} for r in runs}
    deltas: dict[str, dict[str, Interval]] = {}
    if main in by_name:
        ours = by_name[main].scores
        for run in runs:
            if run.name != main:
                deltas[run.name] = {m: paired_bootstrap(_values(ours, m), _values(run.scores, m),
                                                        resamples, level, seed) for m in METRICS}
    n = len(runs[0].scores) if runs else 0
    return Comparison(n, rows, deltas, main, resamples, level)


def comparison_dict(c: Comparison) -> dict:
    """The JSON shape of `codesift evaluate --json` (numbers only; NaN becomes null)."""
    def num(x: float) -> float | None:
        return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(x, 4)

    return {
        "queries": c.queries,
        "systems": {name: {k: num(v) for k, v in row.items()} for name, row in c.rows.items()},
        "differences": {
            base: {m: {"diff": num(iv.diff), "low": num(iv.low), "high": num(iv.high), "n": iv.n,
                       "significant": iv.significant} for m, iv in per.items()}
            for base, per in c.deltas.items()},
        "main": c.main,
        "bootstrap": {"resamples": c.resamples, "level": c.level},
    }
