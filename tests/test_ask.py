"""`codesift ask | explain | tests | review` end to end: a real index, the real packer, the
CLI, and a scripted OpenAI-compatible server on 127.0.0.1 standing in for the provider."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SMALL_REPO, long_issue, write_tree
from llm_server import Answer, llm_server  # noqa: F401  (the fixture)

import codesift
from codesift.cli import main


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    root = write_tree(tmp_path_factory.mktemp("ask") / "repo", SMALL_REPO)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-qm", "init"], check=True)
    with codesift.open_index(root, dense=False) as idx:
        idx.update()
    return root


def run(repo: Path, server, *args: str, input: str | None = None, configured: bool = True,
        cache: bool = True):
    env = {"CODESIFT_DENSE": "0", "CODESIFT_LLM_CACHE": "1" if cache else "0"}
    if configured:
        env.update(CODESIFT_LLM_BASE_URL=server.base_url, CODESIFT_LLM_MODEL="test-model")
    else:
        env.update(CODESIFT_LLM_BASE_URL="", CODESIFT_LLM_MODEL="", OPENAI_BASE_URL="",
                   OPENAI_API_KEY="")
    return CliRunner().invoke(main, [*args, "--repo", str(repo)], env=env, input=input,
                              catch_exceptions=False)


def prompt_of(server) -> str:
    (request,) = server.chat_requests
    return "\n".join(m["content"] for m in request.body["messages"])


def test_ask_streams_a_checked_answer_grounded_in_the_packed_context(repo, llm_server):
    llm_server.push(Answer(
        "`HttpClient.send` retries with exponential backoff [pkg/client.py:16-22]; "
        "the wait is `time.sleep(2 ** attempt)` [pkg/client.py:30-35]; `retry_forever()` "
        "is not a thing [pkg/nowhere.py:1-2]."))
    result = run(repo, llm_server, "ask", "how are failed uploads retried?", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["supported"] and out["answer"].startswith("`HttpClient.send` retries")
    problems = {(p["kind"], p["subject"]) for p in out["check"]["problems"]}
    assert ("citation_outside_context", "pkg/nowhere.py:1-2") in problems
    assert ("unknown_identifier", "retry_forever") in problems
    assert ("citation_outside_context", "pkg/client.py:16-22") not in problems
    assert out["state"]["commit"] and len(out["state"]["commit"]) == 40
    assert out["state"]["dirty"] is False and out["state"]["index"]
    prompt = prompt_of(llm_server)
    assert "pkg/client.py:" in prompt and "time.sleep(2 ** attempt)" in prompt
    assert "[path:start-end]" in prompt  # the citation rule is in the system prompt


def test_ask_in_the_terminal_streams_then_reports_the_check(repo, llm_server):
    llm_server.push(Answer("It sleeps between attempts [pkg/client.py:16-22]."))
    result = run(repo, llm_server, "ask", "what does send do when the connection fails?")
    assert result.exit_code == 0, result.output
    assert "It sleeps between attempts [pkg/client.py:16-22]." in result.output
    assert "via 127.0.0.1" in result.output and "citations, all inside the context" in result.output
    assert ", cached" not in result.output
    # The same question of the same index state is answered from the index's cache.
    again = run(repo, llm_server, "ask", "what does send do when the connection fails?")
    assert "It sleeps between attempts" in again.output and ", cached" in again.output
    assert len(llm_server.chat_requests) == 1


def test_a_question_nothing_supports_is_not_sent_to_the_llm(repo, llm_server):
    result = run(repo, llm_server, "ask", "zebra quokka photosynthesis", "--json")
    out = json.loads(result.stdout)
    assert out["supported"] is False and "Nothing in the index supports" in out["answer"]
    assert llm_server.chat_requests == []
    # Without an LLM configured it is said just as plainly, not buried under a context.
    plain = run(repo, llm_server, "ask", "zebra quokka photosynthesis", configured=False)
    assert plain.exit_code == 0 and plain.stdout.startswith("Nothing in the index supports")


def test_without_an_llm_ask_prints_the_context_and_how_to_configure(repo, llm_server):
    result = run(repo, llm_server, "ask", "how are failed uploads retried?", configured=False)
    assert result.exit_code == 0, result.output
    assert "pkg/client.py:" in result.output and "def send(self, request):" in result.output
    assert "No LLM is configured" in result.output and "llm_base_url" in result.output
    assert llm_server.chat_requests == []


def test_a_pasted_100000_character_issue_is_answered_from_its_condensed_lines(repo, llm_server):
    llm_server.push(Answer("`save_session` writes the cookies [pkg/session.py:4-6]."))
    issue = long_issue(100_000)
    result = run(repo, llm_server, "ask", "-", "--json", input=issue)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["supported"] and "condensed for the prompt" in out["note"]
    prompt = prompt_of(llm_server)
    assert "def save_session(store, session):" in prompt  # the frame's code, packed
    # The question the model reads: the title, the traceback and the error, not the log.
    assert "save_session loses cookies when the store times out" in prompt
    assert "TimeoutError: store did not answer within 30 seconds" in prompt
    assert prompt.count("flushed batch") <= 1
    assert len(prompt) < 20_000


def test_explain_packs_the_definition_with_its_callers_and_callees(repo, llm_server):
    llm_server.push(Answer("`HttpClient.send` calls `_transport` [pkg/client.py:16-22]."))
    result = run(repo, llm_server, "explain", "HttpClient.send", "--json")
    out = json.loads(result.stdout)
    assert out["check"]["ok"], out["check"]
    prompt = prompt_of(llm_server)
    assert "Explain `HttpClient.send`" in prompt
    assert "def send(self, request):" in prompt and "def _transport(self, request):" in prompt


def test_tests_shows_the_repository_s_existing_tests(repo, llm_server):
    llm_server.push(Answer("```python\nfrom pkg.client import parse_header\n\n\n"
                           "def test_empty():\n    assert parse_header('') == ('', '')\n```\n"))
    result = run(repo, llm_server, "tests", "parse_header", "--json")
    out = json.loads(result.stdout)
    assert out["check"]["ok"], out["check"]
    prompt = prompt_of(llm_server)
    assert "tests/test_client.py" in prompt and "def test_parse_header():" in prompt


def test_invalid_code_in_an_answer_is_flagged(repo, llm_server):
    llm_server.push(Answer("```python\ndef test_x(:\n    pass\n```\n"))
    # The prompt is the previous test's: without the cache off, its answer would come back.
    out = json.loads(run(repo, llm_server, "tests", "parse_header", "--json", cache=False).stdout)
    assert [p["kind"] for p in out["check"]["problems"]] == ["invalid_code"]


def test_review_packs_what_the_diff_touches_and_its_callers(repo, llm_server, tmp_path):
    diff = tmp_path / "change.diff"
    diff.write_text(
        "--- a/pkg/client.py\n+++ b/pkg/client.py\n@@ -23,3 +23,3 @@ class HttpClient:\n"
        "     def _transport(self, request):\n-        raise ConnectionError(\"no network in tests\")\n"
        "+        raise TimeoutError(\"no network in tests\")\n \n")
    llm_server.push(Answer("`send` only catches ConnectionError [pkg/client.py:16-22]."))
    out = json.loads(run(repo, llm_server, "review", str(diff), "--json").stdout)
    assert out["supported"], out
    prompt = prompt_of(llm_server)
    assert "raise TimeoutError" in prompt  # the diff itself
    assert "def _transport(self, request):" in prompt and "def send(self, request):" in prompt


def test_review_of_something_that_is_not_a_diff_is_a_usage_error(repo, llm_server):
    result = run(repo, llm_server, "review", "-", input="just some words\n")
    assert result.exit_code == 2 and "not a unified diff" in result.output
