"""Retrieval benchmarks anyone can run: datasets, scoring and BM25 baselines.

The scoring rules are those of ../shared/eval/history/README.md; bench/ scripts drive them.
"""

from codesift.evaluate.metrics import (
    Loc,
    QueryScore,
    aggregate,
    cosqa_rank,
    cosqa_scores,
    file_recall_at_k,
    percentile,
    reciprocal_rank,
    score_history_query,
    summarize_packages,
    symbol_hit,
    symbol_recall_at_k,
)

__all__ = [
    "Loc",
    "QueryScore",
    "aggregate",
    "cosqa_rank",
    "cosqa_scores",
    "file_recall_at_k",
    "percentile",
    "reciprocal_rank",
    "score_history_query",
    "summarize_packages",
    "symbol_hit",
    "symbol_recall_at_k",
]
