"""Rank fusion: small pure functions that merge ranked lists into one score per item.

Selected by name, as bm25s selects its scoring variants.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence

Ranking = Sequence[tuple[Hashable, float]]  # (item, retriever score), best first


def weighted_rrf(rankings: Mapping[str, Ranking], weights: Mapping[str, float],
                 k: int = 60) -> dict[Hashable, float]:
    """Reciprocal-rank fusion, score = sum_r w_r / (k + rank_r).

    Cormack, Clarke & Buettcher, "Reciprocal Rank Fusion outperforms Condorcet and
    individual Rank Learning Methods", SIGIR 2009; k = 60 as in the paper. Rank-based, so
    BM25 and cosine scores never need to be put on one scale.
    """
    scores: dict[Hashable, float] = {}
    for name, ranking in rankings.items():
        weight = weights.get(name, 1.0)
        if weight == 0:
            continue
        for rank, (item, _) in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return scores


def comb_max(rankings: Mapping[str, Ranking], weights: Mapping[str, float],
             k: int = 60) -> dict[Hashable, float]:
    """The best single weighted reciprocal rank of each item (a CombMAX over RRF terms):
    a baseline that rewards one strong retriever and ignores agreement."""
    scores: dict[Hashable, float] = {}
    for name, ranking in rankings.items():
        weight = weights.get(name, 1.0)
        for rank, (item, _) in enumerate(ranking, start=1):
            scores[item] = max(scores.get(item, 0.0), weight / (k + rank))
    return scores


def convex(rankings: Mapping[str, Ranking], weights: Mapping[str, float],
           k: int = 60) -> dict[Hashable, float]:
    """Convex combination of min-max normalised scores, sum_r w_r * norm_r(s).

    Bruch, Gai & Ingber, "An Analysis of Fusion Functions for Hybrid Retrieval", TOIS 2023:
    uses how far apart the scores are, which ranks throw away. Scaled by 1/(k+1) so its
    numbers sit on the same scale as RRF's for the priors applied after fusion."""
    scores: dict[Hashable, float] = {}
    for name, ranking in rankings.items():
        weight = weights.get(name, 1.0)
        if not ranking or weight == 0:
            continue
        values = [s for _, s in ranking]
        low, high = min(values), max(values)
        span = (high - low) or 1.0
        for item, score in ranking:
            norm = (score - low) / span if high > low else 1.0
            scores[item] = scores.get(item, 0.0) + weight * norm / (k + 1)
    return scores


FUSERS: dict[str, Callable[..., dict[Hashable, float]]] = {
    "rrf": weighted_rrf,
    "max": comb_max,
    "convex": convex,
}
