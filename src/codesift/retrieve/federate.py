"""One search over several repositories' indexes: each index is searched on its own, in
parallel, and the hits are merged into one ranking in which every hit names its repository.

A repository that fails or is still searching at the deadline is reported, not waited for:
the result is then flagged partial and the others' hits are returned.
"""

# How the per-index rankings are merged is measured in docs/benchmarks.md ("Every repository
# in one search"). Each index ranks its own chunks by rank fusion, so every index has a
# confident first hit whatever the query: `rank` (interleave by rank) and `minmax` (rescale
# each index to 0..1) cannot tell the repository a query is about from the others, and
# `score` (each index's own fused score) only by how surely its retrievers agree.
# `relevance` weighs each repository by how much it has to say about the query (its
# vocabulary, its best cosine, its best score: repo_relevance) before merging.

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future, wait
from dataclasses import dataclass

from ..errors import CodesiftError, UsageError
from ..model import Hit, RepoEvidence

log = logging.getLogger(__name__)

DEFAULT_DEADLINE_S = 10.0
RRF_K = 60


@dataclass(frozen=True, slots=True)
class RepoAnswer:
    """One repository's part: its hits, and how much it has to say about the query."""

    hits: list[Hit]
    evidence: RepoEvidence | None = None


RepoSearch = Callable[[], RepoAnswer]  # one repository's search, its query and filters bound


def answer_of(index, query: str, k: int, filters: dict, weigh: bool) -> RepoAnswer:
    """`index`'s (an api.Index) part of a search: its hits, and its evidence when the merge
    weighs repositories (`weigh`)."""
    if weigh:
        return RepoAnswer(*index.search_with_evidence(query, k=k, **filters))
    return RepoAnswer(index.search(query, k=k, **filters))


@dataclass(frozen=True, slots=True)
class RepoHit:
    repo: str
    hit: Hit
    score: float  # the merged score the hits are ordered by

    def to_dict(self) -> dict:
        return {"repo": self.repo, **self.hit.to_dict(), "score": round(self.score, 6),
                "repo_score": round(self.hit.score, 6)}


@dataclass(frozen=True, slots=True)
class RepoOutcome:
    """How one repository's part of the search went: "ok", "timeout" or "error"."""

    repo: str
    status: str
    hits: int = 0
    ms: float = 0.0
    error: str = ""

    def to_dict(self) -> dict:
        out = {"repo": self.repo, "status": self.status, "hits": self.hits,
               "ms": round(self.ms, 1)}
        if self.error:
            out["error"] = self.error
        return out


@dataclass(frozen=True, slots=True)
class FederatedResult:
    query: str
    hits: tuple[RepoHit, ...]
    repos: tuple[RepoOutcome, ...]  # every repository asked, in the order asked

    @property
    def partial(self) -> bool:
        """True when a repository's hits are missing (it failed or missed the deadline)."""
        return any(o.status != "ok" for o in self.repos)

    def to_dict(self) -> dict:
        return {"query": self.query, "partial": self.partial,
                "hits": [h.to_dict() for h in self.hits],
                "repos": [o.to_dict() for o in self.repos]}


Merged = list[tuple[str, Hit, float]]
Found = Mapping[str, Sequence[Hit]]
Relevance = Mapping[str, float]


def merge_by_score(found: Found, relevance: Relevance) -> Merged:
    return [(repo, hit, hit.score) for repo, hits in found.items() for hit in hits]


def merge_by_rank(found: Found, relevance: Relevance) -> Merged:
    """Reciprocal-rank interleaving: every index's first hit scores alike (ties fall to the
    index's own score)."""
    return [(repo, hit, 1.0 / (RRF_K + rank)) for repo, hits in found.items()
            for rank, hit in enumerate(hits, start=1)]


def merge_by_minmax(found: Found, relevance: Relevance) -> Merged:
    return [(repo, hit, norm) for repo, hits in found.items()
            for hit, norm in zip(hits, _minmax([h.score for h in hits]))]


def merge_by_relevance(found: Found, relevance: Relevance) -> Merged:
    """CORI's result merge (Callan, Lu & Croft, "Searching distributed collections with
    inference networks", SIGIR 1995): each hit's score within its index, rescaled to 0..1,
    raised by its repository's relevance to the query, rescaled across repositories:
    (D + 0.4 D C) / 1.4."""
    names = [r for r in found if found[r]]
    weights = dict(zip(names, _minmax([relevance.get(r, 0.0) for r in names])))
    return [(repo, hit, (d + 0.4 * d * weights[repo]) / 1.4) for repo in names
            for hit, d in zip(found[repo], _minmax([h.score for h in found[repo]]))]


MERGES: dict[str, Callable[[Found, Relevance], Merged]] = {
    "score": merge_by_score, "rank": merge_by_rank, "minmax": merge_by_minmax,
    "relevance": merge_by_relevance}
DEFAULT_MERGE = "relevance"  # measured best of the four: docs/benchmarks.md
NEEDS_EVIDENCE = frozenset({"relevance"})  # merges that weigh repositories by RepoEvidence


def merge(found: Found, k: int, how: str = DEFAULT_MERGE,
          relevance: Relevance | None = None) -> list[RepoHit]:
    """The best `k` of every repository's hits, merged `how` (a key of MERGES); ties go to
    the higher own score, then the repository's name, so the order is reproducible."""
    if how not in MERGES:
        raise UsageError(f"unknown merge {how!r}", hint=f"use one of: {', '.join(MERGES)}")
    merged = MERGES[how](found, relevance or {})
    merged.sort(key=lambda t: (-t[2], -t[1].score, t[0], t[1].path, t[1].start_line))
    return [RepoHit(repo, hit, score) for repo, hit, score in merged[:k]]


CORI_B = 0.4  # CORI's default belief, and its constants below, as published


def cori_beliefs(evidence: Mapping[str, RepoEvidence]) -> dict[str, float]:
    """Each repository's CORI belief for the query: its mean over the query's terms of
    0.4 + 0.6 T I, with T = df / (df + 50 + 150 cw / avg_cw) (cw: the index's chunks) and
    I = log((C + 0.5) / cf) / log(C + 1) (C repositories, cf of them hold the term)."""
    if not evidence:
        return {}
    n = len(evidence)
    avg = sum(e.chunks for e in evidence.values()) / n or 1.0
    terms = {t for e in evidence.values() for t in e.doc_freqs}
    cf = {t: sum(1 for e in evidence.values() if e.doc_freqs.get(t, 0) > 0) for t in terms}
    out = {}
    for repo, e in evidence.items():
        total = 0.0
        for t in terms:
            df = e.doc_freqs.get(t, 0)
            if cf[t] == 0:
                continue
            tf_part = df / (df + 50 + 150 * e.chunks / avg)
            idf_part = math.log((n + 0.5) / cf[t]) / math.log(n + 1.0)
            total += CORI_B + (1 - CORI_B) * tf_part * idf_part
        out[repo] = total / max(1, len(terms))
    return out


def repo_relevance(found: Found, evidence: Mapping[str, RepoEvidence]) -> dict[str, float]:
    """How relevant each repository is to the query: three signals, each standardised
    across the repositories and summed with equal weights: its CORI belief (vocabulary), its
    best cosine with the query (meaning; only among repositories embedded by one model:
    another model's cosines are on another scale) and its best hit's own score (how surely
    its retrievers agree). How often each alone, and the sum, puts the query's own package
    first among 27 repositories is measured in docs/benchmarks.md (bench_cross_repo.py)."""
    names = list(found)
    signals = [cori_beliefs({r: evidence[r] for r in names if r in evidence}),
               {r: max((h.score for h in found[r]), default=0.0) for r in names}]
    models = {evidence[r].embedder for r in names if r in evidence
              and evidence[r].best_cosine is not None}
    if len(models) == 1:
        signals.append({r: evidence[r].best_cosine for r in names if r in evidence
                        and evidence[r].best_cosine is not None})
    out = dict.fromkeys(names, 0.0)
    for signal in signals:
        for repo, z in _standardised(signal).items():
            out[repo] += z
    return out


def _standardised(values: Mapping[str, float]) -> dict[str, float]:
    if not values:
        return {}
    mean = sum(values.values()) / len(values)
    spread = math.sqrt(sum((v - mean) ** 2 for v in values.values()) / len(values))
    return {k: (v - mean) / spread if spread > 0 else 0.0 for k, v in values.items()}


def _minmax(values: Sequence[float]) -> list[float]:
    if not values:
        return []
    high, low = max(values), min(values)
    return [(v - low) / (high - low) if high > low else 1.0 for v in values]


def search_repos(searches: Mapping[str, RepoSearch], k: int, *, pool: Executor,
                 query: str = "", deadline_s: float = DEFAULT_DEADLINE_S,
                 how: str = DEFAULT_MERGE, clock: Callable[[], float] = time.monotonic
                 ) -> FederatedResult:
    """Run every repository's search on `pool` (as many at once as it has workers) and merge
    what arrives within `deadline_s`. A search still waiting for a worker at the deadline is
    cancelled; one already running finishes on its worker and is not waited for."""
    if how not in MERGES:
        raise UsageError(f"unknown merge {how!r}", hint=f"use one of: {', '.join(MERGES)}")
    started = clock()
    futures: dict[Future, str] = {pool.submit(_timed, fn, clock): name
                                  for name, fn in searches.items()}
    done, _ = wait(futures, timeout=max(0.0, deadline_s))
    found: dict[str, list[Hit]] = {}
    evidence: dict[str, RepoEvidence] = {}
    outcomes: dict[str, RepoOutcome] = {}
    usage: UsageError | None = None
    for future, name in futures.items():
        if future not in done:
            future.cancel()
            outcomes[name] = RepoOutcome(name, "timeout", ms=(clock() - started) * 1000,
                                         error=f"no answer within {deadline_s:g} s")
            continue
        try:
            answer, ms = future.result()
        except TimeoutError as exc:  # it waited for a busy index until the deadline
            outcomes[name] = RepoOutcome(name, "timeout", ms=(clock() - started) * 1000,
                                         error=str(exc))
            continue
        except CodesiftError as exc:
            usage = usage or (exc if isinstance(exc, UsageError) else None)
            outcomes[name] = RepoOutcome(name, "error", error=_one_line(exc))
            continue
        except Exception as exc:  # one broken index must not take the others' hits down
            log.warning("search of %s failed", name, exc_info=True)
            outcomes[name] = RepoOutcome(name, "error", error=f"{type(exc).__name__}: {exc}")
            continue
        found[name] = answer.hits
        if answer.evidence is not None:
            evidence[name] = answer.evidence
        outcomes[name] = RepoOutcome(name, "ok", hits=len(answer.hits), ms=ms)
    if usage is not None and not found:
        raise usage  # the request itself is wrong (a bad filter): say so, not "partial"
    relevance = repo_relevance(found, evidence) if how in NEEDS_EVIDENCE else None
    return FederatedResult(query, tuple(merge(found, k, how, relevance)),
                           tuple(outcomes[name] for name in searches))


def _timed(fn: RepoSearch, clock: Callable[[], float]) -> tuple[RepoAnswer, float]:
    t0 = clock()
    answer = fn()
    return answer, (clock() - t0) * 1000


def _one_line(exc: CodesiftError) -> str:
    hint = getattr(exc, "hint", None)
    return f"{exc}" + (f" ({hint})" if hint else "")
