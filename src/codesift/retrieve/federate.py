"""One search over several repositories' indexes: each index is searched on its own, in
parallel, and the hits are merged into one ranking in which every hit names its repository.

A repository that fails or is still searching at the deadline is reported, not waited for:
the result is then flagged partial and the others' hits are returned.
"""

# How the per-index rankings are merged is measured in docs/benchmarks.md ("Every repository
# in one search"): `score` keeps each index's own fused score, which is comparable across
# indexes because every index fuses the same retrievers with the same weights and priors (a
# hit that several retrievers rank first scores high anywhere); `rank` interleaves the
# indexes by rank (reciprocal-rank fusion); `minmax` rescales each index's scores to 0..1.

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future, wait
from dataclasses import dataclass

from ..errors import CodesiftError, UsageError
from ..model import Hit

log = logging.getLogger(__name__)

RepoSearch = Callable[[], list[Hit]]  # one repository's search, its query and filters bound
DEFAULT_DEADLINE_S = 10.0
RRF_K = 60


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


def merge_by_score(found: Mapping[str, Sequence[Hit]]) -> Merged:
    return [(repo, hit, hit.score) for repo, hits in found.items() for hit in hits]


def merge_by_rank(found: Mapping[str, Sequence[Hit]]) -> Merged:
    """Reciprocal-rank interleaving: every index's first hit scores alike (ties fall to the
    index's own score)."""
    return [(repo, hit, 1.0 / (RRF_K + rank)) for repo, hits in found.items()
            for rank, hit in enumerate(hits, start=1)]


def merge_by_minmax(found: Mapping[str, Sequence[Hit]]) -> Merged:
    out: Merged = []
    for repo, hits in found.items():
        if not hits:
            continue
        high, low = max(h.score for h in hits), min(h.score for h in hits)
        span = high - low
        out += [(repo, h, (h.score - low) / span if span > 0 else 1.0) for h in hits]
    return out


MERGES: dict[str, Callable[[Mapping[str, Sequence[Hit]]], Merged]] = {
    "score": merge_by_score, "rank": merge_by_rank, "minmax": merge_by_minmax}
DEFAULT_MERGE = "score"


def merge(found: Mapping[str, Sequence[Hit]], k: int, how: str = DEFAULT_MERGE) -> list[RepoHit]:
    """The best `k` of every repository's hits, merged `how` (a key of MERGES); ties go to
    the higher own score, then the repository's name, so the order is reproducible."""
    if how not in MERGES:
        raise UsageError(f"unknown merge {how!r}", hint=f"use one of: {', '.join(MERGES)}")
    merged = MERGES[how](found)
    merged.sort(key=lambda t: (-t[2], -t[1].score, t[0], t[1].path, t[1].start_line))
    return [RepoHit(repo, hit, score) for repo, hit, score in merged[:k]]


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
    outcomes: dict[str, RepoOutcome] = {}
    usage: UsageError | None = None
    for future, name in futures.items():
        if future not in done:
            future.cancel()
            outcomes[name] = RepoOutcome(name, "timeout", ms=(clock() - started) * 1000,
                                         error=f"no answer within {deadline_s:g} s")
            continue
        try:
            hits, ms = future.result()
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
        found[name] = hits
        outcomes[name] = RepoOutcome(name, "ok", hits=len(hits), ms=ms)
    if usage is not None and not found:
        raise usage  # the request itself is wrong (a bad filter): say so, not "partial"
    return FederatedResult(query, tuple(merge(found, k, how)),
                           tuple(outcomes[name] for name in searches))


def _timed(fn: RepoSearch, clock: Callable[[], float]) -> tuple[list[Hit], float]:
    t0 = clock()
    hits = fn()
    return hits, (clock() - t0) * 1000


def _one_line(exc: CodesiftError) -> str:
    hint = getattr(exc, "hint", None)
    return f"{exc}" + (f" ({hint})" if hint else "")
