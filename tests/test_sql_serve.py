"""`codesift sql` served: the HTTP routes and the MCP tools against a real uvicorn server on
127.0.0.1, a real SQLite shop database learned into the server home, tokens scoped to
databases, the audit log, and the scripted loopback LLM server standing in for the model."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path

import anyio
import httpx
import pytest
from click.testing import CliRunner
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

import codesift
from codesift.cli import main
from codesift.serve.auth import Scope, TokenStore
from codesift.serve.bounds import SqlBounds
from codesift.serve.home import MIGRATIONS, HomeDB, m001_server
from codesift.serve.schemas_sql import MAX_SQL_QUESTION_CHARS
from codesift.serve.sql_service import SqlService
from codesift.sql.service import MAX_QUESTION_CHARS

from conftest import SMALL_REPO, write_tree
from http_support import app_for, bearer, make_home, uvicorn_thread
from llm_server import Answer, llm_server  # noqa: F401  (the fixture)
from test_sql_ask import _school, _shop, learned, run as sql_cli

LONDON = "```sql\nSELECT name FROM customers WHERE city = 'London' ORDER BY name\n```"
ASK_KEYS = {"database", "question", "sql", "ok", "model", "tables", "rounds", "context"}
SQL_TOOLS = {"sql_schema", "sql_context", "sql_query"}


# -- one server for the module: a home with two learned databases and scoped tokens ------------



@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(base URL, home, shop file, tokens by name): "shop" and "school" learned, "far" (a
    PostgreSQL URL with a password, never reached) only added."""
    tmp = tmp_path_factory.mktemp("sqlserve")
    home = tmp / "home"
    shop = _shop(tmp / "shop.db")
    tokens = {"admin": make_home(home, {})}  # an admin token as made before: no database
    learned(home, shop, tmp)
    assert sql_cli(home, "add", "school", str(_school(tmp / "school.db"))).exit_code == 0
    assert sql_cli(home, "learn", "school").exit_code == 0
    assert sql_cli(home, "add", "far", "postgresql://u:hunter2@127.0.0.1:9/db").exit_code == 0
    for name, dbs, actions in [("analyst", ["shop"], ["sql:query"]),
                               ("viewer", ["shop"], ["sql:read"]),
                               ("everything", ["*"], ["sql:query"])]:
        tokens[name] = _token(home, name, dbs, actions)
    with uvicorn_thread(app_for(home)) as url:
        yield url, home, shop, tokens


def _token(home: Path, name: str, databases: list[str], actions: list[str]) -> str:
    db = HomeDB(home)
    try:
        return TokenStore(db).create(name, [], actions, databases)[1]
    finally:
        db.close()


@pytest.fixture
def api(served, llm_server):
    """A client per token name; the server's LLM is this test's scripted one (settings are
    read from the home's codesift.toml for each question: no restart)."""
    url, home, _, tokens = served
    _llm_toml(home, llm_server.base_url)

    def client(who: str | None) -> httpx.Client:
        return httpx.Client(base_url=url, timeout=60,
                            headers=bearer(tokens[who]) if who else {})
    return client


def _llm_toml(home: Path, base_url: str | None) -> None:
    lines = ["dense = false", "llm_cache = false"]
    if base_url:
        lines += [f'llm_base_url = "{base_url}"', 'llm_model = "test-model"']
    (home / "codesift.toml").write_text("\n".join(lines) + "\n")


def _token_id(served, name: str) -> str:
    db = HomeDB(served[1])
    try:
        return next(t.id for t in TokenStore(db).list() if t.name == name)
    finally:
        db.close()


def _audit(served, **filters) -> list[dict]:
    url, _, _, tokens = served
    got = httpx.get(f"{url}/audit", params={"limit": 1000, **filters},
                    headers=bearer(tokens["admin"]), timeout=30)
    assert got.status_code == 200, got.text
    return got.json()


# -- databases and schemas -----------------------------------------------------------------------

def test_only_granted_databases_are_listed_with_urls_redacted(api):
    with api("analyst") as c:
        assert [d["name"] for d in c.get("/sql/databases").json()] == ["shop"]
    with api("everything") as c:
        got = c.get("/sql/databases")
    listed = {d["name"]: d for d in got.json()}
    assert set(listed) == {"far", "school", "shop"}
    assert listed["far"]["url"] == "postgresql://u:***@127.0.0.1:9/db"
    assert "hunter2" not in got.text
    assert listed["shop"]["tables"] == 5 and listed["far"]["learned_at"] is None
    with api("admin") as c:  # a token made without databases sees none
        assert c.get("/sql/databases").json() == []
    with api(None) as c:
        assert c.get("/sql/databases").status_code == 401


def test_schema_has_tables_columns_keys_comments_and_samples(api):
    with api("viewer") as c:
        got = c.get("/sql/databases/shop/schema")
    assert got.status_code == 200, got.text
    schema = got.json()
    assert schema["dialect"] == "sqlite"
    tables = {t["name"]: t for t in schema["tables"]}
    assert {"customers", "orders", "order_items", "products"} <= set(tables)
    columns = {c["name"]: c for c in tables["customers"]["columns"]}
    assert columns["id"]["primary_key"] and not columns["name"]["nullable"]
    assert columns["name"]["comment"] == "full name as printed on invoices"
    assert "London" in columns["city"]["samples"]
    assert {"columns": ["customer_id"], "ref_table": "customers", "ref_columns": ["id"]} \
        in tables["orders"]["foreign_keys"]
    assert tables["customers"]["schema"] is None and tables["customers"]["key"] == "customers"


def test_a_database_outside_the_token_is_refused_whether_or_not_it_exists(api):
    with api("viewer") as c:
        for name in ("school", "nope"):  # one exists, one does not: the same answer
            got = c.get(f"/sql/databases/{name}/schema")
            assert got.status_code == 403 and "may not sql:read" in got.json()["message"]
            assert "--db" in got.json()["hint"]
    with api("admin") as c:  # admin on every repository, still no database
        assert c.get("/sql/databases/shop/schema").status_code == 403
    with api("everything") as c:
        missing = c.get("/sql/databases/nope/schema")
        assert missing.status_code == 404 and "GET /sql/databases" in missing.json()["hint"]
        unlearned = c.get("/sql/databases/far/schema")
        assert unlearned.status_code == 409 and "codesift sql learn far" in unlearned.json()["hint"]
        assert c.get("/sql/databases/..%2Fx/schema").status_code in (404, 422)


# -- contexts --------------------------------------------------------------------------------------

def test_context_json_has_the_clis_keys_and_the_messages(api, llm_server):
    with api("viewer") as c:
        got = c.post("/sql/context", json={"question": "Which customers in London placed open "
                                                       "orders?", "database": "shop",
                                           "budget": 600})
    assert got.status_code == 200, got.text
    ctx = got.json()
    assert {"database", "dialect", "question", "tables", "columns", "examples", "docs",
            "schema", "tokens", "budget", "databases", "messages"} <= set(ctx)
    assert {t["name"] for t in ctx["tables"][:2]} == {"customers", "orders"}
    assert 0 < ctx["tokens"] <= 600 and ctx["budget"] == 600
    assert ctx["examples"][0]["question"] == "How many orders has each customer placed?"
    assert "CREATE TABLE customers" in ctx["schema"]
    assert ctx["messages"][0]["role"] == "system" and "'London'" in ctx["messages"][0]["content"]
    assert llm_server.chat_requests == []  # no model is called for a context


def test_without_a_database_only_the_tokens_databases_are_searched(api):
    question = {"question": "which teacher teaches physics?"}
    with api("everything") as c:
        assert c.post("/sql/context", json=question).json()["database"] == "school"
    with api("viewer") as c:  # school is not the viewer's: the answer comes from shop
        got = c.post("/sql/context", json=question).json()
    assert got["database"] == "shop"
    with api("admin") as c:
        refused = c.post("/sql/context", json=question)
    assert refused.status_code == 403 and "any database" in refused.json()["message"]


# -- questions ---------------------------------------------------------------------------------

def test_query_returns_sql_and_rows_in_the_clis_shape(api, llm_server):
    llm_server.push(Answer(LONDON))
    with api("analyst") as c:
        got = c.post("/sql/query", json={"question": "customers in London", "database": "shop",
                                         "run": True})
    assert got.status_code == 200, got.text
    out = got.json()
    assert set(out) == ASK_KEYS | {"rows"}
    assert out["ok"] and out["sql"].startswith("SELECT name FROM customers")
    assert out["rows"]["columns"] == ["name"]
    assert out["rows"]["rows"] == [["Ada Lovelace"], ["Alan Turing"]]
    assert out["model"] == "test-model" and out["tables"] == ["customers"]
    assert [r["error"] for r in out["rounds"]] == [None]
    assert "'London'" in llm_server.chat_requests[0].body["messages"][0]["content"]

    llm_server.push(Answer(LONDON))
    with api("analyst") as c:  # without run: the SQL, no rows
        out = c.post("/sql/query", json={"question": "customers in London",
                                         "database": "shop"}).json()
    assert set(out) == ASK_KEYS and out["ok"]


def test_row_limit_is_capped(api, llm_server):
    llm_server.push(Answer("SELECT id FROM orders ORDER BY id"))
    with api("analyst") as c:
        out = c.post("/sql/query", json={"question": "order ids", "database": "shop",
                                         "run": True, "row_limit": 5}).json()
        assert out["rows"]["rows"] == [[1], [2], [3], [4], [5]] and out["rows"]["truncated"]
        too_many = c.post("/sql/query", json={"question": "order ids", "database": "shop",
                                              "row_limit": 5000})
        assert too_many.status_code == 422
    assert SqlBounds(max_rows=3).rows(1000) == 3 and SqlBounds().rows(None) == 100
    assert SqlBounds(max_rounds=2).rounds(10) == 2


def test_a_token_without_sql_query_or_without_the_database_is_refused(api, llm_server):
    body = {"question": "customers in London", "database": "shop", "run": True}
    with api("viewer") as c:
        got = c.post("/sql/query", json=body)
    assert got.status_code == 403 and "may not sql:query database 'shop'" in got.json()["message"]
    with api("analyst") as c:
        got = c.post("/sql/query", json={**body, "database": "school"})
        assert got.status_code == 403
        assert c.post("/sql/context", json={"question": "x y", "database": "school"}
                      ).status_code == 403
    assert llm_server.chat_requests == []  # refused before any model was asked


def test_the_audit_log_has_who_asked_what_and_the_sql(served, api, llm_server):
    llm_server.push(Answer(LONDON))
    question = "customers in London, for the audit"
    with api("analyst") as c:
        assert c.post("/sql/query", json={"question": question, "database": "shop",
                                          "run": True}).status_code == 200
    with api("viewer") as c:
        assert c.post("/sql/query", json={"question": question, "database": "shop"}
                      ).status_code == 403
    entries = [e for e in _audit(served, database="shop")
               if (e["detail"] or {}).get("question") == question]
    ok = next(e for e in entries if e["status"] == 200)
    assert ok["token_id"] == _token_id(served, "analyst") and ok["endpoint"] == "/sql/query"
    assert ok["detail"]["sql"].startswith("SELECT name FROM customers WHERE city = 'London'")
    assert ok["detail"]["ran"] is True and ok["detail"]["rows"] == 2
    assert ok["detail"]["outcome"] == "ran"
    refused = [e for e in _audit(served, database="shop", token_id=_token_id(served, "viewer"))
               if e["status"] == 403 and e["endpoint"] == "/sql/query"]
    assert refused
    everything = json.dumps(_audit(served))
    assert "hunter2" not in everything
    # The CLI reads the same log.
    got = CliRunner().invoke(main, ["audit", "--db", "shop", "--home", str(served[1])])
    assert got.exit_code == 0 and "-> ran (2 rows): SELECT name FROM customers" in got.output


def test_a_write_from_the_model_never_runs(served, api, llm_server):
    shop = served[2]
    llm_server.push(Answer("```sql\nDELETE FROM orders\n```"),
                    Answer("```sql\nWITH gone AS (DELETE FROM orders RETURNING *) "
                           "SELECT count(*) FROM gone\n```"))
    with api("analyst") as c:
        got = c.post("/sql/query", json={"question": "remove all orders", "database": "shop",
                                         "run": True, "max_rounds": 2})
    assert got.status_code == 200, got.text
    out = got.json()
    assert out["ok"] is False and out["sql"] is None and "rows" not in out
    assert len(out["rounds"]) == 2 and all(r["error"] for r in out["rounds"])
    assert sqlite3.connect(shop).execute("SELECT count(*) FROM orders").fetchone() == (30,)
    (entry,) = [e for e in _audit(served, database="shop")
                if (e["detail"] or {}).get("question") == "remove all orders"]
    assert entry["detail"]["outcome"] == "rejected" and entry["detail"]["ran"] is False
    assert "DELETE FROM orders RETURNING" in entry["detail"]["sql"]


def test_without_an_llm_a_query_is_409_and_audited(served, api):
    _llm_toml(served[1], None)
    with api("analyst") as c:
        got = c.post("/sql/query", json={"question": "customers without an llm",
                                         "database": "shop"})
        assert got.status_code == 409 and "llm_base_url" in got.json()["hint"]
        # The context needs no LLM.
        assert c.post("/sql/context", json={"question": "customers without an llm",
                                            "database": "shop"}).status_code == 200
    (entry,) = [e for e in _audit(served, database="shop")
                if e["endpoint"] == "/sql/query"
                and (e["detail"] or {}).get("question") == "customers without an llm"]
    assert entry["status"] == 409 and entry["detail"]["outcome"] == "error"


def test_sql_that_passes_the_checks_but_times_out_comes_back_with_why(served, llm_server):
    """The server's timeout bound stops the run; the checked SQL still comes back."""
    from codesift.serve.auth import ANONYMOUS
    from codesift.serve.sql_service import Caller
    from codesift.serve.tools_sql import SqlCall, sql_query
    _llm_toml(served[1], llm_server.base_url)
    endless = ("```sql\nWITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) "
               "SELECT count(*) FROM n\n```")
    llm_server.push(Answer(endless))
    recorded = []
    caller = Caller(ANONYMOUS, lambda *entry: recorded.append(entry))
    service = SqlService(served[1], SqlBounds(timeout_s=0.3))
    try:
        out = sql_query(SqlCall(service, caller), "count forever", "shop", run=True)
    finally:
        service.close()
    assert out.data["ok"] and "rows" not in out.data
    assert "timed out after 0.3 s" in out.data["run_error"]["message"]
    assert "WITH RECURSIVE" in out.text and "[not run: timed out" in out.text
    ((database, status, detail),) = recorded
    assert (database, status, detail["outcome"], detail["ran"]) == ("shop", 200, "run_failed",
                                                                    False)


# -- MCP ------------------------------------------------------------------------------------------

def test_mcp_tools_over_http_keep_to_the_token(served, api, llm_server):
    url, _, _, tokens = served
    llm_server.push(Answer(LONDON))
    results = {}

    async def session(who: str) -> None:
        transport = streamable_http_client(
            f"{url}/sql/mcp", http_client=create_mcp_http_client(headers=bearer(tokens[who])))
        async with Client(transport) as client:
            listed = (await client.list_tools()).tools
            results["tools"] = {t.name: t for t in listed}
            results[who, "schema"] = await client.call_tool("sql_schema", {"database": "shop"})
            results[who, "other"] = await client.call_tool("sql_schema", {"database": "school"})
            results[who, "context"] = await client.call_tool(
                "sql_context", {"question": "customers in London"})
            results[who, "query"] = await client.call_tool(
                "sql_query", {"question": "customers in London, over mcp", "database": "shop",
                              "run": True})

    anyio.run(session, "analyst")
    anyio.run(session, "viewer")
    tools = results["tools"]
    assert set(tools) == SQL_TOOLS
    assert all(len(t.description) > 200 for t in tools.values())
    schema = results["analyst", "schema"]
    assert not schema.is_error and "customers" in schema.content[0].text
    assert "city TEXT  -- e.g. 'Berlin', 'London'" in schema.content[0].text
    assert "customer_id INTEGER -> customers.id" in schema.content[0].text
    other = results["analyst", "other"]
    assert other.is_error and "may not sql:read database 'school'" in other.content[0].text
    assert results["analyst", "context"].structured_content["database"] == "shop"
    query = results["analyst", "query"]
    assert not query.is_error, query.content[0].text
    assert query.structured_content["rows"]["rows"] == [["Ada Lovelace"], ["Alan Turing"]]
    assert "Ada Lovelace" in query.content[0].text
    refused = results["viewer", "query"]
    assert refused.is_error and "may not sql:query" in refused.content[0].text
    assert not results["viewer", "schema"].is_error
    assert len(llm_server.chat_requests) == 1  # the viewer's query never reached the model

    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    assert httpx.post(f"{url}/sql/mcp", json=ping, timeout=30).status_code == 401
    entry = next(e for e in _audit(served, database="shop")
                 if (e["detail"] or {}).get("question") == "customers in London, over mcp"
                 and e["status"] == 200)
    assert entry["endpoint"] == "/sql/mcp" and entry["detail"]["rows"] == 2
    assert entry["token_id"] == _token_id(served, "analyst")


def test_local_stdio_mcp_serves_every_database_unaudited(served, tmp_path, llm_server):
    """`codesift mcp --sql` (the real command, over stdio): the code tools and the sql_*
    tools over the catalog in $CODESIFT_HOME, every database, nothing audited; the LLM is
    the repository's."""
    home = served[1]
    repo = write_tree(tmp_path / "repo", SMALL_REPO)
    (repo / "codesift.toml").write_text(f'dense = false\nllm_cache = false\n'
                                        f'llm_base_url = "{llm_server.base_url}"\n'
                                        'llm_model = "test-model"\n')
    with codesift.open_index(repo) as idx:
        idx.update()
    llm_server.push(Answer(LONDON))
    before = len(_audit(served))
    passed = {k: os.environ[k] for k in ("CODESIFT_CACHE_DIR", "XDG_CACHE_HOME", "HF_HUB_OFFLINE",
                                         "TOKENIZERS_PARALLELISM", "PATH") if k in os.environ}
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "codesift", "mcp", "--sql", "--repo", str(repo)],
        env={**passed, "CODESIFT_HOME": str(home), "PYTHONPATH": os.pathsep.join(sys.path)})

    async def session():
        async with Client(stdio_client(params, errlog=sys.stderr)) as c:
            names = {t.name for t in (await c.list_tools()).tools}
            school = await c.call_tool("sql_schema", {"database": "school"})
            query = await c.call_tool("sql_query", {"question": "customers in London",
                                                    "database": "shop", "run": True})
            return c.instructions, names, school, query

    instructions, names, school, query = anyio.run(session)
    assert SQL_TOOLS <= names and "search_code" in names and "sql_query" in instructions
    assert not school.is_error and "teachers" in school.content[0].text
    assert not query.is_error, query.content[0].text
    assert query.structured_content["rows"]["rows"] == [["Ada Lovelace"], ["Alan Turing"]]
    assert len(_audit(served)) == before


# -- tokens ---------------------------------------------------------------------------------------

def test_token_cli_grants_databases(tmp_path):
    home = str(tmp_path / "home")
    invoke = CliRunner().invoke
    made = invoke(main, ["token", "create", "bi", "--db", "shop", "--action", "sql:query",
                         "--home", home, "--json"])
    assert made.exit_code == 0, made.output
    created = json.loads(made.stdout)
    assert created["databases"] == ["shop"] and created["repos"] == []
    assert created["actions"] == ["sql:query"]
    default = json.loads(invoke(main, ["token", "create", "peek", "--db", "*", "--home", home,
                                       "--json"]).stdout)
    assert default["actions"] == ["sql:read"] and default["databases"] == ["*"]
    for args, message in [
        ([], "at least one repository or database"),
        (["--db", "shop", "--action", "read"], "acts on repositories"),
        (["--repo", "demo", "--action", "sql:read"], "acts on databases"),
        (["--repo", "demo", "--db", "shop", "--action", "read"], "no action on them"),
        (["--db", "../x"], "bad database name"),
    ]:
        got = invoke(main, ["token", "create", "x", *args, "--home", home])
        assert got.exit_code == 2 and message in got.stderr, (args, got.output)
    listed = invoke(main, ["token", "list", "--home", home])
    assert "db:shop" in listed.output


def test_scopes_for_databases():
    query = Scope((), ("sql:query",), ("shop",))
    assert query.allows("sql:read", "shop") and query.allows("sql:query", "shop")
    assert not query.allows("sql:read", "school") and not query.allows("read", "shop")
    read = Scope((), ("sql:read",), ("*",))
    assert read.allows("sql:read", "anything") and not read.allows("sql:query", "anything")
    assert Scope(("*",), ("admin",), ("shop",)).allows("sql:query", "shop")
    assert not Scope(("*",), ("admin",)).allows("sql:read", "shop")  # made before: no database
    assert not Scope(("*",), ("admin",)).allows_sql("sql:read", None)


def test_migration_keeps_old_tokens_without_databases(tmp_path):
    """A home written before databases were served: its tokens keep their meaning."""
    home = tmp_path / "home"
    home.mkdir()
    db = sqlite3.connect(home / "server.db", isolation_level=None)
    m001_server(db)
    db.execute("PRAGMA user_version=1")
    db.execute("INSERT INTO tokens (id, name, hash, repos, actions, created_at) VALUES "
               "('tok_old', 'old', 'h', '[\"*\"]', '[\"admin\"]', 0)")
    db.execute("INSERT INTO audit (at, method, endpoint, status) VALUES (0, 'GET', '/repos', 200)")
    db.close()
    migrated = HomeDB(home)
    try:
        assert migrated.one("PRAGMA user_version")[0] == len(MIGRATIONS) == 2
        info = TokenStore(migrated).get("tok_old")
        assert info.scope.databases == () and info.scope.allows("admin", "demo")
        assert not info.scope.allows_sql("sql:read", None)
        from codesift.serve.auth import AuditLog
        (old,) = AuditLog(migrated).entries()
        assert old.database is None and old.detail is None
    finally:
        migrated.close()


def test_question_caps_agree():
    assert MAX_SQL_QUESTION_CHARS == MAX_QUESTION_CHARS
