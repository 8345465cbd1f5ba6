"""Prometheus metrics for one server app, in a registry of its own (no process globals):
request and tool latency, retrieval stages, caches, index sizes, re-index lag, errors.
"""

# Why a registry per app: two apps in one process (tests, a server hosting several
# repositories) must not share or double-register series. Hit *rates* are left to PromQL
# (rate(hits) / rate(lookups)): counters add up across restarts and replicas, ratios do not.

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge,
                               Histogram, generate_latest)

if TYPE_CHECKING:
    from ..watch import Reindex

NAMESPACE = "codesift"
# Searches run 5-50 ms warm, an answer through an LLM seconds: buckets span both.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                   10.0, 30.0, 60.0)
STAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
REINDEX_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 120.0, 600.0)
INDEX_SIZES = ("files", "chunks", "symbols", "vectors", "size_bytes")


class Metrics:
    """The series one app exports. Label `index` names a repository (a server may host
    several); `endpoint` is a route template, never a raw URL (cardinality)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        reg = {"namespace": NAMESPACE, "registry": self.registry}
        self.requests = Histogram(
            "request_seconds", "HTTP request latency by endpoint, method and status code",
            ["endpoint", "method", "status"], buckets=LATENCY_BUCKETS, **reg)
        self.tools = Histogram(
            "tool_seconds", "Agent tool call latency by tool and outcome (ok or error)",
            ["tool", "outcome"], buckets=LATENCY_BUCKETS, **reg)
        self.stages = Histogram(
            "stage_seconds", "Time in each retrieval stage (retrievers, fusion, packing)",
            ["stage"], buckets=STAGE_BUCKETS, **reg)
        self.cache = Counter(
            "cache_lookups_total", "Cache lookups by cache and result (hit or miss)",
            ["cache", "result"], **reg)
        self.index_size = Gauge(
            "index_size", "What an index holds: files, chunks, symbols, vectors, size_bytes",
            ["index", "measure"], **reg)
        self.reindex_lag = Histogram(
            "reindex_lag_seconds", "From a file change to the index holding it (watch mode)",
            ["index"], buckets=REINDEX_BUCKETS, **reg)
        self.reindex_seconds = Histogram(
            "reindex_seconds", "Time of one re-index run (watch mode)", ["index"],
            buckets=REINDEX_BUCKETS, **reg)
        self.reindexed_files = Counter(
            "reindexed_files_total", "Files re-indexed or removed by watch-mode runs",
            ["index", "change"], **reg)
        self.errors = Counter(
            "errors_total", "Errors by exception type and where they happened",
            ["type", "where"], **reg)

    # -- timing helpers ---------------------------------------------------------

    def observe_request(self, endpoint: str, method: str, status: int | str,
                        seconds: float) -> None:
        self.requests.labels(endpoint, method.upper(), str(status)).observe(seconds)

    @contextmanager
    def tool(self, name: str) -> Iterator[None]:
        """Time an agent tool call; an exception counts as an error of its type."""
        started = time.perf_counter()
        outcome = "ok"
        try:
            yield
        except BaseException as exc:
            outcome = "error"
            self.count_error(exc, where=f"tool:{name}")
            raise
        finally:
            self.tools.labels(name, outcome).observe(time.perf_counter() - started)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time one stage of a request: `with metrics.stage("pack"): ...`."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.observe_stage(name, time.perf_counter() - started)

    def observe_stage(self, name: str, seconds: float) -> None:
        """Fits `Index.stage_observer`: `index.stage_observer = metrics.observe_stage`."""
        self.stages.labels(name).observe(seconds)

    # -- counters and gauges ----------------------------------------------------

    def cache_lookup(self, cache: str, hit: bool) -> None:
        self.cache.labels(cache, "hit" if hit else "miss").inc()

    def count_error(self, error: BaseException | str, where: str) -> None:
        kind = error if isinstance(error, str) else type(error).__name__
        self.errors.labels(kind, where).inc()

    def set_index_size(self, index: str, status: Mapping) -> None:
        """From `Index.status()`: files, chunks, symbols, vectors and bytes on disk."""
        for measure in INDEX_SIZES:
            if isinstance(status.get(measure), int | float):
                self.index_size.labels(index, measure).set(status[measure])

    def observe_reindex(self, event: Reindex, index: str = "default") -> None:
        """A watcher listener: `Watcher(..., listeners=[metrics.observe_reindex])`."""
        if event.error:
            self.count_error(event.error_type or "Error", where="reindex")
            return
        self.reindex_seconds.labels(index).observe(event.seconds)
        if event.paths:  # the start-up catch-up run has no change to measure a lag from
            self.reindex_lag.labels(index).observe(event.lag)
        self.reindexed_files.labels(index, "indexed").inc(event.files_indexed)
        self.reindexed_files.labels(index, "deleted").inc(event.files_deleted)

    # -- export ----------------------------------------------------------------

    def render(self) -> tuple[bytes, str]:
        """The `/metrics` response: (body, content type) in Prometheus' text format."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
