"""LLM-synthesised queries (issue 16) against the stand-in chat server on 127.0.0.1."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from codesift.config import Settings
from codesift.errors import (LLMNotConfiguredError, LLMUnavailableError, LLMUnreachableError,
                             UsageError)
from codesift.llm import Endpoint, LLMClient
from codesift.tune.llm_queries import (MAX_CODE_CHARS, client_for_tuning, llm_pairs,
                                       parse_questions)
from codesift.tune.records import Definition, Pair, Provenance
from llm_server import Answer, LLMServer, Malformed, dead_url, llm_server, server_error

__all__ = ["llm_server"]  # the fixture, imported for pytest

SEND = Definition("pkg/client.py", "HttpClient.send", "send", "method", "python",
                  "def send(self, request):\n    for attempt in range(self.retries):\n"
                  "        try:\n            return self._transport(request)\n"
                  "        except ConnectionError:\n            time.sleep(2 ** attempt)\n")
SPLIT = Definition("pkg/headers.py", "split_header", "split_header", "function", "python",
                   "def split_header(line):\n    name, _, value = line.partition(':')\n"
                   "    return name.strip().lower(), value.strip()\n")
DOCUMENTED = Definition("pkg/auth.py", "sign", "sign", "function", "python",
                        "def sign(key, body):\n    return hmac.new(key, body, 'sha256').hexdigest()\n",
                        doc="Sign a request body with the shared key.")
A_TEST = Definition("tests/test_client.py", "test_send_retries", "test_send_retries", "function",
                    "python", "def test_send_retries():\n    client = HttpClient(retries=2)\n"
                    "    assert client.send(Request('/')) is not None\n", is_test=True)


def make_client(*servers_or_urls: LLMServer | str, model: str = "test-model") -> LLMClient:
    endpoints = [Endpoint(s if isinstance(s, str) else s.base_url, "sk-test", model, name=f"ep{i}")
                 for i, s in enumerate(servers_or_urls)]
    return LLMClient(endpoints, temperature=0.0, max_tokens=256, timeout=2.0,
                     sleep=lambda seconds: None)  # retries without waiting


# -- questions parsed ----------------------------------------------------------------------------


def test_undocumented_definitions_get_the_questions_the_model_wrote(llm_server, tmp_path) -> None:
    llm_server.push(
        Answer('```json\n["How are failed requests retried?", '
               '"Where does the client wait between connection attempts?"]\n```'),
        Answer("Here are some questions:\n1. How is a header line split into name and value?\n"
               "2. What does split_header do?\n3. Which code lowercases header names?"))
    seen: list[tuple[int, int]] = []
    with make_client(llm_server) as client:
        pairs = llm_pairs([DOCUMENTED, SEND, A_TEST, SPLIT], client, max_definitions=10,
                          cache_path=tmp_path / "questions.db",
                          progress=lambda done, total: seen.append((done, total)))
    assert pairs == [
        Pair("llm", "How are failed requests retried?", SEND.code,
             Provenance("pkg/client.py", "HttpClient.send")),
        Pair("llm", "Where does the client wait between connection attempts?", SEND.code,
             Provenance("pkg/client.py", "HttpClient.send")),
        Pair("llm", "How is a header line split into name and value?", SPLIT.code,
             Provenance("pkg/headers.py", "split_header")),
        Pair("llm", "Which code lowercases header names?", SPLIT.code,
             Provenance("pkg/headers.py", "split_header")),
    ]  # "What does split_header do?" only repeats the name: dropped
    assert seen == [(1, 2), (2, 2)]
    first, second = llm_server.chat_requests  # the documented one and the test: not asked
    assert first.body["temperature"] == 0.0 and first.body["model"] == "test-model"
    assert SEND.code.strip() in first.body["messages"][-1]["content"]
    assert "pkg/headers.py" in second.body["messages"][-1]["content"]


def test_a_rerun_asks_nothing_again(llm_server, tmp_path) -> None:
    cache = tmp_path / "cache" / "questions.db"  # its folder is made
    llm_server.push(Answer('["How are failed requests retried?"]'),
                    Answer('["How is a header line split into name and value?"]'))
    with make_client(llm_server) as client:
        first = llm_pairs([SEND, SPLIT], client, max_definitions=10, cache_path=cache)
    assert len(llm_server.chat_requests) == 2
    with make_client(llm_server) as client:
        again = llm_pairs([SEND, SPLIT], client, max_definitions=10, cache_path=cache)
    assert again == first and len(first) == 2
    assert len(llm_server.chat_requests) == 2  # the server saw nothing new
    # The key is the code, not where it lives: the same body in another file is a hit too.
    moved = Definition("lib/http.py", "Client.send", "send", "method", "python", SEND.code)
    with make_client(llm_server) as client:
        [pair] = llm_pairs([moved], client, max_definitions=10, cache_path=cache)
    assert pair.source == Provenance("lib/http.py", "Client.send")
    assert len(llm_server.chat_requests) == 2


def test_another_model_or_no_cache_asks_again(tmp_path) -> None:
    with LLMServer(models=("test-model", "other-model")) as server:
        server.push(Answer('["How are failed requests retried?"]'),
                    Answer('["Where is the retry back-off computed?"]'),
                    Answer('["How are failed requests retried?"]'))
        cache = tmp_path / "questions.db"
        with make_client(server) as client:
            llm_pairs([SEND], client, max_definitions=1, cache_path=cache)
        with make_client(server, model="other-model") as client:
            [pair] = llm_pairs([SEND], client, max_definitions=1, cache_path=cache)
        assert pair.query == "Where is the retry back-off computed?"
        with make_client(server) as client:
            llm_pairs([SEND], client, max_definitions=1, cache_path=None)
        assert len(server.chat_requests) == 3


def test_max_definitions_and_one_ask_per_distinct_body(llm_server) -> None:
    llm_server.default = Answer('["How is this value computed from its inputs?"]')
    copy = Definition("vendor/client.py", "HttpClient.send", "send", "method", "python", SEND.code)
    with make_client(llm_server) as client:
        pairs = llm_pairs([SEND, copy, SPLIT, DOCUMENTED], client, max_definitions=1,
                          cache_path=None)
        assert [p.source.path for p in pairs] == ["pkg/client.py"]
        pairs = llm_pairs([SEND, copy, SPLIT], client, max_definitions=5, cache_path=None)
        assert [p.source.path for p in pairs] == ["pkg/client.py", "pkg/headers.py"]
        assert llm_pairs([SEND], client, max_definitions=0, cache_path=None) == []
    assert len(llm_server.chat_requests) == 3


def test_long_code_is_cut_in_the_prompt_but_kept_whole_in_the_pair(llm_server) -> None:
    body = "".join(f"    total += weight_{i} * value_{i}\n" for i in range(2000))
    big = Definition("pkg/score.py", "score", "score", "function", "python",
                     "def score(values):\n    total = 0\n" + body + "    return total\n")
    llm_server.push(Answer('["How is the weighted total of the values computed?"]'))
    with make_client(llm_server) as client:
        [pair] = llm_pairs([big], client, max_definitions=1, cache_path=None)
    assert pair.positive == big.code
    prompt = llm_server.chat_requests[0].body["messages"][-1]["content"]
    assert len(prompt) < MAX_CODE_CHARS + 300 and "... (cut)" in prompt
    assert "def score(values):" in prompt


# -- answers that are no use ---------------------------------------------------------------------


@pytest.mark.parametrize("answer", [
    "Sorry, I can't help with that.",
    '["unterminated',
    "",
    '{"questions": 3}',
    '["send", "What does HttpClient.send do?", "x?"]',
])
def test_a_malformed_answer_gives_no_pairs_and_no_crash(llm_server, tmp_path, answer) -> None:
    llm_server.push(Answer(answer))
    with make_client(llm_server) as client:
        assert llm_pairs([SEND], client, max_definitions=1,
                         cache_path=tmp_path / "questions.db") == []
        # ... and it is cached like any answer: a rerun does not pay for it again.
        assert llm_pairs([SEND], client, max_definitions=1,
                         cache_path=tmp_path / "questions.db") == []
    assert len(llm_server.chat_requests) == 1


@pytest.mark.parametrize("answer, expected", [
    ('["How are failed requests retried?", "How are failed requests retried?"]',
     ["How are failed requests retried?"]),
    ('{"questions": [{"question": "How are failed requests retried?"}]}',
     ["How are failed requests retried?"]),
    ('["How are failed requests retried?", "Where is the wai',  # cut at max_tokens
     ["How are failed requests retried?"]),
    ("- **How are failed requests retried?**\n* 'Where is the back-off computed?'",
     ["How are failed requests retried?", "Where is the back-off computed?"]),
    ("Some thoughts first.\nHow are failed requests retried?\nThat is all.",
     ["How are failed requests retried?"]),
    ('["one?", "How are failed requests retried?", "' + "very " * 40 + 'long?", '
     '"Where is the back-off computed?", "Which errors count as a dropped connection?", '
     '"What happens after the last attempt fails?"]',
     ["How are failed requests retried?", "Where is the back-off computed?",
      "Which errors count as a dropped connection?"]),  # too short, too long, then at most 3
])
def test_answers_are_parsed_robustly(answer, expected) -> None:
    assert parse_questions(answer, SEND) == expected


# -- endpoints that fail -------------------------------------------------------------------------


def test_an_unreachable_endpoint_is_a_clear_one_line_error(tmp_path) -> None:
    with make_client(dead_url()) as client:
        with pytest.raises(LLMUnreachableError) as info:
            llm_pairs([SEND], client, max_definitions=1, cache_path=tmp_path / "q.db")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("asking the LLM for questions about pkg/client.py:HttpClient.send: "
                              "cannot reach the LLM server at http://127.0.0.1:")
    assert "llm_base_url" in info.value.hint


def test_a_server_that_keeps_failing_stops_the_run_and_keeps_what_was_answered(
        llm_server, tmp_path) -> None:
    cache = tmp_path / "q.db"
    llm_server.push(Answer('["How are failed requests retried?"]'),
                    server_error(), server_error(), server_error())
    with make_client(llm_server) as client:
        with pytest.raises(LLMUnavailableError, match=r"split_header: .*failed 3 times: HTTP 500"):
            llm_pairs([SEND, SPLIT], client, max_definitions=2, cache_path=cache)
    llm_server.push(Answer('["How is a header line split into name and value?"]'))
    with make_client(llm_server) as client:
        pairs = llm_pairs([SEND, SPLIT], client, max_definitions=2, cache_path=cache)
    assert [p.source.symbol for p in pairs] == ["HttpClient.send", "split_header"]
    assert len(llm_server.chat_requests) == 5  # SEND was not asked again


def test_a_broken_response_body_is_retried_then_reported(llm_server) -> None:
    llm_server.push(Malformed(), Malformed(), Malformed())
    with make_client(llm_server) as client:
        with pytest.raises(LLMUnavailableError, match="malformed JSON in the response"):
            llm_pairs([SEND], client, max_definitions=1, cache_path=None)


def test_a_corrupt_cache_file_is_a_usage_error(llm_server, tmp_path) -> None:
    cache = tmp_path / "q.db"
    cache.write_bytes(b"this is not a database" * 100)
    with make_client(llm_server) as client:
        with pytest.raises(UsageError, match="cannot use .*q.db as the LLM question cache"):
            llm_pairs([SEND], client, max_definitions=1, cache_path=cache)
    assert llm_server.chat_requests == []


# -- off without an endpoint ---------------------------------------------------------------------


def test_no_endpoint_means_no_client(llm_server) -> None:
    assert client_for_tuning(Settings(), env={}) is None
    assert client_for_tuning(Settings(llm_model="gpt-4o-mini"), env={}) is None
    # A stray OPENAI_API_KEY without a model is no request to send code anywhere.
    assert client_for_tuning(Settings(), env={"OPENAI_API_KEY": "sk-x"}) is None
    client = client_for_tuning(Settings(llm_base_url=llm_server.base_url, llm_model="test-model",
                                        llm_temperature=0.8), env={})
    assert client is not None
    with client:
        assert client.temperature == 0.0 and client.cache is None
        llm_server.push(Answer('["How are failed requests retried?"]'))
        assert len(llm_pairs([SEND], client, max_definitions=1, cache_path=None)) == 1


def test_a_half_configured_endpoint_is_an_error_not_a_silent_skip() -> None:
    with pytest.raises(LLMNotConfiguredError, match="no model is set"):
        client_for_tuning(Settings(llm_base_url="http://127.0.0.1:9/v1"), env={})


def test_the_cache_file_holds_raw_answers_by_model_and_code(llm_server, tmp_path) -> None:
    cache = tmp_path / "q.db"
    llm_server.push(Answer('["How are failed requests retried?"]'))
    with make_client(llm_server) as client:
        llm_pairs([SEND], client, max_definitions=1, cache_path=cache)
    import hashlib
    with sqlite3.connect(cache) as db:
        rows = db.execute("SELECT model, code_sha256, response FROM llm_questions").fetchall()
    assert rows == [("test-model", hashlib.sha256(SEND.code.encode()).hexdigest(),
                     '["How are failed requests retried?"]')]
