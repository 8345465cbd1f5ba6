"""Every repository in one search: the merge, the deadline and failures of one repository,
`codesift search --repo A --repo B` / `--workspace`, and POST /search held to the token."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

import codesift
from codesift.cli import main
from codesift.errors import BadQueryError
from codesift.model import Hit
from codesift.model import RepoEvidence
from codesift.retrieve.federate import RepoAnswer, cori_beliefs, merge, repo_relevance, search_repos
from codesift.workspace import Workspace, WorkspaceRepo, from_paths, load_workspace

from conftest import write_tree
from http_support import app_for, bearer, make_home, token

PAYMENTS = {
    "payments/webhooks.py": '''
        import hmac

        def sign_webhook_payload(secret, body):
            """Sign an outgoing webhook payload with HMAC-SHA256."""
            return hmac.new(secret, body, "sha256").hexdigest()
    ''',
    "payments/refunds.py": '''
        def refund_charge(charge_id, amount):
            """Refund part of a card charge."""
            return {"charge": charge_id, "amount": amount}
    ''',
}
INVENTORY = {
    "inventory/stock.go": '''
        package inventory

        // ReserveStock holds units of a product for an order until it ships.
        func ReserveStock(product string, units int) error {
            return nil
        }
    ''',
    "inventory/warehouse.go": '''
        package inventory

        // MoveBetweenWarehouses transfers pallets from one warehouse to another.
        func MoveBetweenWarehouses(from, to string, pallets int) {}
    ''',
}
NOTIFY = {
    "notify/email.py": '''
        def send_receipt_email(address, order):
            """Email the receipt of an order to the customer."""
            return address, order
    ''',
}


@pytest.fixture
def three_repos(tmp_path: Path) -> dict[str, Path]:
    repos = {"payments": write_tree(tmp_path / "payments", PAYMENTS),
             "inventory": write_tree(tmp_path / "inventory", INVENTORY),
             "notify": write_tree(tmp_path / "notify", NOTIFY)}
    for root in repos.values():
        with codesift.open_index(root, dense=False) as idx:
            idx.update()
    return repos


def _workspace(repos: dict[str, Path]) -> Workspace:
    return Workspace([WorkspaceRepo(n, p) for n, p in repos.items()], dense=False)


def test_each_hit_names_its_repository_and_the_right_one_comes_first(three_repos):
    with _workspace(three_repos) as ws:
        for query, repo, path in [("sign webhook payload hmac", "payments", "payments/webhooks.py"),
                                  ("ReserveStock", "inventory", "inventory/stock.go"),
                                  ("email the receipt to the customer", "notify", "notify/email.py")]:
            for how in ("score", "relevance"):
                result = ws.search(query, k=5, merge=how)
                assert not result.partial and [o.status for o in result.repos] == ["ok"] * 3
                assert (result.hits[0].repo, result.hits[0].hit.path) == (repo, path)
                assert all(h.repo in three_repos for h in result.hits)
        only = ws.search("refund", k=5, repos=["inventory", "notify"])
        assert {o.repo for o in only.repos} == {"inventory", "notify"}
        assert all(h.repo != "payments" for h in only.hits)
        go = ws.search("warehouse stock", k=10, languages=("go",))
        assert go.hits and {h.hit.language for h in go.hits} == {"go"}


def test_a_repository_without_an_index_is_reported_and_the_rest_answer(three_repos, tmp_path):
    bare = write_tree(tmp_path / "bare", {"x.py": "def sign_webhook_payload(): pass\n"})
    repos = {**three_repos, "bare": bare}
    with _workspace(repos) as ws:
        result = ws.search("sign webhook payload", k=5)
    assert result.partial
    outcome = {o.repo: o for o in result.repos}["bare"]
    assert outcome.status == "error" and "codesift index" in outcome.error
    assert result.hits[0].repo == "payments"
    assert result.to_dict()["partial"] is True


def test_a_bad_request_is_an_error_not_a_partial_result(three_repos):
    with _workspace(three_repos) as ws, pytest.raises(BadQueryError):
        ws.search("   ", k=5)


def _hit(path: str, score: float) -> Hit:
    return Hit(path, 1, 2, path, "function", "python", score)


def test_merges_by_score_rank_and_minmax():
    found = {"a": [_hit("a1", 0.09), _hit("a2", 0.08), _hit("a3", 0.07)],
             "b": [_hit("b1", 0.03), _hit("b2", 0.01)]}
    assert [h.hit.path for h in merge(found, 3, "score")] == ["a1", "a2", "a3"]
    # Reciprocal ranks interleave: equal ranks fall to the higher own score.
    assert [h.hit.path for h in merge(found, 4, "rank")] == ["a1", "b1", "a2", "b2"]
    minmax = merge(found, 5, "minmax")
    assert [h.score for h in minmax[:2]] == [1.0, 1.0] and minmax[-1].score == 0.0


def test_relevance_lifts_the_repository_whose_vocabulary_and_vectors_match():
    found = {"a": [_hit("a1", 0.05), _hit("a2", 0.04)], "b": [_hit("b1", 0.05), _hit("b2", 0.03)],
             "c": [_hit("c1", 0.05)]}
    # "webhook" is in b's chunks only, "payload" in all three: CORI credits b.
    evidence = {"a": RepoEvidence(100, {"webhook": 0, "payload": 9}, 0.30, "m"),
                "b": RepoEvidence(100, {"webhook": 12, "payload": 9}, 0.62, "m"),
                "c": RepoEvidence(400, {"webhook": 0, "payload": 2}, 0.25, "m")}
    beliefs = cori_beliefs(evidence)
    assert beliefs["b"] > beliefs["a"] > beliefs["c"]
    relevance = repo_relevance(found, evidence)
    assert max(relevance, key=relevance.get) == "b"
    merged = merge(found, 5, "relevance", relevance)
    assert [h.hit.path for h in merged[:2]] == ["b1", "a1"]
    # Cosines of two models are not compared: only the vocabulary and the scores count then.
    mixed = {**evidence, "c": RepoEvidence(400, {"webhook": 0, "payload": 2}, 0.99, "other")}
    assert max(repo_relevance(found, mixed), key=repo_relevance(found, mixed).get) == "b"


def test_a_slow_repository_is_left_out_at_the_deadline_without_being_waited_for():
    release = threading.Event()

    def slow():
        release.wait(120)
        return RepoAnswer([_hit("late", 1.0)])

    pool = ThreadPoolExecutor(max_workers=2)
    try:
        result = search_repos({"fast": lambda: RepoAnswer([_hit("quick", 0.5)]), "slow": slow}, 5,
                              pool=pool, query="q", deadline_s=0.5)
        assert not release.is_set()  # the answer came while the slow search still ran
        assert [h.hit.path for h in result.hits] == ["quick"]
        assert {o.repo: o.status for o in result.repos} == {"fast": "ok", "slow": "timeout"}
        assert result.partial
    finally:
        release.set()
        pool.shutdown(wait=True)


def test_a_failing_repository_does_not_take_the_others_down():
    def broken():
        raise RuntimeError("disk on fire")

    with ThreadPoolExecutor(max_workers=2) as pool:
        result = search_repos({"ok": lambda: RepoAnswer([_hit("x", 0.2)]), "broken": broken}, 5, pool=pool)
    assert [h.hit.path for h in result.hits] == ["x"]
    assert {o.repo: o.error for o in result.repos}["broken"] == "RuntimeError: disk on fire"


# -- naming and workspace files ----------------------------------------------------------------

def test_repositories_are_named_by_the_shortest_path_that_tells_them_apart(tmp_path):
    for sub in ("team-a/api", "team-b/api", "web"):
        (tmp_path / sub).mkdir(parents=True)
    names = [r.name for r in from_paths([str(tmp_path / "team-a/api"), str(tmp_path / "team-b/api"),
                                         str(tmp_path / "web")])]
    assert names == ["team-a/api", "team-b/api", "web"]


def test_workspace_file_paths_are_relative_to_it_and_bad_files_say_why(tmp_path):
    (tmp_path / "svc").mkdir()
    good = tmp_path / "ws.toml"
    good.write_text('[[repo]]\npath = "svc"\n\n[[repo]]\nname = "idx"\npath = "svc"\n'
                    'index_dir = "elsewhere"\n')
    repos = load_workspace(good)
    assert [(r.name, r.path, r.index_dir) for r in repos] == [
        ("svc", tmp_path / "svc", None), ("idx", tmp_path / "svc", tmp_path / "elsewhere")]
    bad = tmp_path / "bad.toml"
    for text, says in [("[[repo]\n", "not valid TOML"), ("title = 1\n", "lists no repositories"),
                       ("[[repo]]\nname = 'x'\n", "has no path")]:
        bad.write_text(text)
        result = CliRunner().invoke(main, ["search", "q", "--workspace", str(bad)])
        assert result.exit_code == 2 and says in result.output, result.output
        assert "Traceback" not in result.output


def test_cli_searches_several_repositories(three_repos, tmp_path):
    runner = CliRunner()
    args = ["search", "sign webhook payload", "--repo", str(three_repos["inventory"]),
            "--repo", str(three_repos["payments"]), "-k", "3"]
    out = runner.invoke(main, [*args, "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["partial"] is False and [r["repo"] for r in data["repos"]] == ["inventory", "payments"]
    assert data["hits"][0]["repo"] == "payments"
    assert data["hits"][0]["path"] == "payments/webhooks.py"
    text = runner.invoke(main, args)
    assert text.exit_code == 0 and "payments:payments/webhooks.py" in text.output
    ws = tmp_path / "team.toml"
    ws.write_text("".join(f'[[repo]]\nname = "{n}"\npath = "{p}"\n' for n, p in three_repos.items()))
    out = runner.invoke(main, ["search", "ReserveStock", "--workspace", str(ws), "--json"])
    assert json.loads(out.output)["hits"][0]["repo"] == "inventory"
    refused = runner.invoke(main, [*args, "--index-dir", str(tmp_path / "x")])
    assert refused.exit_code == 2 and "--index-dir" in refused.output


HUNG_SEARCH = """
import sys, threading
import codesift.workspace as ws
real = ws.answer_of
def answer_of(index, *args):
    if index.root.name == "payments":
        threading.Event().wait()  # a search that never ends
    return real(index, *args)
ws.answer_of = answer_of
from codesift.cli import main
main(sys.argv[1:])
"""


def test_cli_exits_after_printing_though_a_repository_search_never_ends(three_repos):
    args = ["search", "receipt email", "--repo", str(three_repos["payments"]),
            "--repo", str(three_repos["notify"]), "--deadline", "3", "--json"]
    # A generous deadline: the bug was a process that never exited.
    done = subprocess.run([sys.executable, "-c", HUNG_SEARCH, *args], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["partial"] is True and data["hits"][0]["repo"] == "notify"
    assert {r["repo"]: r["status"] for r in data["repos"]} == {"payments": "timeout",
                                                              "notify": "ok"}


# -- POST /search ------------------------------------------------------------------------------

@pytest.fixture
def served_three(tmp_path, three_repos):
    home = tmp_path / "home"
    secret = make_home(home, three_repos, index=False)
    with TestClient(app_for(home)) as client:
        yield client, home, secret


def test_post_search_spans_every_repository_the_token_may_read(served_three):
    client, home, admin = served_three
    every = client.post("/search", json={"query": "sign webhook payload"}, headers=bearer(admin))
    assert every.status_code == 200, every.text
    body = every.json()
    assert body["partial"] is False and {r["repo"] for r in body["repos"]} == {
        "payments", "inventory", "notify"}
    assert body["hits"][0]["repo"] == "payments" and body["hits"][0]["path"] == "payments/webhooks.py"

    scoped = token(home, "inventory-only", ["inventory", "notify"], ["read"])
    seen = client.post("/search", json={"query": "sign webhook payload hmac", "k": 50},
                       headers=bearer(scoped)).json()
    assert {r["repo"] for r in seen["repos"]} == {"inventory", "notify"}  # never counted
    assert all(h["repo"] != "payments" for h in seen["hits"])  # never returned
    for name in ("payments", "no-such-repo"):
        refused = client.post("/search", json={"query": "x", "repos": [name]},
                              headers=bearer(scoped))
        assert refused.status_code == 404
        assert refused.json()["message"] == f"no repository named {name!r} that this token may read"
    narrowed = client.post("/search", json={"query": "ReserveStock", "repos": ["inventory"],
                                            "languages": ["go"]}, headers=bearer(scoped)).json()
    assert [r["repo"] for r in narrowed["repos"]] == ["inventory"]
    assert narrowed["hits"][0]["symbol"].endswith("ReserveStock")
    assert client.post("/search", json={"query": "x"}).status_code == 401


def test_post_search_answers_without_a_busy_or_unindexed_repository(served_three, tmp_path):
    client, _, admin = served_three
    state = client.app.state.codesift
    fresh = write_tree(tmp_path / "fresh", {"a.py": "def sign_webhook_payload(): pass\n"})
    state.registry.add("fresh", str(fresh), dense=False)  # registered, never indexed
    with state.registry.using("payments"):  # a long request holds payments' index
        busy = client.post("/search", json={"query": "email receipt", "deadline_ms": 300},
                           headers=bearer(admin)).json()
    outcomes = {r["repo"]: r for r in busy["repos"]}
    assert busy["partial"] is True and outcomes["payments"]["status"] == "timeout"
    assert busy["hits"][0]["repo"] == "notify"
    assert outcomes["fresh"]["status"] == "error" and "codesift index" in outcomes["fresh"]["error"]
    again = client.post("/search", json={"query": "sign webhook payload"},
                        headers=bearer(admin)).json()
    assert {r["repo"]: r["status"] for r in again["repos"]} == {
        "payments": "ok", "inventory": "ok", "notify": "ok", "fresh": "error"}
    assert again["hits"][0]["repo"] == "payments"


# -- MCP at /mcp: search_code without a repository -----------------------------------------------

def test_mcp_over_every_repository_keeps_to_the_token(tmp_path, three_repos):
    import anyio
    import httpx
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    from http_support import uvicorn_thread

    home = tmp_path / "home"
    admin = make_home(home, three_repos, index=False)
    scoped = token(home, "inventory-only", ["inventory"], ["read"])
    results: dict = {}
    with uvicorn_thread(app_for(home)) as url:
        async def session(secret: str, who: str) -> None:
            transport = streamable_http_client(
                f"{url}/mcp", http_client=create_mcp_http_client(headers=bearer(secret)))
            async with Client(transport) as client:
                results[who, "tools"] = {t.name for t in (await client.list_tools()).tools}
                results[who, "search"] = await client.call_tool(
                    "search_code", {"query": "sign webhook payload with hmac"})
                results[who, "read"] = await client.call_tool(
                    "read_range", {"repo": "payments", "path": "payments/webhooks.py"})
                results[who, "repos"] = await client.call_tool("list_repos", {})

        anyio.run(session, admin, "admin")
        anyio.run(session, scoped, "scoped")
        ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        assert httpx.post(f"{url}/mcp", json=ping, timeout=300).status_code == 401
        # One repository's full tool set stays at /mcp/{name}.
        assert httpx.post(f"{url}/mcp/payments", json=ping, timeout=30,
                          headers=bearer(scoped)).status_code == 403
    assert results["admin", "tools"] == {"search_code", "list_repos", "read_range", "get_symbol"}
    found = results["admin", "search"]
    assert not found.is_error, found.content[0].text
    assert found.content[0].text.splitlines()[1].startswith("1. [payments] payments/webhooks.py:")
    assert found.structured_content["hits"][0]["repo"] == "payments"
    assert "hmac.new" in results["admin", "read"].content[0].text
    assert results["admin", "repos"].structured_content["repos"] == ["inventory", "notify",
                                                                     "payments"]
    hidden = results["scoped", "search"]
    assert {r["repo"] for r in hidden.structured_content["repos"]} == {"inventory"}
    assert all(h["repo"] == "inventory" for h in hidden.structured_content["hits"])
    refused = results["scoped", "read"]
    assert refused.is_error and "no repository named 'payments' that this token" in \
        refused.content[0].text
    assert results["scoped", "repos"].structured_content["repos"] == ["inventory"]
