"""The HTTP API refuses what it must: no token, a wrong or revoked one, a token outside its
repositories or actions, paths leaving the repository (in every spelling), oversize bodies,
absurd `k`, request floods; and the audit log says who retrieved which paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import codesift
from codesift.serve.auth import RateLimiter, Scope
from codesift.serve.paths import confine, repo_relative
from codesift.errors import PathError

from conftest import SMALL_REPO, write_tree
from http_support import app_for, bearer, make_home, token

OUTSIDE_SECRET = "TOP-SECRET-OUTSIDE-THE-REPO"


@pytest.fixture
def server(tmp_path: Path):
    """Two indexed repositories, "demo" and "other", and tokens of several scopes."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text(f"KEY = {OUTSIDE_SECRET!r}\n")
    demo = write_tree(tmp_path / "demo", SMALL_REPO)
    # Links inside the repository pointing out of it: discovery never follows them.
    (demo / "pkg" / "leak.py").symlink_to(outside / "secret.py")
    (demo / "linked").symlink_to(outside, target_is_directory=True)
    other = write_tree(tmp_path / "other", {"lib/other.py": "def other_thing():\n    return 1\n"})
    home = tmp_path / "home"
    admin = make_home(home, {"demo": demo, "other": other})
    tokens = {"admin": admin,
              "reader": token(home, "reader", ["demo"], ["read"]),
              "indexer": token(home, "indexer", ["demo"], ["index"]),
              "demo-admin": token(home, "demo-admin", ["demo"], ["admin"])}
    app = app_for(home, allowed_roots=(tmp_path,), max_body_bytes=64 * 1024)
    return TestClient(app), tokens, demo, outside


PROTECTED = [  # (method, url, json body): one request per kind of protected route
    ("GET", "/repos", None),
    ("POST", "/repos", {"name": "x", "path": "/tmp"}),
    ("DELETE", "/repos/demo", None),
    ("POST", "/repos/demo/index", {}),
    ("GET", "/repos/demo/jobs", None),
    ("GET", "/jobs/job_0123/events", None),
    ("GET", "/jobs/job_0123", None),
    ("POST", "/repos/demo/search", {"query": "send"}),
    ("POST", "/search", {"query": "send"}),
    ("GET", "/repos/demo/graph/callers?symbol=send", None),
    ("GET", "/repos/demo/graph/path?source=send&target=parse_header", None),
    ("GET", "/repos/demo/graph/defs?symbol=send", None),
    ("GET", "/repos/demo/map", None),
    ("GET", "/repos/demo/files?path=pkg/client.py", None),
    ("GET", "/repos/demo/status", None),
    ("POST", "/repos/demo/context", {"question": "retries?"}),
    ("POST", "/repos/demo/ask", {"question": "retries?"}),
    ("GET", "/tokens", None),
    ("POST", "/tokens", {"name": "x", "repos": ["*"]}),
    ("DELETE", "/tokens/tok_0123", None),
    ("GET", "/audit", None),
    ("GET", "/metrics", None),
    ("GET", "/sql/databases", None),
    ("GET", "/sql/databases/shop/schema", None),
    ("POST", "/sql/context", {"question": "orders?"}),
    ("POST", "/sql/query", {"question": "orders?", "database": "shop"}),
]


def test_every_operation_is_covered_here(server):
    client, *_ = server
    spec = client.get("/openapi.json").json()
    documented = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    covered = {(m, "/repos/{name}/graph/{relation}" if "/graph/callers" in u else
                u.split("?")[0].replace("/repos/demo", "/repos/{name}")
                .replace("job_0123", "{job_id}").replace("tok_0123", "{token_id}")
               .replace("/databases/shop", "/databases/{name}"))
               for m, u, _ in PROTECTED}
    public = {("GET", "/healthz"), ("GET", "/readyz")}
    assert documented - public == covered
    for (method, path) in documented - public:
        assert spec["paths"][path][method.lower()]["security"] == [{"token": []}], path


@pytest.mark.parametrize("method, url, body", PROTECTED)
@pytest.mark.parametrize("credentials", [None, "cs_not-a-real-token", "Basic dXNlcjpwYXNz"])
def test_requests_without_a_valid_token_are_refused(server, method, url, body, credentials):
    client, *_ = server
    basic = credentials is not None and credentials.startswith("Basic")
    headers = {} if credentials is None else {
        "Authorization": credentials if basic else f"Bearer {credentials}"}
    got = client.request(method, url, json=body, headers=headers)
    assert got.status_code == 401, got.text
    assert got.headers["www-authenticate"] == "Bearer"
    assert got.json()["message"] and got.json()["hint"]


@pytest.mark.parametrize("who, method, url, body", [
    ("reader", "POST", "/repos/other/search", {"query": "other_thing"}),  # another repository
    ("reader", "GET", "/repos/other/files?path=lib/other.py", None),
    ("reader", "GET", "/repos/other/status", None),
    ("reader", "POST", "/repos/demo/index", {}),  # read may not index
    ("reader", "DELETE", "/repos/demo", None),
    ("reader", "GET", "/tokens", None),
    ("indexer", "POST", "/repos/other/index", {}),
    ("indexer", "DELETE", "/repos/demo", None),  # index may not administer
    ("indexer", "POST", "/repos", {"name": "new", "path": "/tmp"}),
    ("demo-admin", "GET", "/tokens", None),  # admin of one repository, not of the server
    ("demo-admin", "POST", "/tokens", {"name": "x", "repos": ["*"], "actions": ["admin"]}),
    ("demo-admin", "GET", "/audit", None),
    ("demo-admin", "DELETE", "/repos/other", None),
    ("demo-admin", "POST", "/repos", {"name": "other2", "path": "/tmp"}),
    # Databases are granted apart from repositories: these tokens have none.
    ("admin", "GET", "/sql/databases/shop/schema", None),
    ("admin", "POST", "/sql/context", {"question": "orders?"}),
    ("admin", "POST", "/sql/query", {"question": "orders?", "database": "shop"}),
])
def test_requests_outside_the_tokens_scope_are_refused(server, who, method, url, body):
    client, tokens, *_ = server
    got = client.request(method, url, json=body, headers=bearer(tokens[who]))
    assert got.status_code == 403, got.text
    assert "may not" in got.json()["message"]


def test_scopes_grant_what_they_say(server):
    client, tokens, *_ = server
    assert client.post("/repos/demo/search", json={"query": "send"},
                       headers=bearer(tokens["reader"])).status_code == 200
    assert client.post("/repos/demo/index", headers=bearer(tokens["indexer"])).status_code == 202
    assert client.get("/repos/demo/status", headers=bearer(tokens["indexer"])).status_code == 200
    listed = client.get("/repos", headers=bearer(tokens["reader"])).json()
    assert [r["name"] for r in listed] == ["demo"]  # "other" is not even listed
    assert Scope(("demo",), ("index",)).allows("read", "demo")
    assert not Scope(("demo",), ("read",)).allows("index", "demo")
    assert not Scope(("*",), ("bogus",)).allows("read", "demo")


def test_revoking_a_token_takes_effect_at_once(server):
    client, tokens, *_ = server
    reader = bearer(tokens["reader"])
    assert client.get("/repos/demo/status", headers=reader).status_code == 200
    reader_id = next(t["id"] for t in client.get("/tokens", headers=bearer(tokens["admin"])).json()
                     if t["name"] == "reader")
    revoked = client.delete(f"/tokens/{reader_id}", headers=bearer(tokens["admin"]))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert client.get("/repos/demo/status", headers=reader).status_code == 401
    again = client.delete(f"/tokens/{reader_id}", headers=bearer(tokens["admin"]))
    assert again.status_code == 400 and "already revoked" in again.json()["message"]


def test_a_token_made_over_http_works_and_only_its_hash_is_stored(server, tmp_path: Path):
    client, tokens, *_ = server
    made = client.post("/tokens", json={"name": "bot", "repos": ["other"], "actions": ["read"]},
                       headers=bearer(tokens["admin"]))
    assert made.status_code == 201
    secret = made.json()["token"]
    assert client.get("/repos/other/status", headers=bearer(secret)).status_code == 200
    assert client.get("/repos/demo/status", headers=bearer(secret)).status_code == 403
    stored = (tmp_path / "home" / "server.db").read_bytes()
    assert secret.encode() not in stored and tokens["admin"].encode() not in stored
    assert oct((tmp_path / "home" / "server.db").stat().st_mode & 0o777) == "0o600"


TRAVERSALS = [
    "../../etc/passwd",
    "pkg/../../../etc/passwd",
    "..%2f..%2fetc%2fpasswd",  # sent as-is: the query string decodes it to ../../etc/passwd
    "..%252f..%252fetc%252fpasswd",  # double-encoded: arrives as ..%2f..%2f...
    "%2e%2e/%2e%2e/etc/passwd",
    "%252e%252e/etc/passwd",
    "/etc/passwd",
    "%2Fetc%2Fpasswd",
    "//etc/passwd",
    "\\etc\\passwd",
    "..\\..\\etc\\passwd",
    "C:/Windows/win.ini",
    "~/.ssh/id_rsa",
    "pkg/client.py%00.txt",
    "pkg/client.py\x00.txt",
    "pkg/leak.py",  # a symlink inside the repository to a file outside
    "linked/secret.py",  # through a symlinked directory
    ".",
    "pkg/..",
]


@pytest.mark.parametrize("attempt", TRAVERSALS)
def test_paths_outside_the_repository_are_refused(server, attempt):
    client, tokens, demo, _ = server
    raw_query = "path=" + (attempt if "%" in attempt else attempt.replace("\x00", "%00"))
    got = client.get(f"/repos/demo/files?{raw_query}", headers=bearer(tokens["admin"]))
    assert got.status_code in (400, 404), (attempt, got.status_code, got.text)
    assert OUTSIDE_SECRET not in got.text and "root:" not in got.text
    assert got.json()["message"] and got.json()["hint"]


def test_an_indexed_file_replaced_by_a_symlink_is_not_followed(server):
    client, tokens, demo, outside = server
    target = demo / "pkg" / "session.py"
    assert client.get("/repos/demo/files", params={"path": "pkg/session.py"},
                      headers=bearer(tokens["admin"])).status_code == 200
    target.unlink()
    target.symlink_to(outside / "secret.py")
    got = client.get("/repos/demo/files", params={"path": "pkg/session.py"},
                     headers=bearer(tokens["admin"]))
    assert got.status_code == 400 and OUTSIDE_SECRET not in got.text
    assert "outside the repository" in got.json()["message"]


def test_path_confinement_rules(tmp_path: Path):
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    (root / "a" / "b.py").write_text("x = 1\n")
    (root / "up").symlink_to(tmp_path)
    assert repo_relative("./a//b.py") == "a/b.py"
    assert confine(root, "a/b.py") == ("a/b.py", (root / "a" / "b.py").resolve())
    for bad in ["", "   ", "a/../../x", "/a/b.py", "a\x01b", "a%2fb", "up/elsewhere.py", "~x",
                "x" * 5000]:
        with pytest.raises(PathError):
            confine(root, bad)
    assert repo_relative("100%_done.txt") == "100%_done.txt"  # a plain % is a file name
    # A link that leaves and comes back in lands inside: the real path decides.
    assert confine(root, "up/root/a/b.py")[1] == (root / "a" / "b.py").resolve()


def test_registering_outside_allowed_folders_is_refused(server, tmp_path: Path):
    client, tokens, *_ = server
    admin = bearer(tokens["admin"])
    got = client.post("/repos", json={"name": "etc", "path": "/etc", "index": False}, headers=admin)
    assert got.status_code == 403 and "--allow-path" in got.json()["hint"]
    link = tmp_path / "escape"
    link.symlink_to("/etc")
    got = client.post("/repos", json={"name": "etc", "path": str(link), "index": False},
                      headers=admin)
    assert got.status_code == 403  # the real path decides, not the link's name
    got = client.post("/repos", json={"name": "rel", "path": "demo", "index": False}, headers=admin)
    assert got.status_code == 422


def test_oversize_bodies_get_413(server):
    client, tokens, *_ = server
    headers = {**bearer(tokens["admin"]), "content-type": "application/json"}
    body = b'{"query": "' + b"a" * (80 * 1024) + b'"}'
    declared = client.post("/repos/demo/search", content=body, headers=headers)
    assert declared.status_code == 413 and "bytes" in declared.json()["message"]

    def chunks():  # no Content-Length: counted as it arrives
        yield b'{"query": "'
        for _ in range(80):
            yield b"a" * 1024
        yield b'"}'
    streamed = client.post("/repos/demo/search", content=chunks(), headers=headers)
    assert streamed.status_code == 413 and streamed.json()["hint"]
    unauthenticated = client.post("/repos/demo/search", content=body,
                                  headers={"content-type": "application/json"})
    assert unauthenticated.status_code == 413


def test_the_query_field_takes_what_the_body_limit_lets_through(tmp_path: Path):
    """The body limit is the guard; a query field holds up to the library's own cap, so a
    server given a bigger --max-body answers longer queries, up to 1,000,000 characters."""
    demo = write_tree(tmp_path / "demo", SMALL_REPO)
    home = tmp_path / "home"
    admin = make_home(home, {"demo": demo})
    client = TestClient(app_for(home, allowed_roots=(tmp_path,), max_body_bytes=4 * 1024 * 1024))
    long = client.post("/repos/demo/search", json={"query": "parse_header " * 30_000},
                       headers=bearer(admin))
    assert long.status_code == 200, long.text
    assert long.json()["hits"][0]["symbol"].endswith("parse_header")
    over = client.post("/repos/demo/search", json={"query": "x" * 1_000_001},
                       headers=bearer(admin))
    assert over.status_code == 422 and "query" in over.json()["message"]


@pytest.mark.parametrize("body", [
    {"query": "send", "k": 10**9}, {"query": "send", "k": 0}, {"query": "send", "k": -5},
    {"query": "send", "k": "all"}, {"query": ""}, {"query": "   "},
    {"query": "send", "unknown_field": 1}, {"k": 3},
])
def test_bad_search_requests_get_422(server, body):
    client, tokens, *_ = server
    got = client.post("/repos/demo/search", json=body, headers=bearer(tokens["admin"]))
    assert got.status_code == 422, got.text
    assert got.json()["message"].startswith("invalid request") and got.json()["errors"]


@pytest.mark.parametrize("url", [
    "/repos/demo/graph/callers?symbol=send&depth=1000000",
    "/repos/demo/graph/callers?symbol=send&limit=1000000000",
    "/repos/demo/graph/callers?symbol=send&min_confidence=nan",
    "/repos/demo/map?budget=1000000000",
    "/repos/demo/files?path=pkg/client.py&start=0",
    "/repos/..%2f..%2fetc/status",
    "/audit?limit=100000000",
])
def test_absurd_parameters_get_4xx(server, url):
    client, tokens, *_ = server
    got = client.get(url, headers=bearer(tokens["admin"]))
    assert 400 <= got.status_code < 500, got.text


def test_rate_limit_gives_429_with_retry_after(tmp_path: Path, small_repo: Path):
    home = tmp_path / "home"
    admin = make_home(home, {"demo": small_repo})
    other = token(home, "other", ["demo"], ["read"])
    client = TestClient(app_for(home, rate=0.01, burst=3))
    statuses = [client.get("/repos/demo/status", headers=bearer(admin)).status_code
                for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.get("/repos/demo/status", headers=bearer(admin))
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert limited.json()["hint"].startswith("retry after")
    # The bucket is the token's own: another token is not slowed down.
    assert client.get("/repos/demo/status", headers=bearer(other)).status_code == 200


def test_token_bucket_refills_at_its_rate():
    now = [0.0]
    limiter = RateLimiter(rate=2.0, burst=2, clock=lambda: now[0])
    assert [limiter.take("t"), limiter.take("t")] == [0, 0]
    assert limiter.take("t") == 1  # empty: half a second to the next token, rounded up
    now[0] += 0.5
    assert limiter.take("t") == 0 and limiter.take("t") == 1
    now[0] += 100  # a long pause refills only up to the burst
    assert [limiter.take("t") for _ in range(3)] == [0, 0, 1]
    assert RateLimiter(rate=0, burst=1).take("t") == 0  # off


def test_audit_log_records_who_retrieved_which_paths(server):
    client, tokens, *_ = server
    reader = bearer(tokens["reader"])
    hits = client.post("/repos/demo/search", json={"query": "HttpClient send"}, headers=reader)
    client.get("/repos/demo/files", params={"path": "pkg/client.py"}, headers=reader)
    client.get("/repos/other/status", headers=reader)  # refused: recorded too
    client.get("/repos/demo/status")  # no token
    entries = client.get("/audit", headers=bearer(tokens["admin"])).json()
    reader_id = entries[2]["token_id"]
    assert reader_id.startswith("tok_")
    files, search = entries[2], entries[3]
    assert (files["endpoint"], files["repo"], files["paths"], files["status"]) == (
        "/repos/demo/files", "demo", ["pkg/client.py"], 200)
    assert search["endpoint"] == "/repos/demo/search" and search["token_id"] == reader_id
    assert search["paths"] == list(dict.fromkeys(h["path"] for h in hits.json()["hits"]))
    assert search["paths"]
    refused = entries[1]
    assert (refused["status"], refused["repo"], refused["token_id"]) == (403, "other", reader_id)
    assert (entries[0]["status"], entries[0]["token_id"]) == (401, None)
    only = client.get("/audit", params={"token_id": reader_id, "repo": "demo"},
                      headers=bearer(tokens["admin"])).json()
    assert [e["endpoint"] for e in only] == ["/repos/demo/files", "/repos/demo/search"]


def test_error_bodies_never_carry_a_traceback(server):
    client, tokens, *_ = server
    for got in (client.get("/nope"), client.put("/repos"),
                client.get("/repos/demo/graph/callers", params={"symbol": "x" * 999},
                           headers=bearer(tokens["admin"]))):
        assert set(got.json()) >= {"message", "hint"} and "Traceback" not in got.text


def test_index_of_a_repository_is_left_alone_by_refused_requests(server):
    client, tokens, demo, _ = server
    with codesift.open_index(demo, dense=False) as idx:
        before = idx.status()["generation"]
    client.post("/repos/demo/index", headers=bearer(tokens["reader"]))  # 403
    client.delete("/repos/demo", headers=bearer(tokens["indexer"]))  # 403
    assert [r["name"] for r in client.get("/repos", headers=bearer(tokens["admin"])).json()] == \
        ["demo", "other"]
    with codesift.open_index(demo, dense=False) as idx:
        assert idx.status()["generation"] == before and idx.check() == []
    assert os.path.exists(demo / ".codesift" / "index.db")
