"""The HTTP API end to end through FastAPI's TestClient: registering repositories, index jobs
with progress, search, graph, map, files, status, many repositories, the CLI that
administers the server home, and the OpenAPI document checked by schemathesis."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import schemathesis
from click.testing import CliRunner
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import negative_data_rejection

from codesift.cli import main
from codesift.serve.schemas import MAX_FILE_LINES

from conftest import SMALL_REPO, long_issue, write_tree
from llm_server import Answer as LLMAnswer, Status as LLMStatus, llm_server  # noqa: F401
from http_support import app_for, bearer, make_home, serve, settle, token, wait_for

SECRET_LINE = 'AWS_KEY = "AKIAIOSFODNN7EXAMPLE"\n'


@pytest.fixture
def served(tmp_path: Path, small_repo: Path):
    """An app over a home with the small repository registered as "demo" and indexed."""
    (small_repo / "pkg" / "settings.py").write_text("DEBUG = False\n" + SECRET_LINE)
    (small_repo / "pkg" / "big.py").write_text(
        "".join(f"VALUE_{i} = {i}\n" for i in range(MAX_FILE_LINES + 500)))
    home = tmp_path / "home"
    secret = make_home(home, {"demo": small_repo})
    with TestClient(app_for(home, allowed_roots=(tmp_path,))) as client:
        client.headers.update(bearer(secret))
        yield client, home, small_repo


def _job_done(client: TestClient, job_id: str) -> dict:
    def finished():
        job = client.get(f"/jobs/{job_id}").json()
        return job if job["state"] in ("done", "failed") else None
    return wait_for(finished)


def test_register_then_index_job_then_search(tmp_path: Path, served):
    client, _, _ = served
    repo = write_tree(tmp_path / "other", {"billing/invoice.py": '''
        def total_with_tax(amount, rate):
            """Add the tax rate to an invoice amount."""
            return amount * (1 + rate)
    '''})
    created = client.post("/repos", json={"name": "billing", "path": str(repo), "dense": False})
    assert created.status_code == 201, created.text
    assert created.json()["job"]["state"] == "queued"
    job = _job_done(client, created.json()["job"]["id"])
    assert job["state"] == "done", job
    assert job["summary"]["files_indexed"] == 1 and job["attempts"] == 1
    assert job["progress"]["total"] >= 1

    hits = client.post("/repos/billing/search", json={"query": "total_with_tax"}).json()["hits"]
    assert hits[0]["path"] == "billing/invoice.py" and hits[0]["symbol"].endswith("total_with_tax")
    # Each repository answers from its own index.
    demo = client.post("/repos/demo/search", json={"query": "total_with_tax"}).json()["hits"]
    assert all(h["path"] != "billing/invoice.py" for h in demo)
    names = [r["name"] for r in client.get("/repos").json()]
    assert names == ["billing", "demo"]

    (repo / "billing" / "refund.py").write_text("def refund_invoice(invoice):\n    return 0\n")
    again = client.post("/repos/billing/index", json={})
    assert again.status_code == 202
    job = _job_done(client, again.json()["id"])
    assert job["summary"]["files_indexed"] == 1 and job["summary"]["files_unchanged"] == 1
    hits = client.post("/repos/billing/search", json={"query": "refund_invoice"}).json()["hits"]
    assert hits[0]["path"] == "billing/refund.py"
    listed = client.get("/repos/billing/jobs").json()
    assert [j["id"] for j in listed] == [again.json()["id"], created.json()["job"]["id"]]


def test_rebuild_job_swaps_the_database_and_searches_follow(served):
    client, _, repo = served
    before = client.post("/repos/demo/search", json={"query": "parse_header"}).json()["hits"]
    job = client.post("/repos/demo/index", json={"rebuild": True}).json()
    assert job["rebuild"] is True
    assert _job_done(client, job["id"])["state"] == "done"
    after = client.post("/repos/demo/search", json={"query": "parse_header"}).json()["hits"]
    assert [h["symbol"] for h in after] == [h["symbol"] for h in before]
    assert client.get("/repos/demo/status").json()["index"]["files"] >= 7


def test_a_second_request_while_queued_reuses_the_job(tmp_path: Path):
    home = tmp_path / "home"
    repo = write_tree(tmp_path / "repo", SMALL_REPO)
    secret = make_home(home, {"demo": repo}, index=False)
    client = TestClient(app_for(home))  # no lifespan: the worker is not running
    first = client.post("/repos/demo/index", headers=bearer(secret)).json()
    second = client.post("/repos/demo/index", headers=bearer(secret)).json()
    assert first["id"] == second["id"] and first["state"] == "queued"
    status = client.get("/repos/demo/status", headers=bearer(secret)).json()
    assert status["indexed"] is False and status["jobs"][0]["id"] == first["id"]
    refused = client.post("/repos/demo/search", json={"query": "send"}, headers=bearer(secret))
    assert refused.status_code == 409 and "codesift index" in refused.json()["hint"]
    assert client.get("/readyz").status_code == 503


def test_job_progress_streams_as_server_sent_events(served):
    client, _, _ = served
    job = client.post("/repos/demo/index", json={"rebuild": True}).json()
    events = []
    with client.stream("GET", f"/jobs/{job['id']}/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((kind, json.loads(line.removeprefix("data: "))))
    assert events[-1][0] == "done" and events[-1][1]["state"] == "done"
    assert {kind for kind, _ in events[:-1]} <= {"progress"}
    assert client.get("/readyz").json()["open_streams"] == 0


def test_graph_queries(served):
    client, _, _ = served
    callers = client.get("/repos/demo/graph/callers",
                         params={"symbol": "HttpClient._transport"}).json()
    assert callers["roots"][0]["symbol"] == "pkg.client.HttpClient._transport"
    assert [r["symbol"] for r in callers["results"]] == ["pkg.client.HttpClient.send"]
    callees = client.get("/repos/demo/graph/callees",
                         params={"symbol": "HttpClient.send", "depth": 2}).json()
    assert "pkg.client.HttpClient._transport" in {r["symbol"] for r in callees["results"]}
    members = client.get("/repos/demo/graph/members", params={"symbol": "HttpClient"}).json()
    assert {r["symbol"].rsplit(".", 1)[-1] for r in members["results"]} >= {"send", "_transport"}
    defs = client.get("/repos/demo/graph/defs", params={"symbol": "parse_header"}).json()
    assert [(d["path"], d["kind"]) for d in defs] == [("pkg/client.py", "function")]
    path = client.get("/repos/demo/graph/path", params={
        "source": "HttpClient.send", "target": "HttpClient._transport"}).json()
    assert [h["symbol"].rsplit(".", 1)[-1] for h in path["results"]] == ["send", "_transport"]
    for relation in ("refs", "subclasses", "implementations"):
        got = client.get(f"/repos/demo/graph/{relation}", params={"symbol": "HttpClient"})
        assert got.status_code == 200, (relation, got.text)
    limited = client.get("/repos/demo/graph/members", params={"symbol": "HttpClient", "limit": 1})
    assert len(limited.json()["results"]) == 1 and limited.json()["truncated"] is True
    missing = client.get("/repos/demo/graph/callers", params={"symbol": "no_such_thing"})
    assert missing.status_code == 404
    assert missing.json()["message"].startswith("no definition named") and missing.json()["hint"]


def test_map_files_and_status(served):
    client, _, _ = served
    repo_map = client.get("/repos/demo/map", params={"budget": 300, "focus": "pkg/client.py"})
    assert repo_map.status_code == 200
    assert repo_map.json()["tokens"] <= 300 and "HttpClient" in repo_map.json()["text"]

    part = client.get("/repos/demo/files", params={"path": "pkg/client.py", "start": 7, "end": 8})
    assert part.json()["text"] == ('class HttpClient:\n'
                                   '    """Sends requests and retries failed uploads."""')
    assert (part.json()["start_line"], part.json()["end_line"]) == (7, 8)

    big = client.get("/repos/demo/files", params={"path": "pkg/big.py"}).json()
    assert big["end_line"] == MAX_FILE_LINES and big["truncated"] is True
    assert big["total_lines"] == MAX_FILE_LINES + 500
    rest = client.get("/repos/demo/files",
                      params={"path": "pkg/big.py", "start": MAX_FILE_LINES + 1}).json()
    assert rest["end_line"] == MAX_FILE_LINES + 500 and rest["truncated"] is False

    secret = client.get("/repos/demo/files", params={"path": "pkg/settings.py"}).json()
    assert "AKIAIOSFODNN7EXAMPLE" not in secret["text"] and secret["redactions"] == 1

    status = client.get("/repos/demo/status").json()
    assert status["indexed"] is True and status["index"]["files"] >= 7
    assert status["index"]["graph"]["current"] is True


def test_context_packs_cited_code_within_the_budget(served):
    client, home, _ = served
    got = client.post("/repos/demo/context", json={"question": "how are failed uploads retried?",
                                                   "budget": 300})
    assert got.status_code == 200, got.text
    packed = got.json()
    assert packed["tokens"] <= 300 and "pkg/client.py" in {c["path"] for c in packed["citations"]}
    assert "retries" in packed["text"]
    entry = client.get("/audit", params={"limit": 1}).json()[0]
    assert entry["endpoint"] == "/repos/demo/context"
    assert entry["paths"] == list(dict.fromkeys(c["path"] for c in packed["citations"]))


def test_a_pasted_100000_character_issue_is_answered(served):
    client, _, _ = served
    issue = long_issue(100_000)
    found = client.post("/repos/demo/search", json={"query": issue, "k": 3})
    assert found.status_code == 200, found.text
    top = found.json()["hits"][0]
    assert (top["path"], top["symbol"]) == ("pkg/session.py", "pkg.session.save_session")
    packed = client.post("/repos/demo/context", json={"question": issue, "budget": 500})
    assert packed.status_code == 200, packed.text
    assert "pkg/session.py" in {c["path"] for c in packed.json()["citations"]}


def test_a_body_past_the_limit_gets_a_clear_413(served):
    client, _, _ = served
    issue = long_issue(300_000)  # more than the default 256 KB body
    got = client.post("/repos/demo/search", json={"query": issue})
    assert got.status_code == 413
    body = got.json()
    assert body["message"].startswith("request body of ") and "262,144 allowed" in body["message"]
    assert "--max-body" in body["hint"] and "stack trace" in body["hint"]


def _events(response) -> list[tuple[str, dict]]:
    events, kind = [], None
    for line in response.iter_lines():
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            events.append((kind, json.loads(line.removeprefix("data: "))))
    return events


def _llm_settings(monkeypatch, base_url: str | None) -> None:
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "CODESIFT_LLM_FALLBACKS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CODESIFT_LLM_CACHE", "0")
    if base_url:
        monkeypatch.setenv("CODESIFT_LLM_BASE_URL", base_url)
        monkeypatch.setenv("CODESIFT_LLM_MODEL", "test-model")
    else:
        monkeypatch.delenv("CODESIFT_LLM_BASE_URL", raising=False)
        monkeypatch.delenv("CODESIFT_LLM_MODEL", raising=False)


def test_ask_streams_a_grounded_answer(served, llm_server, monkeypatch):
    _llm_settings(monkeypatch, llm_server.base_url)
    client, _, _ = served
    llm_server.push(LLMAnswer("`HttpClient.send` retries with backoff [pkg/client.py:14-21]."))
    with client.stream("POST", "/repos/demo/ask",
                       json={"question": "how are failed uploads retried?"}) as got:
        assert got.status_code == 200
        assert got.headers["content-type"].startswith("text/event-stream")
        events = _events(got)
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "context" and kinds[-1] == "answer" and "delta" in kinds
    assert "pkg/client.py" in {c["path"] for c in events[0][1]["citations"]}
    final = events[-1][1]
    assert "".join(d["text"] for k, d in events if k == "delta") == final["answer"]
    assert final["answer"].startswith("`HttpClient.send` retries") and final["supported"]
    assert final["check"] is not None and final["model"] == "test-model"
    prompt = "\n".join(m["content"] for m in llm_server.chat_requests[0].body["messages"])
    assert "class HttpClient" in prompt  # the packed code went to the LLM
    ready = client.get("/readyz").json()
    assert ready["open_streams"] == 0 and ready["answers_running"] == 0
    metrics = client.get("/metrics").text  # the answer cache's lookups are counted
    assert 'codesift_cache_lookups_total{cache="llm",result="miss"} 1.0' in metrics


def test_ask_reports_llm_failures(served, llm_server, monkeypatch):
    client, _, _ = served
    _llm_settings(monkeypatch, None)
    refused = client.post("/repos/demo/ask", json={"question": "how are uploads retried?"})
    assert refused.status_code == 409 and "llm_base_url" in refused.json()["hint"]

    client.app.state.codesift.registry.close()  # settings are read when an Index opens
    _llm_settings(monkeypatch, llm_server.base_url)
    llm_server.push(LLMStatus(401, "bad key"))
    question = {"question": "how are uploads retried?"}
    with client.stream("POST", "/repos/demo/ask", json=question) as got:
        events = _events(got)
    assert [k for k, _ in events] == ["context", "error"]
    assert "401" in events[-1][1]["message"] and events[-1][1]["hint"]


def test_cli_administers_the_home(tmp_path: Path):
    home = tmp_path / "home"
    repo = write_tree(tmp_path / "repo", SMALL_REPO)
    run = CliRunner().invoke
    made = run(main, ["token", "create", "ci", "--repo", "demo", "--action", "index",
                      "--home", str(home), "--json"])
    assert made.exit_code == 0, made.output
    created = json.loads(made.stdout)
    assert created["token"].startswith("cs_") and created["actions"] == ["index"]
    listed = json.loads(run(main, ["token", "list", "--home", str(home), "--json"]).stdout)
    assert [t["id"] for t in listed] == [created["id"]] and "token" not in listed[0]
    assert created["token"] not in (home / "server.db").read_bytes().decode("latin-1")

    added = run(main, ["repo", "add", "demo", str(repo), "--no-dense", "--home", str(home),
                       "--json"])
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["job"]["state"] == "queued"
    dup = run(main, ["repo", "add", "demo", str(repo), "--home", str(home)])
    assert dup.exit_code == 1 and "already registered" in dup.stderr
    bad = run(main, ["repo", "add", "../x", str(repo), "--home", str(home)])
    assert bad.exit_code == 2 and "bad repository name" in bad.stderr
    assert json.loads(run(main, ["repo", "list", "--home", str(home), "--json"]).stdout)[0][
        "path"] == str(repo.resolve())

    revoked = run(main, ["token", "revoke", created["id"], "--home", str(home)])
    assert revoked.exit_code == 0
    assert json.loads(run(main, ["token", "list", "--home", str(home), "--json"]).stdout) == []
    assert run(main, ["token", "revoke", "tok_nope", "--home", str(home)]).exit_code == 1
    assert run(main, ["repo", "remove", "demo", "--home", str(home)]).exit_code == 0
    assert json.loads(run(main, ["audit", "--home", str(home), "--json"]).stdout) == []


def test_serve_refuses_no_auth_beyond_loopback(tmp_path: Path):
    got = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--no-auth",
                                    "--home", str(tmp_path / "home")])
    assert got.exit_code == 2 and "--no-auth is refused" in got.stderr


def test_no_auth_on_loopback_checks_the_host_header(tmp_path: Path, small_repo: Path):
    home = tmp_path / "home"
    make_home(home, {"demo": small_repo})
    client = TestClient(app_for(home, auth=False), base_url="http://127.0.0.1:8765")
    assert client.post("/repos/demo/search", json={"query": "send"}).status_code == 200
    rebound = client.get("/repos/demo/status", headers={"Host": "evil.example:8765"})
    assert rebound.status_code == 400


def test_dense_search_over_http_never_imports_torch(tmp_path: Path, small_repo: Path):
    """A dense index, searched through the API in a fresh process: queries go through ONNX
    Runtime (and the small index was embedded with it too)."""
    home = tmp_path / "home"
    secret = make_home(home, {"demo": small_repo}, dense=True)
    code = textwrap.dedent(f"""
        import sys
        from fastapi.testclient import TestClient
        from codesift.serve.deps import ServerConfig
        from codesift.serve.http import create_app
        client = TestClient(create_app({str(home)!r}, ServerConfig()))
        query = {{"query": "send a request again after a failure"}}
        got = client.post("/repos/demo/search", json=query,
                          headers={{"Authorization": "Bearer {secret}"}})
        assert got.status_code == 200, got.text
        assert any("dense" in h["sources"] for h in got.json()["hits"]), got.json()
        assert "torch" not in sys.modules, "torch was imported"
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_mcp_is_served_per_repository_behind_the_tokens(tmp_path: Path, small_repo: Path):
    """A real MCP client over streamable HTTP against `codesift serve`: /mcp/{name} is that
    repository's MCP server; tokens and scopes hold as on the REST API."""
    import anyio
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    other = write_tree(tmp_path / "other", {"lib/other.py": "def other_thing():\n    return 1\n"})
    home = tmp_path / "home"
    admin = make_home(home, {"demo": small_repo, "other": other})
    reader = token(home, "reader", ["demo"], ["read"])
    server = serve(home, tmp_path / "serve.log")
    results = {}

    async def session(name: str, secret: str, query: str) -> None:
        transport = streamable_http_client(
            f"{server.url}/mcp/{name}", http_client=create_mcp_http_client(headers=bearer(secret)))
        async with Client(transport) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            found = await client.call_tool("search_code", {"query": query, "k": 3})
            leak = await client.call_tool("read_range", {"path": "../../etc/passwd"})
            results[name] = (tools, found.structured_content, leak.is_error)

    try:
        anyio.run(session, "demo", reader, "parse_header")
        anyio.run(session, "other", admin, "other_thing")
        tools, found, leak_refused = results["demo"]
        assert {"search_code", "read_range", "find_callers"} <= tools
        assert found["hits"][0]["path"] == "pkg/client.py" and leak_refused
        assert [h["path"] for h in results["other"][1]["hits"]] == ["lib/other.py"]  # its own
        with server.client() as plain:
            ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
            assert plain.post("/mcp/demo", json=ping).status_code == 401
            refused = plain.post("/mcp/other", json=ping, headers=bearer(reader))
            assert refused.status_code == 403 and "may not read" in refused.json()["message"]
            assert plain.post("/mcp/nope", json=ping, headers=bearer(admin)).status_code == 404
            audit = plain.get("/audit", headers=bearer(admin)).json()
            ids = {t["name"]: t["id"] for t in plain.get("/tokens", headers=bearer(admin)).json()}
        assert {(e["token_id"], e["status"]) for e in audit if e["repo"] == "demo"} >= {
            (ids["reader"], 200), (None, 401)}
    finally:
        settle(server.process)


# -- the OpenAPI document against the app's behaviour -------------------------------------------

REAL_NAMES = {  # query parameters naming what the small repository holds
    "/repos/{name}/graph/{relation}": {"symbol": "HttpClient"},
    "/repos/{name}/graph/defs": {"symbol": "parse_header"},
    "/repos/{name}/graph/path": {"source": "HttpClient.send", "target": "HttpClient._transport"},
    "/repos/{name}/files": {"path": "pkg/client.py"},
}


def test_openapi_matches_behaviour(tmp_path: Path, small_repo: Path, monkeypatch):
    """Every operation with generated inputs, valid and invalid: never a 5xx, and every
    response (status, content type, body, headers) as the document says. Valid cases name
    the real repository, so search, graph, map and files run, not only the 404 path."""
    _llm_settings(monkeypatch, None)  # /ask answers 409: no LLM in this test
    home = tmp_path / "home"
    admin = make_home(home, {"demo": small_repo})
    reader = token(home, "reader", ["demo"], ["read"])
    empty = tmp_path / "allowed"
    empty.mkdir()
    # POST /repos may only point into an empty folder; jobs index the small repository.
    app = app_for(home, allowed_roots=(empty,), rate=0)
    # Schema-valid input the server still refuses, on purpose: 400 for what no schema can
    # say (the folder does not exist, the path leaves the repository, the query has no
    # searchable word). Anything else for valid data, a 422 above all, is a schema mismatch.
    config = SchemathesisConfig.from_dict({"checks": {"positive_data_acceptance": {
        "expected-statuses": ["2xx", 400, 401, 403, 404, 409, 429]}}})
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    # Invalid cases: every check but "was it rejected", because the token added to each case
    # restores a header the case meant to leave out, and FastAPI ignores unknown query
    # parameters by design (a typo'd one falls back to the default).
    excluded = {GenerationMode.POSITIVE: [], GenerationMode.NEGATIVE: [negative_data_rejection]}
    calls = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            # DELETEs run with a read-only token: nothing the other cases need disappears.
            deleting = operation.method.upper() == "DELETE"
            named = "{name}" in operation.path and mode is GenerationMode.POSITIVE and not deleting
            strategy = operation.as_strategy(
                generation_mode=mode, path_parameters={"name": "demo"} if named else None,
                query=REAL_NAMES.get(operation.path) if named else None)

            @given(case=strategy)
            @settings(max_examples=6, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            def check(case):
                response = case.call_and_validate(headers=bearer(reader if deleting else admin),
                                                  excluded_checks=excluded[mode])
                calls.append((operation.method, operation.path, response.status_code))

            try:
                check()
            except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
                assert mode is GenerationMode.NEGATIVE, operation.path
    statuses = {status for _, _, status in calls}
    assert max(statuses) < 500 and {200, 404, 422} <= statuses


def test_served_connections_send_without_waiting_for_acks():
    """`codesift serve` listens on its own socket: asyncio sets TCP_NODELAY on what it
    accepts only when that socket says IPPROTO_TCP, and without it every request after a
    keep-alive connection's first took ~40 ms more (Nagle against a delayed ACK)."""
    import asyncio
    import socket

    from codesift.cli.http import _listen

    async def accepted_nodelay() -> int:
        seen: asyncio.Future = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport):
                sock = transport.get_extra_info("socket")
                seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        listener = _listen("127.0.0.1", 0)
        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        _, writer = await asyncio.open_connection("127.0.0.1", listener.getsockname()[1])
        try:
            return await asyncio.wait_for(seen, 60)
        finally:
            writer.close()
            server.close()
            await server.wait_closed()

    assert asyncio.run(accepted_nodelay()) != 0
