"""A real OpenAI-compatible chat server on 127.0.0.1, scripted per test, recording every request.

    from llm_server import LLMServer, Answer, Status, llm_server   # llm_server: the fixture
    llm_server.push(Status(429, headers={"Retry-After": "2"}), Answer("hi"))

Speaks POST /v1/chat/completions (JSON, or SSE `data:` chunks ending `data: [DONE]` when the
request says stream) and GET /v1/models, over HTTP/1.1 with keep-alive and chunked streams,
so a dropped connection looks to a client exactly as it would from a real server. Requests
for a model it does not list get a 404, and with `api_key` set a wrong key gets a 401, as
OpenAI answers. Each request takes the next scripted behaviour, else `default`.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

# -- behaviours a test scripts -------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """A normal answer: JSON, or one SSE chunk per word when the request streams."""

    text: str = "Hello from the test server."
    finish_reason: str = "stop"


@dataclass(frozen=True)
class Status:
    """An error status with an OpenAI-style JSON error body and optional headers."""

    code: int
    message: str = "scripted failure"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Hang:
    """Accept the request, then say nothing for `seconds` (or until the server stops)."""

    seconds: float = 30.0


@dataclass(frozen=True)
class Malformed:
    """A 200 whose body (or first stream event) is not valid JSON."""


@dataclass(frozen=True)
class Disconnect:
    """Send `after_chunks` word chunks of `text` (half the body when not streaming), then drop
    the connection without ending the chunked body; with `clean`, end the body properly but
    with neither a finish_reason nor `[DONE]`, as a proxy that times out a stream does."""

    text: str = "This answer will never be finished by the server"
    after_chunks: int = 2
    clean: bool = False


Behaviour = Answer | Status | Hang | Malformed | Disconnect


def rate_limited(retry_after: str = "1") -> Status:
    return Status(429, "Rate limit reached", {"Retry-After": retry_after})


def server_error(code: int = 500) -> Status:
    return Status(code, "The server had an error while processing your request")


# -- the server ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: Any  # parsed JSON, or None
    raw: bytes


class LLMServer(ThreadingHTTPServer):
    daemon_threads = True  # a hung handler never holds up the test run

    def __init__(self, models: tuple[str, ...] = ("test-model",), api_key: str | None = None,
                 default: Behaviour = Answer()) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.models, self.api_key, self.default = list(models), api_key, default
        self.script: deque[Behaviour] = deque()
        self.requests: list[Request] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    @property
    def chat_requests(self) -> list[Request]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def push(self, *behaviours: Behaviour) -> None:
        with self._lock:
            self.script.extend(behaviours)

    def next_behaviour(self) -> Behaviour:
        with self._lock:
            return self.script.popleft() if self.script else self.default

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def handle_error(self, request, client_address) -> None:
        # A client hanging up a keep-alive connection is normal; socketserver would print a
        # traceback into whatever stderr is at that moment (a CliRunner's captured output).
        import sys
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    def start(self) -> LLMServer:
        self._thread = threading.Thread(target=self.serve_forever,
                                        kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # wakes hung handlers
        self.shutdown()
        self.server_close()

    def __enter__(self) -> LLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture
def llm_server() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


def dead_url() -> str:
    """A loopback base URL where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


# -- the protocol --------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: LLMServer
    protocol_version = "HTTP/1.1"  # keep-alive and chunked bodies, as real servers do
    timeout = 10  # idle keep-alive connections end on their own

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._record(b"")
        if self.path.rstrip("/").endswith("/v1/models"):
            data = [{"id": m, "object": "model", "owned_by": "test"} for m in self.server.models]
            return self._json(200, {"object": "list", "data": data})
        self._error(Status(404, f"no route {self.path}"))

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = self._record(raw)
        if not self.path.endswith("/v1/chat/completions"):
            return self._error(Status(404, f"no route {self.path}"))
        if self.server.api_key and \
                self.headers.get("Authorization") != f"Bearer {self.server.api_key}":
            return self._error(Status(401, "Incorrect API key provided"))
        model = body.get("model") if isinstance(body, dict) else None
        if model not in self.server.models:
            return self._error(Status(404, f"The model `{model}` does not exist"))
        behaviour = self.server.next_behaviour()
        stream = bool(body.get("stream"))
        if isinstance(behaviour, Status):
            self._error(behaviour)
        elif isinstance(behaviour, Hang):
            self.server.stopping.wait(behaviour.seconds)
            self.close_connection = True
        elif isinstance(behaviour, Malformed):
            self._malformed(stream)
        elif stream:
            self._stream(model, behaviour)
        else:
            self._complete(model, behaviour, body)

    def _record(self, raw: bytes) -> Any:
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        self.server.record(Request(self.command, self.path,
                                   {k.lower(): v for k, v in self.headers.items()}, body, raw))
        return body

    def _complete(self, model: str, behaviour: Answer | Disconnect, body: dict) -> None:
        prompt_words = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
        text = behaviour.text
        payload = json.dumps({
            "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": getattr(behaviour, "finish_reason", "stop")}],
            "usage": {"prompt_tokens": prompt_words, "completion_tokens": len(_words(text)),
                      "total_tokens": prompt_words + len(_words(text))},
        }).encode()
        if isinstance(behaviour, Disconnect):
            self._headers(200, "application/json", length=len(payload))
            self.wfile.write(payload[: len(payload) // 2])
            return self._drop()
        self._headers(200, "application/json", length=len(payload))
        self.wfile.write(payload)

    def _stream(self, model: str, behaviour: Answer | Disconnect) -> None:
        self._headers(200, "text/event-stream", chunked=True)
        words = _words(behaviour.text)
        for n, word in enumerate(words):
            if isinstance(behaviour, Disconnect) and n == behaviour.after_chunks:
                return self._write_chunk(b"") if behaviour.clean else self._drop()
            delta = {"role": "assistant", "content": word} if n == 0 else {"content": word}
            self._event(_chunk(model, delta, None))
        self._event(_chunk(model, {}, behaviour.finish_reason))
        self._event("[DONE]")
        self._write_chunk(b"")

    def _malformed(self, stream: bool) -> None:
        if stream:
            self._headers(200, "text/event-stream", chunked=True)
            self._write_chunk(b'data: {"choices": [{"delta": {"content": "Hel\n\n')
            self._write_chunk(b"data: [DONE]\n\n")
            self._write_chunk(b"")
        else:
            raw = b'{"choices": [{"message": '
            self._headers(200, "application/json", length=len(raw))
            self.wfile.write(raw)

    def _error(self, status: Status) -> None:
        kind = {401: "invalid_request_error", 404: "invalid_request_error",
                429: "requests"}.get(status.code, "server_error")
        self._json(status.code, {"error": {"message": status.message, "type": kind,
                                           "code": status.code}}, status.headers)

    def _json(self, code: int, payload: dict, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(payload).encode()
        self._headers(code, "application/json", length=len(raw), extra=headers)
        self.wfile.write(raw)

    def _headers(self, code: int, content_type: str, *, length: int | None = None,
                 chunked: bool = False, extra: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Cache-Control", "no-cache")
        else:
            self.send_header("Content-Length", str(length or 0))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()

    def _event(self, data: dict | str) -> None:
        text = data if isinstance(data, str) else json.dumps(data)
        self._write_chunk(f"data: {text}\n\n".encode())

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))  # b"" is the last chunk
        self.wfile.flush()

    def _drop(self) -> None:
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)


def _chunk(model: str, delta: dict, finish: str | None) -> dict:
    return {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _words(text: str) -> list[str]:
    return re.findall(r"\s*\S+", text) or [text]
