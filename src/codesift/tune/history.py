"""Text->Code pairs from history: a commit message -> the definitions the commit changed,
mined as `codesift evaluate` mines its queries (evaluate/mine.py), kept only when today's
hybrid search already ranks the definition in the top `consistency_k` (SweRank's
consistency filter: noisy pairs made models worse), with the best-ranked hit that is not
the answer as a hard negative."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from codesift.errors import BadQueryError
from codesift.evaluate.datasets import GoldSymbol, HistoryQuery
from codesift.evaluate.mine import MiningParams, mine
from codesift.model import Hit
from codesift.tune.corpus import DEFINITION_KINDS
from codesift.tune.records import Pair, Provenance

Search = Callable[[str, int], Sequence[Hit]]
# Training wants every usable commit of a long history, not an evaluation's sample.
TRAINING_MINING = MiningParams(window_years=30, max_window_years=30, max_queries=5000)


@dataclass(frozen=True, slots=True)
class HistoryYield:
    pairs: tuple[Pair, ...]
    mined: int  # commits mined into queries
    inconsistent: int  # gold definitions the search did not rank in the top k


def commit_pairs(root: Path, search: Search, code_of: Callable[[str, int, int], str | None], *,
                 params: MiningParams = TRAINING_MINING, consistency_k: int = 20,
                 progress: Callable[[int, int], None] | None = None) -> HistoryYield:
    mined = mine(root, params, progress=progress)
    pairs: list[Pair] = []
    inconsistent = 0
    for q in mined.queries:
        if not q.query.strip():
            continue  # a message that was all trailers and links
        try:
            hits = list(search(q.query, consistency_k))
        except BadQueryError:
            continue
        best = _negative(hits, q)
        negative = code_of(best.path, best.start_line, best.end_line) if best else None
        for gold in q.gold_symbols:
            code = code_of(gold.path, gold.start_line, gold.end_line)
            if not code:
                continue
            if not any(_overlaps(h, gold) for h in hits):
                inconsistent += 1
                continue
            pairs.append(Pair("commit", q.query, code,
                              Provenance(gold.path, gold.name, _commit_of(q)),
                              (negative,) if negative else ()))
    return HistoryYield(tuple(pairs), len(mined.queries), inconsistent)


def _commit_of(q: HistoryQuery) -> str:
    return q.id.rsplit("-", 1)[-1]


def _overlaps(hit: Hit, gold: GoldSymbol) -> bool:
    return hit.path == gold.path and hit.start_line <= gold.end_line \
        and gold.start_line <= hit.end_line


def _negative(hits: Sequence[Hit], q: HistoryQuery) -> Hit | None:
    """The best-ranked definition outside every file the commit changed (another part of
    a changed file may well be part of the answer: not a safe negative)."""
    names = {g.name.rsplit(".", 1)[-1] for g in q.gold_symbols}
    for hit in hits:
        if hit.path in q.gold_files or hit.is_test or hit.kind not in DEFINITION_KINDS:
            continue
        if hit.symbol.rsplit(".", 1)[-1] in names:
            continue  # the same name elsewhere: an overload or a twin, maybe also right
        return hit
    return None
