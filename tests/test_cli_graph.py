"""`codesift graph ...` as a user runs it: JSON shapes, text output, errors and exit codes,
and an index built before the graph existed getting one on its next update."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from conftest import write_tree
from test_cli import run

APP = {
    "app/__init__.py": "from .store import save_session\n",
    "app/store.py": '''
        class Store:
            def write(self, key, value):
                return self._put(key, value)

            def _put(self, key, value):
                return key, value


        def save_session(store: Store, session) -> tuple:
            return store.write(session.id, session.cookies)


        def load_session(store, key):
            return store.write(key, None)
    ''',
    "app/web.py": '''
        from . import save_session
        from .store import Store


        def login(request):
            store = Store()
            return save_session(store, request.session)


        def logout(request):
            return login(request)
    ''',
    "app/fact.py": '''
        def fact(n):
            return 1 if n <= 1 else n * fact(n - 1)
    ''',
}


@pytest.fixture
def app(tmp_path: Path) -> Path:
    root = write_tree(tmp_path / "app-repo", APP)
    result = run("index", str(root), "--no-dense")
    assert result.returncode == 0, result.stderr
    return root


def graph_json(root: Path, *args: str) -> dict:
    result = run("graph", *args, "--repo", str(root), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_callers_through_a_package_reexport(app: Path):
    data = graph_json(app, "callers", "save_session", "--depth", "2")
    assert [r["symbol"] for r in data["roots"]] == ["app.store.save_session"]
    found = {(r["symbol"], r["depth"], r["confidence"]) for r in data["results"]}
    assert ("app.web.login", 1, 1.0) in found
    assert ("app.web.logout", 2, 1.0) in found
    first = data["results"][0]
    assert {"path", "symbol", "kind", "start_line", "end_line", "depth", "via", "edge",
            "line", "confidence", "seen_before"} <= first.keys()


def test_callees_path_and_recursion(app: Path):
    callees = graph_json(app, "callees", "login")["results"]
    assert {r["symbol"] for r in callees} == {"app.store.Store", "app.store.save_session"}
    path = graph_json(app, "path", "logout", "Store._put")["results"]
    assert [r["symbol"] for r in path] == [
        "app.web.logout", "app.web.login", "app.store.save_session", "app.store.Store.write",
        "app.store.Store._put"]
    recursive = graph_json(app, "callers", "fact", "--depth", "3")["results"]
    assert [(r["symbol"], r["seen_before"]) for r in recursive] == [("app.fact.fact", True)]


def test_defs_refs_and_position(app: Path):
    defs = graph_json(app, "defs", "app/store.py:3")
    assert [d["symbol"] for d in defs] == ["app.store.Store.write"]
    refs = graph_json(app, "refs", "Store")["results"]
    assert {(r["edge"], r["path"], r["symbol"]) for r in refs} == {
        ("imports", "app/web.py", ""), ("calls", "app/web.py", "app.web.login"),
        ("references", "app/store.py", "app.store.save_session")}  # the annotation


def test_text_output(app: Path):
    result = run("graph", "callers", "Store.write", "--repo", str(app))
    assert result.returncode == 0
    assert "callers of app.store.Store.write" in result.stdout
    assert "app.store.save_session" in result.stdout and "app/store.py" in result.stdout
    nothing = run("graph", "path", "fact", "login", "--repo", str(app))
    assert nothing.returncode == 0 and "no call path" in nothing.stderr


@pytest.mark.parametrize("args, code, words", [
    (("callers", "no_such_function"), 2, "no definition named"),
    (("callers", "login", "--depth", "0"), 2, "depth must be between"),
    (("callers", " "), 2, "empty symbol"),
])
def test_bad_input(app: Path, args, code, words):
    result = run("graph", *args, "--repo", str(app))
    assert result.returncode == code
    assert words in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 2  # one error line, one hint line


def test_index_from_before_the_graph_gets_one(app: Path):
    db = app / ".codesift" / "index.db"
    with sqlite3.connect(db) as conn:  # as an index written before the graph existed
        conn.execute("DELETE FROM edges")
        conn.execute("DELETE FROM meta WHERE key = 'graph_version'")
    stale = run("graph", "callers", "login", "--repo", str(app))
    assert stale.returncode == 1 and "codesift index" in stale.stderr
    status = run("status", "--repo", str(app))
    assert "not built yet" in status.stdout
    assert run("index", str(app), "--no-dense").returncode == 0
    assert graph_json(app, "callers", "login")["results"]
    info = json.loads(run("status", "--repo", str(app), "--json").stdout)
    assert info["graph"]["current"] and info["graph"]["edges"]["calls"] > 0


def test_members_are_the_contains_edges(app: Path):
    data = graph_json(app, "members", "Store")
    assert [(r["symbol"], r["edge"]) for r in data["results"]] == [
        ("app.store.Store.write", "contains"), ("app.store.Store._put", "contains")]


def test_a_typed_parameter_names_the_receiver(app: Path):
    data = graph_json(app, "callers", "Store.write", "--min-confidence", "0")
    found = {r["symbol"]: r["confidence"] for r in data["results"]}
    assert found["app.store.save_session"] == 1.0  # store: Store
    assert found["app.store.load_session"] < 1.0  # unannotated: a guess by method name
