"""The LLM client against a real chat-completions server on 127.0.0.1 (tests/llm_server.py).

Retries, fallback, the circuit breaker and the cache are asserted through what the server
received and the delays the client chose (its `sleep` is injected, so nothing waits).
"""

from __future__ import annotations

import email.utils
import random
import time
from pathlib import Path

import pytest

from codesift.config import Settings, load_settings
from codesift.errors import (LLMAuthError, LLMModelNotFoundError, LLMNotConfiguredError,
                             LLMRequestError, LLMStreamCutError, LLMUnavailableError,
                             LLMUnreachableError)
from codesift.llm import (BreakerPolicy, CircuitBreaker, Endpoint, LLMClient, RetryPolicy,
                          SQLiteCache, cache_key, client_from_settings, endpoints_from_settings)
from codesift.store.sqlite import SQLiteStore
from llm_server import (Answer, Disconnect, Hang, LLMServer, Malformed, Status, dead_url,
                        llm_server, rate_limited, server_error)

__all__ = ["llm_server"]  # the fixture, imported for pytest

MESSAGES = [{"role": "system", "content": "Answer from the code."},
            {"role": "user", "content": "where do we retry uploads?"}]


class Sleeps(list):
    """Records the delays the client asked for instead of waiting them out."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_client(*servers_or_urls: LLMServer | str, sleeps: Sleeps | None = None,
                model: str = "test-model", **options) -> LLMClient:
    endpoints = [Endpoint(s if isinstance(s, str) else s.base_url, "sk-test", model,
                          name=f"ep{i}") for i, s in enumerate(servers_or_urls)]
    options.setdefault("timeout", 2.0)
    return LLMClient(endpoints, sleep=sleeps if sleeps is not None else Sleeps(), **options)


# -- a plain answer and a streamed one --------------------------------------------------------


def test_complete_sends_the_request_and_reads_the_answer(llm_server: LLMServer) -> None:
    llm_server.push(Answer("Uploads retry in pkg/client.py.", finish_reason="length"))
    with make_client(llm_server, temperature=0.0, max_tokens=64) as client:
        done = client.complete(MESSAGES)
    assert done.text == "Uploads retry in pkg/client.py."
    assert (done.model, done.endpoint, done.cached, done.finish_reason) == \
        ("test-model", "ep0", False, "length")
    assert done.usage is not None and done.usage.completion_tokens == 4
    [request] = llm_server.requests
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.body == {"model": "test-model", "messages": MESSAGES, "temperature": 0.0,
                            "max_tokens": 64, "stream": False}


def test_stream_yields_deltas_then_tells_who_answered(llm_server: LLMServer) -> None:
    llm_server.push(Answer("one two three"))
    with make_client(llm_server) as client:
        stream = client.stream(MESSAGES)
        deltas = list(stream)
    assert deltas == ["one", " two", " three"]
    assert stream.endpoint == "ep0"
    assert stream.completion is not None and stream.completion.text == "one two three"
    assert stream.completion.finish_reason == "stop"
    [request] = llm_server.requests
    assert request.body["stream"] is True
    assert request.headers["accept"] == "text/event-stream"


# -- retries ------------------------------------------------------------------------------------


@pytest.mark.parametrize("headers, wait", [({"Retry-After": "2"}, 2.0),
                                           ({"Retry-After": "25"}, 25.0),  # past backoff_max
                                           ({"retry-after-ms": "1500"}, 1.5)])
def test_429_waits_what_retry_after_says(llm_server: LLMServer, headers: dict, wait: float) -> None:
    llm_server.push(Status(429, "Rate limit reached", headers), Answer("ok"))
    sleeps = Sleeps()
    with make_client(llm_server, sleeps=sleeps, retry=RetryPolicy(backoff_base=0.01)) as client:
        assert client.complete(MESSAGES).text == "ok"
    assert sleeps == [wait]
    assert len(llm_server.chat_requests) == 2


def test_retry_after_as_http_date(llm_server: LLMServer) -> None:
    when = email.utils.formatdate(time.time() + 3, usegmt=True)
    llm_server.push(Status(503, "busy", {"Retry-After": when}), Answer("ok"))
    sleeps = Sleeps()
    with make_client(llm_server, sleeps=sleeps) as client:
        assert client.complete(MESSAGES).text == "ok"
    [delay] = sleeps
    assert 1.0 < delay <= 3.0  # the date has whole-second resolution


def test_retry_after_longer_than_allowed_moves_on_at_once(llm_server: LLMServer) -> None:
    llm_server.push(rate_limited("3600"))
    sleeps = Sleeps()
    with make_client(llm_server, sleeps=sleeps) as client, \
            pytest.raises(LLMUnavailableError, match="rate-limiting .* asks to wait 3600s"):
        client.complete(MESSAGES)
    assert sleeps == [] and len(llm_server.chat_requests) == 1


def test_5xx_backs_off_exponentially_with_full_jitter(llm_server: LLMServer) -> None:
    llm_server.push(server_error(500), server_error(503), Answer("ok"))
    sleeps = Sleeps()
    with make_client(llm_server, sleeps=sleeps, rng=random.Random(7),
                     retry=RetryPolicy(max_attempts=3, backoff_base=0.5)) as client:
        assert client.complete(MESSAGES).text == "ok"
    same = random.Random(7)
    assert sleeps == [same.uniform(0, 0.5), same.uniform(0, 1.0)]
    assert len(llm_server.chat_requests) == 3


def test_backoff_is_capped() -> None:
    policy, rng = RetryPolicy(backoff_base=1.0, backoff_max=4.0), random.Random(1)
    delays = [policy.delay(attempt, None, rng) for attempt in range(30) for _ in range(20)]
    assert max(delays) <= 4.0 and max(delays) > 3.0  # uses the whole capped range


def test_gives_up_after_max_attempts(llm_server: LLMServer) -> None:
    llm_server.push(*[server_error(502)] * 5)
    sleeps = Sleeps()
    with make_client(llm_server, sleeps=sleeps) as client, \
            pytest.raises(LLMUnavailableError, match="ep0 failed 3 times: HTTP 502") as err:
        client.complete(MESSAGES)
    assert len(sleeps) == 2 and len(llm_server.chat_requests) == 3
    assert "\n" not in str(err.value) and "llm_fallbacks" in err.value.hint


def test_a_hung_server_times_out_and_is_retried(llm_server: LLMServer) -> None:
    llm_server.push(Hang(30), Answer("after the hang"))
    with make_client(llm_server, timeout=0.3) as client:
        assert client.complete(MESSAGES).text == "after the hang"
    assert len(llm_server.chat_requests) == 2


def test_hung_every_time_says_timed_out(llm_server: LLMServer) -> None:
    llm_server.push(Hang(30), Hang(30))
    with make_client(llm_server, timeout=0.3, retry=RetryPolicy(max_attempts=2)) as client, \
            pytest.raises(LLMUnavailableError, match=r"no answer within 0.3s \(llm_timeout\)"):
        client.complete(MESSAGES)


@pytest.mark.parametrize("streaming", [False, True])
def test_malformed_json_is_retried(llm_server: LLMServer, streaming: bool) -> None:
    llm_server.push(Malformed(), Answer("fine now"))
    with make_client(llm_server) as client:
        text = "".join(client.stream(MESSAGES)) if streaming else client.complete(MESSAGES).text
    assert text == "fine now"
    assert len(llm_server.chat_requests) == 2


def test_a_dropped_plain_response_is_retried(llm_server: LLMServer) -> None:
    llm_server.push(Disconnect(), Answer("whole"))
    with make_client(llm_server) as client:
        assert client.complete(MESSAGES).text == "whole"
    assert len(llm_server.chat_requests) == 2


def test_a_stream_failing_before_its_first_delta_is_retried(llm_server: LLMServer) -> None:
    llm_server.push(server_error(500), Disconnect("never seen", after_chunks=0), Answer("a b"))
    with make_client(llm_server) as client:
        assert list(client.stream(MESSAGES)) == ["a", " b"]
    assert len(llm_server.chat_requests) == 3


def test_a_stream_cut_after_text_was_shown_is_an_error(llm_server: LLMServer) -> None:
    llm_server.push(Disconnect("alpha beta gamma delta", after_chunks=2), Answer("never asked"))
    shown: list[str] = []
    with make_client(llm_server) as client:
        with pytest.raises(LLMStreamCutError, match="from ep0 was cut off after 10 characters"):
            for delta in client.stream(MESSAGES):
                shown.append(delta)
    assert shown == ["alpha", " beta"]
    assert len(llm_server.chat_requests) == 1  # not silently asked again


def test_a_stream_closed_cleanly_but_unfinished_counts_as_cut(llm_server: LLMServer) -> None:
    # No transport error at all: only the missing finish_reason and [DONE] tell.
    llm_server.push(Disconnect("x y", after_chunks=0, clean=True),
                    Disconnect("one two three", after_chunks=1, clean=True))
    with make_client(llm_server) as client:
        with pytest.raises(LLMStreamCutError, match="ended before the answer was complete"):
            list(client.stream(MESSAGES))
    assert len(llm_server.chat_requests) == 2  # the first, empty, one was retried


# -- errors that are not retried ----------------------------------------------------------------


def test_bad_key_is_one_line_naming_endpoint_and_setting() -> None:
    with LLMServer(api_key="sk-right") as server:
        endpoints = endpoints_from_settings(
            Settings(llm_base_url=server.base_url, llm_model="test-model", llm_api_key="sk-wrong"))
        with LLMClient(endpoints, sleep=Sleeps()) as client, pytest.raises(LLMAuthError) as err:
            client.complete(MESSAGES)
        assert len(server.chat_requests) == 1
    host = server.base_url.split("/")[2]
    assert str(err.value) == f"the LLM server {host} rejected the API key (HTTP 401)"
    assert err.value.hint == "set llm_api_key (CODESIFT_LLM_API_KEY) to a valid key"


def test_no_key_where_one_is_needed_says_so() -> None:
    with LLMServer(api_key="sk-right") as server:
        fallback = f"{server.base_url}#model=test-model&key_env=MY_LLM_KEY"
        endpoints = endpoints_from_settings(Settings(llm_fallbacks=(fallback,)), env={})
        with LLMClient(endpoints, sleep=Sleeps()) as client, pytest.raises(LLMAuthError) as err:
            client.complete(MESSAGES)
    assert str(err.value).endswith("wants an API key (HTTP 401)")
    assert err.value.hint == "set $MY_LLM_KEY to a valid key"
    assert "authorization" not in server.requests[0].headers


def test_out_of_quota_is_not_retried(llm_server: LLMServer) -> None:
    llm_server.push(Status(429, "You exceeded your current quota, please check your plan"))
    sleeps = Sleeps()
    with make_client(llm_server, sleeps=sleeps) as client, \
            pytest.raises(LLMUnavailableError, match="out of quota"):
        client.complete(MESSAGES)
    assert sleeps == [] and len(llm_server.chat_requests) == 1


def test_unknown_model_lists_the_models_on_offer() -> None:
    with LLMServer(models=("llama-3.1-8b", "qwen2.5-coder")) as server:
        with make_client(server, model="gpt-9") as client, \
                pytest.raises(LLMModelNotFoundError) as err:
            client.complete(MESSAGES)
        assert [r.method for r in server.requests] == ["POST", "GET"]
    assert str(err.value) == ("the LLM server ep0 has no model 'gpt-9'; "
                              "it offers: llama-3.1-8b, qwen2.5-coder")
    assert "llm_model" in err.value.hint


def test_a_404_without_a_model_list_points_at_the_base_url(llm_server: LLMServer) -> None:
    no_v1 = llm_server.base_url.removesuffix("/v1")
    with make_client(no_v1) as client, pytest.raises(LLMModelNotFoundError) as err:
        client.complete(MESSAGES)
    assert str(err.value) == (f"{no_v1}/chat/completions answered HTTP 404 for model "
                              "'test-model': no route /chat/completions")
    assert err.value.hint == "check the model name, and that the base URL ends in /v1"


def test_unreachable_server_names_the_url() -> None:
    url = dead_url()
    sleeps = Sleeps()
    with make_client(url, sleeps=sleeps) as client, pytest.raises(LLMUnreachableError) as err:
        client.complete(MESSAGES)
    assert str(err.value) == f"cannot reach the LLM server at {url}"
    assert sleeps == []


def test_bad_request_is_not_retried_nor_sent_elsewhere(llm_server: LLMServer) -> None:
    llm_server.push(Status(400, "This model's maximum context length is 8192 tokens"))
    with LLMServer() as backup:
        with make_client(llm_server, backup) as client, \
                pytest.raises(LLMRequestError, match="HTTP 400.*maximum context length"):
            client.complete(MESSAGES)
        assert backup.requests == []
    assert len(llm_server.chat_requests) == 1


# -- fallback and the circuit breaker -----------------------------------------------------------


def test_falls_back_to_the_next_endpoint_after_retries() -> None:
    with LLMServer(default=server_error(503)) as primary, \
            LLMServer(default=Answer("from the backup")) as backup:
        sleeps = Sleeps()
        with make_client(primary, backup, sleeps=sleeps) as client:
            done = client.complete(MESSAGES)
            stream = client.stream(MESSAGES)
            streamed = "".join(stream)
        assert (done.text, done.endpoint) == ("from the backup", "ep1")
        assert (streamed, stream.endpoint) == ("from the backup", "ep1")
        assert len(primary.chat_requests) == 6 and len(backup.chat_requests) == 2
        assert len(sleeps) == 4  # two per call, all before the fallback


def test_unreachable_primary_falls_back_without_waiting(llm_server: LLMServer) -> None:
    sleeps = Sleeps()
    with make_client(dead_url(), llm_server, sleeps=sleeps) as client:
        assert client.complete(MESSAGES).endpoint == "ep1"
    assert sleeps == []


def test_every_endpoint_failing_is_one_line_naming_each() -> None:
    url = dead_url()
    with LLMServer(api_key="sk-other") as second:
        with make_client(url, second) as client, pytest.raises(LLMUnavailableError) as err:
            client.complete(MESSAGES)
    message = str(err.value)
    assert message.startswith("every LLM endpoint failed: ")
    assert f"cannot reach the LLM server at {url}" in message
    assert "ep1 rejected the API key" in message and "\n" not in message
    assert [type(e) for e in err.value.errors] == [LLMUnreachableError, LLMAuthError]


def test_breaker_skips_a_failing_endpoint_then_tries_it_after_cooldown() -> None:
    now = [1000.0]
    with LLMServer(default=server_error(500)) as flaky, LLMServer() as backup:
        with make_client(flaky, backup, clock=lambda: now[0],
                         retry=RetryPolicy(max_attempts=1),
                         breaker=BreakerPolicy(threshold=2, cooldown=30.0)) as client:
            for _ in range(2):
                assert client.complete(MESSAGES).endpoint == "ep1"
            assert len(flaky.chat_requests) == 2 and client.breakers[0].state == "open"
            for _ in range(3):  # open: not even asked
                assert client.complete(MESSAGES).endpoint == "ep1"
            assert len(flaky.chat_requests) == 2
            now[0] += 31  # cooldown over: one trial call, which fails and reopens it
            assert client.complete(MESSAGES).endpoint == "ep1"
            assert len(flaky.chat_requests) == 3 and client.breakers[0].state == "open"
            flaky.default = Answer("recovered")
            now[0] += 31  # the next trial succeeds and closes the circuit
            assert client.complete(MESSAGES).text == "recovered"
            assert client.breakers[0].state == "closed"
            assert client.complete(MESSAGES).endpoint == "ep0"


def test_all_circuits_open_fails_fast_without_a_request() -> None:
    now = [0.0]
    with LLMServer(default=server_error(500)) as server:
        with make_client(server, clock=lambda: now[0], retry=RetryPolicy(max_attempts=1),
                         breaker=BreakerPolicy(threshold=1, cooldown=60.0)) as client:
            with pytest.raises(LLMUnavailableError, match="ep0 failed 1 time: HTTP 500"):
                client.complete(MESSAGES)
            now[0] += 15
            with pytest.raises(LLMUnavailableError,
                               match=r"ep0 skipped \(failing; retried in 45s\)"):
                client.complete(MESSAGES)
        assert len(server.chat_requests) == 1


def test_half_open_lets_one_trial_through() -> None:
    now = [0.0]
    breaker = CircuitBreaker(BreakerPolicy(threshold=1, cooldown=10), clock=lambda: now[0])
    breaker.failure()
    assert not breaker.allow()
    now[0] = 10.0
    assert breaker.state == "half-open"
    assert breaker.allow() and not breaker.allow()  # the second caller waits for the verdict
    breaker.release()
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed" and breaker.allow()


# -- the cache -----------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path):
    store = SQLiteStore(tmp_path / "index.db", create=True)
    yield store
    store.close()


def test_cache_answers_the_second_time_without_the_server(llm_server: LLMServer, store) -> None:
    llm_server.push(Answer("cached answer"))
    with make_client(llm_server, cache=SQLiteCache(store.db)) as client:
        first = client.complete(MESSAGES)
        second = client.complete(MESSAGES)
        stream = client.stream(MESSAGES)
        streamed = list(stream)
    assert not first.cached and second.cached
    assert second.text == "cached answer" and second.endpoint == "ep0"
    assert streamed == ["cached answer"] and stream.completion.cached
    assert len(llm_server.chat_requests) == 1
    key = cache_key("test-model", MESSAGES, 0.0, 1024)
    assert store.db.execute("SELECT model, response FROM llm_cache WHERE key = ?",
                            (key,)).fetchone() == ("test-model", "cached answer")


def test_cache_outlives_the_client_and_keys_on_the_request(llm_server: LLMServer,
                                                           tmp_path: Path) -> None:
    path = tmp_path / "index.db"
    store = SQLiteStore(path, create=True)
    with make_client(llm_server, cache=SQLiteCache(store.db)) as client:
        client.complete(MESSAGES)
    store.close()
    store = SQLiteStore(path)
    try:
        with make_client(llm_server, cache=SQLiteCache(store.db)) as client:
            assert client.complete(MESSAGES).cached
        with make_client(llm_server, cache=SQLiteCache(store.db), max_tokens=10) as client:
            assert not client.complete(MESSAGES).cached
        with make_client(llm_server, cache=SQLiteCache(store.db)) as client:
            assert not client.complete(MESSAGES[:1]).cached
    finally:
        store.close()
    assert len(llm_server.chat_requests) == 3


def test_sampled_answers_are_not_cached_by_default(llm_server: LLMServer, store) -> None:
    with make_client(llm_server, cache=SQLiteCache(store.db), temperature=0.7) as client:
        assert not client.complete(MESSAGES).cached
        assert not client.complete(MESSAGES).cached
    with make_client(llm_server, cache=SQLiteCache(store.db), temperature=0.7,
                     cache_sampled=True) as client:
        client.complete(MESSAGES)
        assert client.complete(MESSAGES).cached
    assert len(llm_server.chat_requests) == 3


def test_a_cut_stream_is_not_cached(llm_server: LLMServer, store) -> None:
    llm_server.push(Disconnect("half an answer here", after_chunks=1), Answer("full"))
    with make_client(llm_server, cache=SQLiteCache(store.db)) as client:
        with pytest.raises(LLMStreamCutError):
            list(client.stream(MESSAGES))
        assert "".join(client.stream(MESSAGES)) == "full"
        assert client.complete(MESSAGES).cached


# -- endpoints from settings -----------------------------------------------------------------------


def test_primary_from_settings_or_openai_env() -> None:
    [ep] = endpoints_from_settings(Settings(llm_model="m"), {"OPENAI_API_KEY": "sk-env"})
    assert (ep.base_url, ep.api_key, ep.model, ep.name) == \
        ("https://api.openai.com/v1", "sk-env", "m", "api.openai.com")
    assert ep.key_source.startswith("OPENAI_API_KEY")
    [ep] = endpoints_from_settings(
        Settings(llm_base_url="http://localhost:8080/v1/", llm_model="m"),
        {"OPENAI_BASE_URL": "http://ignored/v1"})
    assert (ep.base_url, ep.api_key, ep.name) == ("http://localhost:8080/v1", None, "localhost:8080")
    assert "sk-env" not in repr(Endpoint("http://h/v1", "sk-env", "m"))


def test_fallback_entries_from_toml_and_env(tmp_path: Path) -> None:
    (tmp_path / "codesift.toml").write_text(
        'llm_base_url = "http://127.0.0.1:8080/v1"\nllm_model = "qwen"\n'
        'llm_fallbacks = ["http://127.0.0.1:11434/v1#llama3.1:8b",\n'
        '  "https://api.groq.com/openai/v1#model=llama-3.1-8b&key_env=GROQ_KEY&name=groq",\n'
        '  "http://127.0.0.1:8080/v1"]\n')
    env = {"GROQ_KEY": "gsk-1"}
    endpoints = endpoints_from_settings(load_settings(tmp_path, env=env), env)
    assert [(e.name, e.model, e.api_key) for e in endpoints] == [
        ("127.0.0.1:8080", "qwen", None), ("127.0.0.1:11434", "llama3.1:8b", None),
        ("groq", "llama-3.1-8b", "gsk-1"), ("127.0.0.1:8080#2", "qwen", None)]
    assert endpoints[2].key_source == "$GROQ_KEY"
    env = {"CODESIFT_LLM_FALLBACKS": "http://a:1/v1#x,http://b:2/v1#y", "CODESIFT_LLM_MODEL": "z"}
    assert [(e.base_url, e.model) for e in endpoints_from_settings(load_settings(env=env), env)] \
        == [("http://a:1/v1", "x"), ("http://b:2/v1", "y")]


@pytest.mark.parametrize("settings, message", [
    (Settings(), "no LLM endpoint is configured"),
    (Settings(llm_base_url="http://localhost:1/v1"), "no model is set for the LLM endpoint localhost:1"),
    (Settings(llm_model="m", llm_fallbacks=("localhost:1/v1",)), "is not an http(s) URL"),
    (Settings(llm_model="m", llm_fallbacks=("http://h/v1#model=a&key=sk",)), "unknown option(s): key"),
])
def test_configuration_mistakes_are_one_line_errors(settings: Settings, message: str) -> None:
    with pytest.raises(LLMNotConfiguredError) as err:
        endpoints_from_settings(settings, {})
    assert message in str(err.value) and err.value.hint and err.value.exit_code == 2


def test_client_from_settings_uses_every_llm_setting(llm_server: LLMServer, store) -> None:
    settings = Settings(llm_base_url=llm_server.base_url, llm_model="test-model",
                        llm_api_key="sk-set", llm_max_tokens=77, llm_temperature=0.0,
                        llm_cache=False)
    with client_from_settings(settings, cache=SQLiteCache(store.db), env={}) as client:
        client.complete(MESSAGES)
        assert not client.complete(MESSAGES).cached  # llm_cache = false
    request = llm_server.chat_requests[0]
    assert request.body["max_tokens"] == 77 and request.headers["authorization"] == "Bearer sk-set"
