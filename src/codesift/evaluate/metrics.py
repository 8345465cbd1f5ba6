"""Pure scoring functions for the retrieval benchmarks.

Definitions follow ../shared/eval/history/README.md ("Metrics to report") and the CoSQA
protocol in ../shared/eval/README.md. Nothing here reads files or runs a search.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

__all__ = [
    "Loc",
    "QueryScore",
    "as_loc",
    "file_recall_at_k",
    "reciprocal_rank",
    "symbol_hit",
    "symbol_recall_at_k",
    "score_history_query",
    "aggregate",
    "summarize_packages",
    "percentile",
    "cosqa_rank",
    "cosqa_scores",
]

K_MAX = 10  # the history protocol asks every tool for its top 10


@dataclass(frozen=True, slots=True)
class Loc:
    """A located range: a hit or a gold symbol. Lines are 1-based and inclusive."""

    path: str
    start_line: int
    end_line: int


def as_loc(x: Any) -> Loc:
    """Accept a Hit, a Loc, any object with path/start_line/end_line, or a dict."""
    if isinstance(x, Loc):
        return x
    if isinstance(x, Mapping):
        return Loc(str(x["path"]), int(x["start_line"]), int(x["end_line"]))
    return Loc(str(x.path), int(x.start_line), int(x.end_line))


def file_recall_at_k(hits: Sequence[Any], gold_files: Iterable[str], k: int) -> float:
    """Fraction of gold files whose path equals the path of one of the top-k hits."""
    gold = list(dict.fromkeys(gold_files))
    if not gold:
        return 0.0
    seen = {as_loc(h).path for h in hits[:k]}
    return sum(1 for g in gold if g in seen) / len(gold)


def reciprocal_rank(hits: Sequence[Any], gold_files: Iterable[str], k: int = K_MAX) -> float:
    """1 / rank of the first hit whose path is a gold file; 0 if none in the top k."""
    gold = set(gold_files)
    for rank, h in enumerate(hits[:k], start=1):
        if as_loc(h).path in gold:
            return 1.0 / rank
    return 0.0


def symbol_hit(hit: Any, sym: Any, strict: bool = True) -> bool:
    """Same path and overlapping lines; strict also bounds the hit's span to
    max(2 x symbol span, 50) lines, so a whole-file hit only counts for small files."""
    h, s = as_loc(hit), as_loc(sym)
    if h.path != s.path or not (h.start_line <= s.end_line and s.start_line <= h.end_line):
        return False
    if not strict:
        return True
    hit_span = h.end_line - h.start_line + 1
    sym_span = s.end_line - s.start_line + 1
    return hit_span <= max(2 * sym_span, 50)


def symbol_recall_at_k(
    hits: Sequence[Any], gold_symbols: Sequence[Any], k: int = K_MAX, strict: bool = True
) -> float | None:
    """Fraction of gold symbols matched by a top-k hit; None when there is no gold symbol
    (such queries are left out of the symbol averages)."""
    if not gold_symbols:
        return None
    top = [as_loc(h) for h in hits[:k]]
    found = sum(1 for s in gold_symbols if any(symbol_hit(h, s, strict) for h in top))
    return found / len(gold_symbols)


@dataclass(frozen=True, slots=True)
class QueryScore:
    """Every metric of one history query. Symbol fields are None without gold symbols."""

    query_id: str
    f1: float
    f5: float
    f10: float
    mrr: float
    s_strict: float | None
    s_lenient: float | None
    latency_ms: float | None = None


def score_history_query(
    query_id: str,
    hits: Sequence[Any],
    gold_files: Sequence[str],
    gold_symbols: Sequence[Any],
    latency_ms: float | None = None,
) -> QueryScore:
    hits = list(hits)[:K_MAX]
    return QueryScore(
        query_id=query_id,
        f1=file_recall_at_k(hits, gold_files, 1),
        f5=file_recall_at_k(hits, gold_files, 5),
        f10=file_recall_at_k(hits, gold_files, 10),
        mrr=reciprocal_rank(hits, gold_files, K_MAX),
        s_strict=symbol_recall_at_k(hits, gold_symbols, K_MAX, strict=True),
        s_lenient=symbol_recall_at_k(hits, gold_symbols, K_MAX, strict=False),
        latency_ms=latency_ms,
    )


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default method), q in [0, 100]."""
    xs = sorted(values)
    if not xs:
        return math.nan
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else math.nan


def aggregate(scores: Sequence[QueryScore]) -> dict[str, float]:
    """Pool queries: file metrics over all of them, symbol metrics over those with symbols."""
    sym = [s for s in scores if s.s_strict is not None]
    lat = [s.latency_ms for s in scores if s.latency_ms is not None]
    return {
        "n": len(scores),
        "n_sym": len(sym),
        "F@1": _mean([s.f1 for s in scores]),
        "F@5": _mean([s.f5 for s in scores]),
        "F@10": _mean([s.f10 for s in scores]),
        "MRR": _mean([s.mrr for s in scores]),
        "S!@10": _mean([s.s_strict for s in sym]),
        "S@10": _mean([s.s_lenient for s in sym]),
        "p50 ms": percentile(lat, 50) if lat else math.nan,
        "p95 ms": percentile(lat, 95) if lat else math.nan,
    }


QUALITY_KEYS = ("F@1", "F@5", "F@10", "MRR", "S!@10", "S@10")


def summarize_packages(
    per_package: Mapping[str, Sequence[QueryScore]],
    index_seconds: Mapping[str, float] | None = None,
) -> dict[str, dict[str, float]]:
    """Rows per package plus "micro" (all queries pooled; index time summed) and "macro"
    (unweighted mean of the package rows, latency percentiles included)."""
    index_seconds = index_seconds or {}
    rows: dict[str, dict[str, float]] = {}
    for name, scores in per_package.items():
        rows[name] = aggregate(scores)
        rows[name]["index s"] = index_seconds.get(name, math.nan)
    if not rows:
        return rows
    pooled = [s for scores in per_package.values() for s in scores]
    micro = aggregate(pooled)
    micro["index s"] = sum(index_seconds.get(n, 0.0) for n in per_package) if index_seconds else math.nan
    pkg_rows = [rows[n] for n in per_package]
    macro: dict[str, float] = {
        "n": micro["n"],
        "n_sym": micro["n_sym"],
    }
    for key in (*QUALITY_KEYS, "p50 ms", "p95 ms", "index s"):
        vals = [r[key] for r in pkg_rows if not math.isnan(r[key])]
        macro[key] = _mean(vals)
    rows["micro"] = micro
    rows["macro"] = macro
    return rows


# --- CoSQA: one relevant function per query -------------------------------------------


def cosqa_rank(ranked_ids: Sequence[Any], gold_id: Any) -> int | None:
    """1-based rank of the gold function in a ranked id list, None if absent."""
    for rank, rid in enumerate(ranked_ids, start=1):
        if rid == gold_id:
            return rank
    return None


def cosqa_scores(ranks: Sequence[int | None], mrr_cutoff: int | None = None) -> dict[str, float]:
    """MRR and recall@1/5/10 from the gold ranks (None = not retrieved). MRR uses
    1/rank for every retrieved rank unless `mrr_cutoff` bounds it."""
    n = len(ranks)
    if n == 0:
        return {"n": 0, "MRR": math.nan, "R@1": math.nan, "R@5": math.nan, "R@10": math.nan}

    def rr(r: int | None) -> float:
        if r is None or (mrr_cutoff is not None and r > mrr_cutoff):
            return 0.0
        return 1.0 / r

    def recall(k: int) -> float:
        return sum(1 for r in ranks if r is not None and r <= k) / n

    return {
        "n": n,
        "MRR": sum(rr(r) for r in ranks) / n,
        "R@1": recall(1),
        "R@5": recall(5),
        "R@10": recall(10),
    }
