"""Hard negatives: definitions the index's BM25 ranks near a pair's query that are not
its answer. A negative that may in truth be right is worse than none, so candidates that
share the positive's name (the same symbol in another file, an overload), that nearly
copy its text, or that are the positive itself are passed over."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from codesift.store.sqlite import SQLiteStore
from codesift.tokens import query_terms
from codesift.tune.corpus import DEFINITION_KINDS
from codesift.tune.records import Pair

MAX_TERMS = 24  # the rarest terms of a long (code) query are the ones that place it
NEAR_DUPLICATE = 0.7  # token Jaccard at or above which two texts count as one


def jaccard(a: str, b: str) -> float:
    x, y = set(query_terms(a, drop_stopwords=False)), set(query_terms(b, drop_stopwords=False))
    return len(x & y) / len(x | y) if x and y else 0.0


class NegativeMiner:
    """Lexical neighbours from one index; chunk rows and texts cached across pairs."""

    def __init__(self, store: SQLiteStore, depth: int = 8) -> None:
        self.store, self.depth = store, depth

    def add(self, pairs: Sequence[Pair]) -> list[Pair]:
        """Each pair without a negative gets the best lexical neighbour that passes the
        filter (pairs keep theirs when they already have one, or when none passes)."""
        return [p if p.negatives else self._with_negative(p) for p in pairs]

    def _with_negative(self, pair: Pair) -> Pair:
        terms = self.store.selective_terms(self.store.informative_terms(
            query_terms(pair.query)))[:MAX_TERMS]
        if not terms:
            return pair
        ids = [cid for cid, _ in self.store.lexical_chunks(terms, self.depth)]
        rows = self.store.chunk_rows(ids)
        texts = self.store.chunk_texts(ids)
        name = pair.source.symbol.rsplit(".", 1)[-1]
        for cid in ids:
            row, text = rows.get(cid), texts.get(cid, "")
            if row is None or row.kind not in DEFINITION_KINDS:
                continue
            if (row.path, row.symbol) == (pair.source.path, pair.source.symbol) or row.name == name:
                continue
            if text.strip() == pair.query.strip() or jaccard(text, pair.positive) >= NEAR_DUPLICATE:
                continue
            return replace(pair, negatives=(text,))
        return pair
