"""Before/after on pairs set aside from training: each held-out query ranks the held-out
positives (every other pair's positive is a distractor); MRR@10 and recall@1/10 of its own.
A quick check that the run learnt something, not the measurement (bench/ does that)."""

from __future__ import annotations

import random
from collections.abc import Sequence

from codesift.tune.records import Pair


def split(pairs: Sequence[Pair], fraction: float = 0.05, most: int = 300, seed: int = 0
          ) -> tuple[list[Pair], list[Pair]]:
    """(train, held out). Whole definitions go to one side: no positive is seen in
    training and then asked for."""
    keys = sorted({(p.source.path, p.source.symbol) for p in pairs})
    random.Random(seed).shuffle(keys)
    n = min(most, int(len(pairs) * fraction))
    held_keys: set[tuple[str, str]] = set()
    held: list[Pair] = []
    by_key: dict[tuple[str, str], list[Pair]] = {}
    for p in pairs:
        by_key.setdefault((p.source.path, p.source.symbol), []).append(p)
    for key in keys:
        if len(held) >= n:
            break
        held_keys.add(key)
        held += by_key[key]
    return [p for p in pairs if (p.source.path, p.source.symbol) not in held_keys], held


def score(pairs: Sequence[Pair], embedder) -> dict[str, float]:
    """MRR@10, recall@1 and recall@10 of each query's own positive among all positives."""
    import numpy as np

    if not pairs:
        return {}
    positives = list(dict.fromkeys(p.positive for p in pairs))
    row = {text: i for i, text in enumerate(positives)}
    docs = embedder.embed_documents(positives)
    queries = np.stack([embedder.embed_query(p.query) for p in pairs])
    sims = queries @ docs.T
    ranks = [int(np.sum(sims[i] > sims[i, row[p.positive]])) + 1 for i, p in enumerate(pairs)]
    n = len(ranks)
    return {"mrr@10": round(sum(1 / r for r in ranks if r <= 10) / n, 4),
            "recall@1": round(sum(r == 1 for r in ranks) / n, 4),
            "recall@10": round(sum(r <= 10 for r in ranks) / n, 4)}
