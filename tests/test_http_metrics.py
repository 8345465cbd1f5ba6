"""`GET /metrics` and `codesift serve --watch` through FastAPI's TestClient: who may read the
metrics, request latency by route template, retrieval stages, index sizes, errors by type,
and edits to a registered repository becoming searchable over HTTP while the server runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

import codesift

from conftest import SMALL_REPO, write_tree
from http_support import app_for, bearer, make_home, token, wait_for

SEARCH = "/repos/{name}/search"


def samples(client: TestClient) -> list[tuple[str, dict, float]]:
    got = client.get("/metrics")
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("text/plain")
    return [(s.name, s.labels, s.value)
            for family in text_string_to_metric_families(got.text) for s in family.samples]


def value(rows, name: str, **labels) -> float:
    """The sum of `name`'s samples carrying `labels` (0 when there is none)."""
    return sum(v for n, lab, v in rows if n == name and labels.items() <= lab.items())


@pytest.fixture
def served(tmp_path: Path):
    repo = write_tree(tmp_path / "demo", SMALL_REPO)
    other = write_tree(tmp_path / "other", {"lib/other.py": "def other_thing():\n    return 1\n"})
    home = tmp_path / "home"
    admin = make_home(home, {"demo": repo, "other": other})
    with TestClient(app_for(home, allowed_roots=(tmp_path,))) as client:
        client.headers.update(bearer(admin))
        yield client, home, repo


def test_metrics_need_a_token_that_reads_every_repository(served):
    client, home, _ = served
    anonymous = client.get("/metrics", headers={"Authorization": ""})
    assert anonymous.status_code == 401 and anonymous.json()["hint"]
    one_repo = token(home, "demo-reader", ["demo"], ["admin"])
    refused = client.get("/metrics", headers=bearer(one_repo))
    assert refused.status_code == 403 and "--repo '*'" in refused.json()["hint"]
    monitor = token(home, "prometheus", ["*"], ["read"])
    assert client.get("/metrics", headers=bearer(monitor)).status_code == 200
    audited = [e for e in client.get("/audit").json() if e["endpoint"] == "/metrics"]
    assert sorted(e["status"] for e in audited) == [401, 403]


def test_a_search_shows_in_latency_stages_and_index_size(served):
    client, *_ = served
    before = samples(client)
    assert value(before, "codesift_request_seconds_count", endpoint=SEARCH) == 0
    hits = client.post("/repos/demo/search", json={"query": "retry with backoff"}).json()["hits"]
    assert hits
    rows = samples(client)
    assert value(rows, "codesift_request_seconds_count", endpoint=SEARCH, method="POST",
                 status="200") == 1
    # Labels are route templates, never the raw URL.
    assert not any(lab.get("endpoint", "").startswith("/repos/demo") for _, lab, _ in rows)
    for stage in ("lexical", "identifiers", "symbol", "frames"):
        assert value(rows, "codesift_stage_seconds_count", stage=stage) == 1, stage
    with codesift.open_index(served[2], dense=False) as index:
        files = index.status()["files"]
    assert value(rows, "codesift_index_size", index="demo", measure="files") == files > 0
    assert value(rows, "codesift_index_size", index="demo", measure="chunks") > 0
    assert value(rows, "codesift_index_size", index="other") == 0  # not opened yet


def test_errors_are_counted_by_type_and_route(served):
    client, *_ = served
    assert client.post("/repos/nothere/search", json={"query": "x"}).status_code == 404
    assert client.post("/repos/demo/search", json={"query": "x", "k": 0}).status_code == 422
    assert client.get("/no/such/path/abc123").status_code == 404
    rows = samples(client)
    assert value(rows, "codesift_errors_total", type="NotFound", where=SEARCH) == 1
    assert value(rows, "codesift_errors_total", type="RequestValidationError", where=SEARCH) == 1
    assert value(rows, "codesift_errors_total", type="HTTPException", where="unmatched") == 1
    assert value(rows, "codesift_request_seconds_count", endpoint="unmatched", status="404") == 1
    assert not any("abc123" in str(lab) for _, lab, _ in rows)


def test_index_jobs_update_the_index_size(served):
    client, *_ = served
    job = client.post("/repos/other/index", json={}).json()
    wait_for(lambda: client.get(f"/jobs/{job['id']}").json()["state"] == "done", timeout=30)
    assert value(samples(client), "codesift_index_size", index="other", measure="files") == 1


def _watched(client: TestClient, name: str, runs: int = 1) -> list:
    """Wait (a liveness deadline) until `name`'s watcher has finished `runs` re-index runs."""
    def done():
        rows = samples(client)
        return rows if value(rows, "codesift_reindex_seconds_count", index=name) >= runs \
            else None
    return wait_for(done, timeout=20, step=0.1)


def _finds(client: TestClient, name: str, query: str, path: str):
    def found():
        hits = client.post(f"/repos/{name}/search", json={"query": query}).json()["hits"]
        return any(h["path"] == path for h in hits)
    wait_for(found, timeout=20, step=0.1)


def test_watch_makes_edits_searchable_over_http(tmp_path: Path, small_repo: Path):
    home = tmp_path / "home"
    admin = make_home(home, {"demo": small_repo})
    app = app_for(home, watch=True)
    with TestClient(app) as client:
        client.headers.update(bearer(admin))
        rows = _watched(client, "demo")  # the start-up catch-up run
        runs = value(rows, "codesift_reindex_seconds_count", index="demo")
        indexed = value(rows, "codesift_reindexed_files_total", index="demo", change="indexed")
        files = value(rows, "codesift_index_size", index="demo", measure="files")
        query = "reconcile_ledger_entries"
        assert not any(h["path"] == "pkg/ledger.py" for h in client.post(
            "/repos/demo/search", json={"query": query}).json()["hits"])
        (small_repo / "pkg" / "ledger.py").write_text(
            "def reconcile_ledger_entries(entries):\n    return sorted(entries)\n")
        _finds(client, "demo", query, "pkg/ledger.py")
        rows = _watched(client, "demo", runs + 1)
        assert value(rows, "codesift_reindexed_files_total", index="demo",
                     change="indexed") >= indexed + 1
        assert value(rows, "codesift_reindex_lag_seconds_count", index="demo") >= 1
        assert value(rows, "codesift_index_size", index="demo", measure="files") == files + 1
        watchers = app.state.watchers.watching
        assert list(watchers) == ["demo"]
        threads = [w.watcher for w in watchers.values()]
    # The lifespan's end stops every watcher.
    assert app.state.watchers.watching == {} and all(w.stop_event.is_set() for w in threads)


def test_watch_picks_up_a_repository_registered_while_running(tmp_path: Path,
                                                              small_repo: Path):
    home = tmp_path / "home"
    admin = make_home(home, {"demo": small_repo})
    with TestClient(app_for(home, watch=True, allowed_roots=(tmp_path,))) as client:
        client.headers.update(bearer(admin))
        repo = write_tree(tmp_path / "billing", {"billing/invoice.py": "def total(a):\n"
                                                                       "    return a\n"})
        created = client.post("/repos", json={"name": "billing", "path": str(repo),
                                              "dense": False})
        assert created.status_code == 201, created.text
        _watched(client, "billing")  # after its first job built the index
        (repo / "billing" / "refund.py").write_text("def refund_invoice_fully(x):\n    return 0\n")
        _finds(client, "billing", "refund_invoice_fully", "billing/refund.py")
