"""The MCP server end to end through the official SDK's own client: over stdio (a real
`codesift mcp` subprocess) and over streamable HTTP (the ASGI app under uvicorn on loopback),
on click 8.1.8's sources and the small fixture repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

import codesift
from codesift.budget import count_tokens
from codesift.serve.bounds import CUT_MARK, Bounds, fit
from codesift.serve.mcp import build_mcp_server, mcp_http_app

from conftest import SMALL_REPO, long_issue, write_tree
from http_support import uvicorn_thread
from llm_server import Answer, llm_server  # noqa: F401 -- a fixture: the loopback LLM
from test_real_package import click_src  # noqa: F401 -- a fixture: click 8.1.8's sources

TOOLS = {"search_code", "get_symbol", "read_range", "find_callers", "find_callees",
         "call_path", "repo_map", "get_context", "ask", "index_status"}
PEM = ("-----BEGIN RSA PRIVATE KEY-----\n"
       "MIIEowIBAAKCAQEA1c7+9z5Pad7OejecsQ0bu3aozN3tihPmljnnudb9G3HecdWF\n"
       "-----END RSA PRIVATE KEY-----\n")
_ENV_PASSED = ("CODESIFT_CACHE_DIR", "XDG_CACHE_HOME", "HF_HUB_OFFLINE", "TOKENIZERS_PARALLELISM")


# -- fixtures ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def click_repo(click_src, tmp_path_factory) -> Path:  # noqa: F811 -- the imported fixture
    """click's sources indexed without vectors, plus what read_range must refuse or cut."""
    root = click_src / "src"
    outside = tmp_path_factory.mktemp("outside") / "secret.txt"
    outside.write_text("outside the repository\n")
    (root / "escape.py").symlink_to(outside)
    (root / ".gitignore").write_text("ignored_notes.txt\n")
    (root / "ignored_notes.txt").write_text("gitignored text\n")
    (root / "data").mkdir()
    (root / "data" / "one_long_line.txt").write_text("word " * 20_000 + "\n")
    (root / "data" / "key.txt").write_text("deploy key:\n" + PEM + "end\n")
    summary = codesift.open_index(root, dense=False).update()
    assert summary.files_indexed >= 17
    return root


@pytest.fixture
def small_dense(tmp_path) -> Path:
    """The small repository with vectors (15 chunks: embedded through ONNX, no torch)."""
    root = write_tree(tmp_path / "repo", SMALL_REPO)
    with codesift.open_index(root) as idx:
        assert idx.update().vectors_embedded > 0
    return root


def _stdio(repo: Path, errlog, *extra: str, env: dict | None = None):
    passed = {k: os.environ[k] for k in _ENV_PASSED if k in os.environ}
    params = StdioServerParameters(command=sys.executable,
                                   args=["-m", "codesift", "mcp", "--repo", str(repo), *extra],
                                   env={**passed, **(env or {})})
    return stdio_client(params, errlog=errlog)




def _text(result) -> str:
    assert len(result.content) == 1 and result.content[0].type == "text"
    return result.content[0].text


async def _ok(client, tool: str, **arguments):
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, _text(result)
    return _text(result), result.structured_content


async def _err(client, tool: str, **arguments) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error, _text(result)
    return _text(result)


# -- a whole session, each tool with real content ------------------------------------------------

async def _exercise(client, mode: str) -> None:
    """Connect (the initialize handshake in legacy mode, server/discover in the 2026 protocol
    the SDK negotiates by default), list the tools, call each with real questions."""
    assert client.server_info.name == "codesift"
    assert client.instructions.startswith("codesift indexes this repository")
    assert (client.session.initialize_result is not None) == (mode == "legacy")
    listed = (await client.list_tools()).tools
    assert {t.name for t in listed} == TOOLS
    assert all(len(t.description) > 150 and t.annotations.read_only_hint for t in listed)

    text, data = await _ok(client, "search_code", query="Context.invoke", k=3)
    assert data["hits"][0]["path"] == "click/core.py"
    assert data["hits"][0]["symbol"] == "click.core.Context.invoke"
    first = data["hits"][0]
    assert (f"1. click/core.py:{first['start_line']}-{first['end_line']}  "
            "click.core.Context.invoke  [method, python]") in text

    text, data = await _ok(client, "search_code", query="prompt the user for a password with "
                           "hidden input", k=5, path="click/termui.py", kind=["function"])
    assert "click.termui.prompt" in [h["symbol"] for h in data["hits"]]
    assert {h["path"] for h in data["hits"]} == {"click/termui.py"}

    text, data = await _ok(client, "get_symbol", name="Context.invoke")
    assert text.startswith("definition of 'Context.invoke':")
    start, end = 737, 788  # the implementation, not its typing overloads above it
    assert f"click/core.py:{start}-{end}  click.core.Context.invoke  [method]" in text
    assert f"{start}│    def invoke(" in text and "signature: def invoke(" in text
    assert data["definitions"][0]["doc"].startswith("Invokes a command callback")

    text, data = await _ok(client, "get_symbol", name="click.core.Context")  # a class: skeleton
    assert "members' bodies elided" in text and "    def invoke(" in text
    text, data = await _ok(client, "get_symbol", name="invoke", include_source=False)
    assert len(data["definitions"]) >= 3 and "definitions match 'invoke'" in text

    text, data = await _ok(client, "read_range", path="click/core.py", start_line=start,
                           end_line=start + 2)
    total = data["total_lines"]
    assert text.splitlines()[0] == f"click/core.py:{start}-{start + 2} (of {total} lines)"
    assert f"{start}│    def invoke(" in text and len(text.splitlines()) == 4

    text, data = await _ok(client, "find_callers", symbol="click.core.Context.invoke")
    assert "- click/core.py:1443  in click.core.Command.invoke [method, 1432-1443]" in text
    text, data = await _ok(client, "find_callees", symbol="BaseCommand.main")
    assert "click.core.BaseCommand.make_context [method]" in text
    assert "click.utils._expand_args" in [r["symbol"] for r in data["results"]]

    text, data = await _ok(client, "call_path", source="MultiCommand.invoke",
                           target="Context.invoke")
    assert [r["symbol"] for r in data["results"]] == [
        "click.core.MultiCommand.invoke", "click.core.Command.invoke", "click.core.Context.invoke"]
    assert "→ click/core.py:737-788  click.core.Context.invoke  (called at line 1443)" in text

    text, data = await _ok(client, "repo_map", budget=400, focus=["click/termui.py"])
    assert text.splitlines()[0] == "click/termui.py:" and data["tokens"] <= 400
    assert text.splitlines()[-1].endswith("of 400 tokens)")

    text, data = await _ok(client, "get_context", question="how does Context.invoke call a "
                           "command callback", budget=800)
    assert text.splitlines()[0].startswith("context for 'how does Context.invoke")
    assert data["tokens"] <= 800 and any(c["path"] == "click/core.py" for c in data["citations"])
    assert "click/core.py:" in text and "def invoke(" in text
    text = await _err(client, "ask", question="how does Context.invoke work?")
    assert "no LLM endpoint is configured" in text and "llm_base_url" in text

    text, data = await _ok(client, "index_status")
    assert data["files"] >= 17 and data["languages"]["python"] == 16
    assert "graph: current" in text and "lexical + symbol only" in text
    assert data["last_indexed"] and data["changed_since_index"] == 0

    text = await _err(client, "get_symbol", name="no_such_definition_xyz")
    assert text.startswith("error: no definition named") and "\nhint: try search_code" in text
    text = await _err(client, "read_range", path="../../etc/passwd")
    assert "leaves the repository" in text and "hint:" in text


MODES = pytest.mark.parametrize("mode", ["legacy", "auto"])


@MODES
def test_stdio_session_calls_every_tool(click_repo, mode):
    def on_message(message):
        # A line on stdout that is not a JSON-RPC message reaches the client as an exception.
        problems.append(message) if isinstance(message, Exception) else None

    async def main():
        async with Client(_stdio(click_repo, errlog), mode=mode,
                          message_handler=_handler(on_message)) as c:
            await _exercise(c, mode)

    problems: list = []
    with tempfile.TemporaryFile("w+") as errlog:
        anyio.run(main)
        errlog.seek(0)
        stderr = errlog.read()
    assert problems == []
    assert f"codesift mcp: serving {click_repo.resolve()} over stdio" in stderr


def _handler(callback):
    async def handle(message):
        callback(message)
    return handle


@MODES
def test_streamable_http_session_calls_every_tool(click_repo, mode):
    async def main(url):
        async with Client(url, mode=mode) as c:
            await _exercise(c, mode)

    with codesift.open_index(click_repo) as idx, uvicorn_thread(mcp_http_app(idx), "/mcp") as url:
        anyio.run(main, url)


def test_stdout_carries_protocol_only(click_repo):
    """Raw JSON-RPC over the real process: every stdout line is a protocol message, even
    for failing calls; the banner and logs (at INFO here) are on stderr."""
    requests = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                    "clientInfo": {"name": "raw", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "search_code", "arguments": {"query": "progress bar", "k": 2}}},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
         "params": {"name": "read_range", "arguments": {"path": "/etc/passwd"}}},
        {"jsonrpc": "2.0", "id": 4, "method": "tools/call",
         "params": {"name": "find_callers", "arguments": {"symbol": "echo", "depth": 99}}},
    ]
    lines: list[str] = []
    with tempfile.TemporaryFile("w+") as errlog:
        proc = subprocess.Popen(
            [sys.executable, "-m", "codesift", "mcp", "--repo", str(click_repo),
             "--log-level", "INFO"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=errlog, text=True, env={**os.environ, "PYTHONWARNINGS": "always"})
        for request in requests:  # one at a time: at end of input, calls in flight are dropped
            proc.stdin.write(json.dumps(request) + "\n")
            proc.stdin.flush()
            while "id" in request:
                lines.append(proc.stdout.readline())
                if json.loads(lines[-1]).get("id") == request["id"]:  # stray output fails here
                    break
        proc.stdin.close()
        lines += proc.stdout.readlines()
        assert proc.wait(timeout=60) == 0
        errlog.seek(0)
        stderr = errlog.read()
    messages = [json.loads(line) for line in lines]
    assert all(m["jsonrpc"] == "2.0" for m in messages)
    by_id = {m["id"]: m for m in messages if "id" in m}
    assert set(by_id) == {1, 2, 3, 4} and len(messages) == len(lines) == 4
    assert by_id[1]["result"]["serverInfo"]["name"] == "codesift"
    assert "click/_termui_impl.py:" in by_id[2]["result"]["content"][0]["text"]
    assert by_id[3]["result"]["isError"]
    assert "absolute path" in by_id[3]["result"]["content"][0]["text"]
    assert by_id[4]["result"]["isError"]  # the schema's depth bound, checked by the SDK
    assert "codesift mcp: serving" in stderr and "read_range: absolute path" in stderr  # a log


# -- confinement, caps, errors (in process: the SDK client against the server object) -------------

def _session(root: Path, calls, bounds: Bounds | None = None):
    async def main():
        async with Client(build_mcp_server(idx, bounds=bounds)) as c:
            return await calls(c)
    with codesift.open_index(root) as idx:
        return anyio.run(main)


def test_read_range_stays_inside_the_repository(click_repo, tmp_path):
    (click_repo / "click" / "_compat.py").rename(tmp_path / "_compat.py")
    (click_repo / "click" / "_compat.py").symlink_to(tmp_path / "_compat.py")  # now a link out

    async def calls(c):
        refused = {
            "/etc/passwd": "absolute path", "../../../../etc/passwd": "leaves the repository",
            "click/../../escape.py": "leaves the repository",
            "escape.py": "not a file in the index",  # discovery skipped the symlink
            "ignored_notes.txt": "not a file in the index",  # gitignored
            "click/_compat.py": "symlink",  # indexed, then replaced by a link outside
            "click/nope.py": "not a file in the index", "": "empty",
        }
        for path, reason in refused.items():
            text = await _err(c, "read_range", path=path)
            assert reason in text.splitlines()[0], (path, text)
            assert "outside the repository" not in text and "root:" not in text
        assert "past its end" in await _err(c, "read_range", path="click/core.py",
                                            start_line=10**6)
        text, _ = await _ok(c, "read_range", path="./click//core.py", start_line=1, end_line=1)
        assert text.startswith("click/core.py:1-1")
    try:
        _session(click_repo, calls)
    finally:
        (click_repo / "click" / "_compat.py").unlink()
        (tmp_path / "_compat.py").rename(click_repo / "click" / "_compat.py")


def test_read_range_redacts_secrets(click_repo):
    pytest.importorskip("codesift.ingest.secrets")

    async def calls(c):
        text, data = await _ok(c, "read_range", path="data/key.txt")
        assert "MIIEowIBAAKCAQEA1c7" not in text and "MIIEowIBAAKCAQEA1c7" not in data["text"]
        assert "deploy key:" in text and data["redactions"] >= 1
    _session(click_repo, calls)


def test_output_cap_cuts_with_a_note_and_offset_pages_on(click_repo):
    bounds = Bounds(max_tokens=400, max_bytes=4000)

    with codesift.open_index(click_repo) as idx:
        full = [h.to_dict() for h in idx.search("option", k=30)]

    async def calls(c):
        text, page = await _ok(c, "search_code", query="option", k=30)
        assert count_tokens(text) <= 400 and len(text.encode()) <= 4000
        shown = len(page["hits"])
        assert 0 < shown < 30 and page["next_offset"] == shown
        assert text.splitlines()[-1] == (f"[truncated: results {shown + 1}-30 left out by the "
                                         f"output cap; get them with offset={shown}, or ask for "
                                         "a smaller k]")
        _, nxt = await _ok(c, "search_code", query="option", k=30 - shown, offset=shown)
        assert page["hits"] == full[:shown] and nxt["hits"][0] == full[shown]

        text, data = await _ok(c, "read_range", path="click/core.py")
        nxt_line = data["next_start_line"]
        assert text.splitlines()[-1].endswith(f"ask for more with start_line={nxt_line}]")
        assert text.splitlines()[-2].startswith(f"{nxt_line - 1}│")
        assert count_tokens(text) <= 400

        text, _ = await _ok(c, "read_range", path="data/one_long_line.txt")
        assert CUT_MARK in text and len(text.encode()) <= 4000

        text, data = await _ok(c, "get_symbol", name="click.core.Context.invoke")
        assert data["truncated"] and "read_range(path='click/core.py'" in text.splitlines()[-1]

        text, data = await _ok(c, "find_callers", symbol="click.utils.echo", depth=2,
                               min_confidence=0)
        assert data["truncated"] and len(data["results"]) < data["total"]
        assert "use a smaller depth" in text.splitlines()[-1]

        text, data = await _ok(c, "repo_map", budget=5000)
        assert "budget capped at 300" in text and count_tokens(text) <= 400
    _session(click_repo, calls, bounds)


def test_fit_counts_bytes_as_well_as_tokens():
    wide = ["一二三四五六七八九十" * 5] * 40  # 150 bytes a line, few tokens by comparison
    out = fit("header", wide, Bounds(max_tokens=100_000, max_bytes=1000), lambda n: f"[more: {n}]")
    assert out.truncated and len(out.text.encode()) <= 1000
    assert out.text.splitlines()[-1] == f"[more: {out.shown}]"
    everything = fit("header", ["a", "b"], Bounds(), lambda n: "never")
    assert everything.text == "header\na\nb" and not everything.truncated


def test_errors_come_back_as_tool_errors(tmp_path, click_repo):
    empty = tmp_path / "not_indexed"
    empty.mkdir()

    async def no_index(c):
        for tool, args in (("search_code", {"query": "x"}), ("index_status", {}),
                           ("get_symbol", {"name": "x"}), ("repo_map", {})):
            text = await _err(c, tool, **args)
            assert text.startswith("error: no index for") and "hint: build one first" in text
        assert {t.name for t in (await c.list_tools()).tools} == TOOLS  # still serving
    _session(empty, no_index)

    async def bad_input(c):
        assert (await c.call_tool("search_code", {"query": "x", "k": 0})).is_error
        assert (await c.call_tool("search_code", {"query": "x", "k": 500})).is_error
        text = await _err(c, "find_callers", symbol="")
        assert "empty symbol" in text
        text = await _err(c, "search_code", query="   ")
        assert text.startswith("error:") and "hint:" in text
        text, _ = await _ok(c, "call_path", source="click.utils.echo", target="BaseCommand.main")
        assert text.startswith("no call path from click.utils.echo to BaseCommand.main")
    _session(click_repo, bad_input)


def test_a_server_can_borrow_its_index_per_call(click_repo):
    """The HTTP server lends each call an Index from its registry instead of holding one."""
    lent = []

    @contextmanager
    def borrow():
        with codesift.open_index(click_repo) as idx:
            lent.append(idx)
            yield idx

    async def calls(c):
        _, data = await _ok(c, "search_code", query="Context.invoke", k=1)
        assert data["hits"][0]["symbol"] == "click.core.Context.invoke"
        text, _ = await _ok(c, "get_symbol", name="click.core.Context.invoke")
        assert "737│    def invoke(" in text

    async def main():
        async with Client(build_mcp_server(borrow)) as c:
            await calls(c)
    anyio.run(main)
    assert len(lent) == 2 and lent[0] is not lent[1]


def test_ask_over_mcp_answers_from_the_configured_llm(click_repo, llm_server):
    llm_server.push(Answer("It calls the callback with the context's params "
                           "[click/core.py:737-788]; see `Context.invoke`."))

    async def main():
        async with Client(build_mcp_server(idx)) as c:
            return await _ok(c, "ask", question="how does Context.invoke call the callback?",
                             budget=1500)
    with codesift.open_index(click_repo, llm_base_url=llm_server.base_url,
                             llm_model="test-model", llm_cache=False) as idx:
        text, data = anyio.run(main)
    assert text.splitlines()[0] == "answer from test-model (supported)"
    assert "It calls the callback" in text and data["supported"]
    assert data["check"]["problems"] == [] or all(
        p["kind"] != "unknown_identifier" for p in data["check"]["problems"])
    (request,) = llm_server.chat_requests
    assert "def invoke(" in request.body["messages"][1]["content"]


def test_dense_search_without_torch_and_a_rebuild_while_serving(small_dense, tmp_path):
    """One dense search over stdio in a process where importing torch would leave a mark;
    then the index is rebuilt under the running server, which follows it."""
    shadow = tmp_path / "shadow" / "torch"
    shadow.mkdir(parents=True)
    marker = tmp_path / "torch_was_imported"
    (shadow / "__init__.py").write_text(
        f"open({str(marker)!r}, 'w').write('imported')\nraise ImportError('shadowed by test')\n")

    async def main():
        env = {"PYTHONPATH": str(shadow.parent)}
        async with Client(_stdio(small_dense, sys.stderr, env=env)) as c:
            _, data = await _ok(c, "search_code", query="wait longer between attempts after a "
                                "network failure", k=3)
            assert data["hits"][0]["path"] == "pkg/client.py"
            assert any("dense" in h["sources"] for h in data["hits"])
            with open(small_dense / "pkg" / "session.py", "a") as fh:
                fh.write("\n\ndef drop_session(store, session_id):\n    store.delete(session_id)\n")
            text, data = await _ok(c, "index_status")
            assert "stale: 1 indexed files changed and 0 deleted" in text
            assert data["changed_files"] == ["pkg/session.py"]
            (small_dense / "pkg" / "upload.py").write_text(
                "def resumable_upload(blob):\n    return blob\n")
            with codesift.open_index(small_dense) as other:
                other.update(rebuild=True)
            text, data = await _ok(c, "get_symbol", name="resumable_upload")
            assert "pkg/upload.py:1-2" in text
            text, data = await _ok(c, "index_status")
            assert "hybrid lexical + dense" in text and data["files"] == 8
            assert "up to date with the indexed files" in text
    anyio.run(main)
    assert not marker.exists()


def test_a_pasted_100000_character_issue_is_answered(tmp_path):
    root = write_tree(tmp_path / "repo", SMALL_REPO)
    codesift.open_index(root, dense=False).update()
    issue = long_issue(100_000)

    async def calls(c):
        _, data = await _ok(c, "search_code", query=issue, k=3)
        assert (data["hits"][0]["path"], data["hits"][0]["symbol"]) == \
            ("pkg/session.py", "pkg.session.save_session")
        text, _ = await _ok(c, "get_context", question=issue, budget=500)
        assert "def save_session(store, session):" in text
    _session(root, calls)


def test_tool_calls_are_timed_by_the_metrics_observer(click_repo):
    """`codesift serve` passes Metrics.tool: every MCP tool call lands in codesift_tool_seconds."""
    from codesift.serve.metrics import Metrics
    metrics = Metrics()

    async def main():
        async with Client(build_mcp_server(idx, observe_tool=metrics.tool)) as c:
            await _ok(c, "search_code", query="Context.invoke", k=1)
            await _err(c, "get_symbol", name="no_such_definition_xyz")
    with codesift.open_index(click_repo) as idx:
        anyio.run(main)
    text = metrics.render()[0].decode()
    assert 'codesift_tool_seconds_count{outcome="ok",tool="search_code"} 1.0' in text
    # A library error comes back as a tool error after the call: timed, outcome ok.
    assert 'tool="get_symbol"' in text
