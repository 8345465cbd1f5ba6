"""Stage timing for observers (a server's metrics): a retriever wrapped to report how long
each of its calls took, under the retriever's own name.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from ..model import Filters
from .query import Query
from .retrievers import Retriever, Scored

StageObserver = Callable[[str, float], None]  # (stage name, seconds)


class TimedRetriever:
    """Behaves as the retriever it wraps. The dense retriever's time is the query
    embedding and the vector scan, on the searching thread, while the SQLite retrievers
    run (and are timed) on the worker (search._gather)."""

    def __init__(self, inner: Retriever, observe: StageObserver) -> None:
        self.inner = inner
        self.name = inner.name
        self.observe = observe

    def retrieve(self, query: Query, filters: Filters, limit: int) -> Scored:
        started = time.perf_counter()
        try:
            return self.inner.retrieve(query, filters, limit)
        finally:
            self.observe(self.name, time.perf_counter() - started)

    def rank_pool(self, query: Query, ranking: Scored, pool: Iterable[int]) -> Scored:
        """The dense retriever's pool ranking (search._gather). Not observed: a second
        sample per search would double the stage's count, for ~60 us on the stdlib."""
        return self.inner.rank_pool(query, ranking, pool)
