"""Prometheus metrics and structured logs: each app has its own registry, every series the
issue asks for is exported in Prometheus' text format over a real HTTP server, real
searches and real watch-mode re-indexes feed them, and logs are one JSON object per line."""

from __future__ import annotations

import io
import json
import logging
import queue
import subprocess
import sys
import threading
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import httpx
import pytest
from prometheus_client import make_wsgi_app
from prometheus_client.parser import text_string_to_metric_families

import codesift
from codesift.errors import NoIndexError, UsageError
from codesift.logs import configure_logging
from codesift.serve.metrics import Metrics
from codesift.watch import Watcher


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} from Prometheus' text format."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(text: str, name: str, **labels) -> float | None:
    return samples(text).get((name, tuple(sorted(labels.items()))))


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args) -> None:  # keep the test output clean
        pass


@pytest.fixture
def scrape():
    """Serve a Metrics registry on 127.0.0.1 as Prometheus would scrape it."""
    servers = []

    def serve(metrics: Metrics) -> str:
        server = make_server("127.0.0.1", 0, make_wsgi_app(metrics.registry),
                             handler_class=_Quiet)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/metrics"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def test_every_series_is_exported_and_apps_do_not_share(scrape):
    metrics, other = Metrics(), Metrics()
    metrics.observe_request("/v1/search", "post", 200, 0.012)
    metrics.observe_request("/v1/search", "POST", 200, 0.030)
    metrics.observe_request("/v1/ask", "POST", 502, 2.0)
    with metrics.tool("search_code"):
        pass
    with pytest.raises(NoIndexError), metrics.tool("get_symbol"):
        raise NoIndexError("no index")
    with metrics.stage("pack"):
        pass
    metrics.cache_lookup("llm", hit=True)
    metrics.cache_lookup("llm", hit=False)
    metrics.cache_lookup("llm", hit=True)
    metrics.set_index_size("click", {"files": 17, "chunks": 900, "vectors": 850,
                                     "symbols": 1000, "size_bytes": 12345, "repo": "/x"})
    metrics.count_error(TimeoutError("slow"), where="/v1/ask")

    body = httpx.get(scrape(metrics), timeout=10).text
    assert value(body, "codesift_request_seconds_count", endpoint="/v1/search", method="POST",
                 status="200") == 2
    assert value(body, "codesift_request_seconds_sum", endpoint="/v1/search", method="POST",
                 status="200") == pytest.approx(0.042)
    assert value(body, "codesift_request_seconds_bucket", endpoint="/v1/search", method="POST",
                 status="200", le="0.025") == 1
    assert value(body, "codesift_tool_seconds_count", tool="search_code", outcome="ok") == 1
    assert value(body, "codesift_tool_seconds_count", tool="get_symbol", outcome="error") == 1
    assert value(body, "codesift_errors_total", type="NoIndexError", where="tool:get_symbol") == 1
    assert value(body, "codesift_errors_total", type="TimeoutError", where="/v1/ask") == 1
    assert value(body, "codesift_stage_seconds_count", stage="pack") == 1
    assert value(body, "codesift_cache_lookups_total", cache="llm", result="hit") == 2
    assert value(body, "codesift_cache_lookups_total", cache="llm", result="miss") == 1
    assert value(body, "codesift_index_size", index="click", measure="chunks") == 900
    assert value(body, "codesift_index_size", index="click", measure="size_bytes") == 12345

    # A second app in the same process starts from zero and shares no series.
    assert "codesift_request_seconds_count{" not in httpx.get(scrape(other), timeout=10).text
    rendered, content_type = metrics.render()
    assert content_type.startswith("text/plain") and b"codesift_cache_lookups_total" in rendered


def test_searches_report_their_retrieval_stages(small_repo: Path):
    metrics = Metrics()
    with codesift.open_index(small_repo, dense=False) as idx:
        idx.update()
        metrics.set_index_size("small", idx.status())
        idx.stage_observer = metrics.observe_stage
        hits = idx.search("parse_header", k=3)
        idx.search("retry failed uploads", k=3)
    assert hits[0].symbol.endswith("parse_header")  # timing changes nothing
    text = metrics.render()[0].decode()
    for stage in ("lexical", "identifiers", "symbol", "frames"):
        assert value(text, "codesift_stage_seconds_count", stage=stage) == 2, stage
    assert value(text, "codesift_stage_seconds_count", stage="dense") is None  # dense is off
    assert value(text, "codesift_index_size", index="small", measure="files") == 7


def test_watch_mode_feeds_reindex_lag_and_counts(small_repo: Path):
    metrics = Metrics()
    events: queue.Queue = queue.Queue()
    watcher = Watcher(small_repo, dense=False,
                      listeners=[lambda e: metrics.observe_reindex(e, index="small"), events.put])
    watcher.start()
    try:
        assert watcher.ready.wait(30)
        events.get(timeout=30)  # the catch-up run: no lag to measure
        text = metrics.render()[0].decode()
        assert value(text, "codesift_reindex_seconds_count", index="small") == 1
        assert value(text, "codesift_reindex_lag_seconds_count", index="small") is None
        (small_repo / "pkg/session.py").write_text("def renamed(): pass\n")
        (small_repo / "web/server.go").unlink()
        seen: set[str] = set()
        while not {"pkg/session.py", "web/server.go"} <= seen:
            seen.update(events.get(timeout=30).paths)
    finally:
        watcher.stop()
    text = metrics.render()[0].decode()
    assert value(text, "codesift_reindex_lag_seconds_count", index="small") >= 1
    assert 0 < value(text, "codesift_reindex_lag_seconds_sum", index="small") < 30
    assert value(text, "codesift_reindexed_files_total", index="small", change="indexed") == 8
    assert value(text, "codesift_reindexed_files_total", index="small", change="deleted") == 1


def test_logs_are_json_lines_and_configured_only_on_request(small_repo: Path):
    imported = subprocess.run(
        [sys.executable, "-c", "import logging, codesift.logs, codesift.watch, codesift.serve.metrics;"
         " print(len(logging.getLogger('codesift').handlers), len(logging.getLogger().handlers))"],
        capture_output=True, text=True, timeout=60)
    assert imported.stdout.split() == ["0", "0"], imported.stderr

    stream = io.StringIO()
    logger = configure_logging("INFO", stream=stream)
    configure_logging("INFO", stream=stream)  # again: replaces, does not duplicate
    try:
        assert len(logger.handlers) == 1
        events: queue.Queue = queue.Queue()
        watcher = Watcher(small_repo, dense=False, listeners=[events.put]).start()
        events.get(timeout=30)
        watcher.stop()
        logging.getLogger("codesift.test").debug("below the level")
        records = [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        _reset(logger)
    assert len(records) == 1
    record = records[0]
    assert record["level"] == "INFO" and record["logger"] == "codesift.watch"
    assert record["message"] == "re-indexed" and record["files_indexed"] == 7
    assert record["repo"] == str(small_repo.resolve()) and "time" in record

    plain = io.StringIO()
    configure_logging("warning", stream=plain, json_lines=False)
    try:
        logging.getLogger("codesift.x").warning("disk almost full")
    finally:
        _reset(logging.getLogger("codesift"))
    assert "WARNING codesift.x: disk almost full" in plain.getvalue()
    with pytest.raises(UsageError):
        configure_logging("LOUD")


def _reset(logger: logging.Logger) -> None:
    logger.handlers.clear()
    logger.setLevel(logging.NOTSET)
    logger.propagate = True
