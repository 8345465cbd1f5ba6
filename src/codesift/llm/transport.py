"""One HTTP exchange with one endpoint: POST /chat/completions, plain JSON or SSE stream.

Failures worth another try come out as `Retryable`; the rest as one-line LLMErrors. Retrying,
falling back and caching are the client's business, not this module's.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import SSEError, connect_sse

from codesift.errors import (LLMAuthError, LLMError, LLMModelNotFoundError,
                             LLMNotConfiguredError, LLMRequestError, LLMUnavailableError,
                             LLMUnreachableError)
from codesift.llm.endpoint import Endpoint

_RETRY_STATUS = {408, 409, 425, 429}  # and every 5xx
_REQUEST_STATUS = {400, 413, 422}  # the request itself is at fault: another server would agree
_MODELS_SHOWN = 12


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


@dataclass(frozen=True, slots=True)
class Reply:
    """What one successful exchange returned."""

    text: str
    model: str
    usage: Usage | None = None
    finish_reason: str | None = None


class Retryable(Exception):
    """429, 5xx, a timeout, a dropped connection or a malformed body: worth another try."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class Transport:
    """An httpx connection pool shared by every endpoint of one client."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._http = httpx.Client(timeout=httpx.Timeout(timeout),
                                  headers={"User-Agent": "codesift"})

    def close(self) -> None:
        self._http.close()

    def complete(self, endpoint: Endpoint, payload: dict[str, Any]) -> Reply:
        with _mapped(endpoint, self.timeout):
            response = self._http.post(_url(endpoint), json=payload, headers=_auth(endpoint))
            if response.status_code >= 300:
                raise self._status_failure(endpoint, response)
            return _parse_reply(endpoint, response.content)

    def stream(self, endpoint: Endpoint, payload: dict[str, Any]) -> Generator[str, None, Reply]:
        """Yields text deltas; returns the Reply. A stream that ends without `[DONE]` or a
        finish_reason was cut short, whatever the transport said."""
        with _mapped(endpoint, self.timeout), connect_sse(
                self._http, "POST", _url(endpoint), json=payload, headers=_auth(endpoint)) as source:
            response = source.response
            if response.status_code >= 300:
                response.read()
                raise self._status_failure(endpoint, response)
            if response.headers.get("content-type", "").startswith("application/json"):
                reply = _parse_reply(endpoint, response.read())  # a server that ignores stream
                if reply.text:
                    yield reply.text
                return reply
            return (yield from _read_events(endpoint, source.iter_sse()))

    def list_models(self, endpoint: Endpoint) -> list[str] | None:
        """Model ids from GET /models, or None when the server does not offer the list."""
        try:
            response = self._http.get(f"{endpoint.base_url}/models", headers=_auth(endpoint),
                                      timeout=min(self.timeout, 5.0))
            return sorted(str(m["id"]) for m in response.json()["data"]) \
                if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return None

    def _status_failure(self, endpoint: Endpoint, response: httpx.Response) -> Exception:
        status, detail = response.status_code, _server_message(response)
        said = f": {detail}" if detail else ""
        if status == 429 and "quota" in detail.lower():  # waiting will not refill a quota
            return LLMUnavailableError(f"the LLM server {endpoint.name} says the account is out "
                                       f"of quota (HTTP 429){said}",
                                       hint="check the plan and billing, or add llm_fallbacks")
        if status in _RETRY_STATUS or status >= 500:
            return Retryable(f"HTTP {status}{said}", retry_after(response.headers))
        if status in (401, 403):
            what = "rejected the API key" if endpoint.api_key else "wants an API key"
            return LLMAuthError(f"the LLM server {endpoint.name} {what} (HTTP {status})",
                                hint=f"set {endpoint.key_source} to a valid key")
        if status == 404:
            return self._not_found(endpoint, detail)
        if status in _REQUEST_STATUS:
            return LLMRequestError(f"the LLM server {endpoint.name} refused the request "
                                   f"(HTTP {status}){said}",
                                   hint="the prompt may be too long for the model, or a setting "
                                        "(llm_max_tokens, llm_temperature) out of its range")
        return LLMError(f"the LLM server {endpoint.name} answered HTTP {status}{said}",
                        hint="check that llm_base_url points at an OpenAI-compatible /v1 API")

    def _not_found(self, endpoint: Endpoint, detail: str) -> LLMError:
        models = self.list_models(endpoint)
        if models and endpoint.model not in models:
            shown = ", ".join(models[:_MODELS_SHOWN])
            more = f" and {len(models) - _MODELS_SHOWN} more" if len(models) > _MODELS_SHOWN else ""
            return LLMModelNotFoundError(
                f"the LLM server {endpoint.name} has no model {endpoint.model!r}; "
                f"it offers: {shown}{more}",
                hint="set llm_model (CODESIFT_LLM_MODEL), or #model= on a llm_fallbacks entry, "
                     "to one of those")
        said = f": {detail}" if detail else ""
        return LLMModelNotFoundError(
            f"{_url(endpoint)} answered HTTP 404 for model {endpoint.model!r}{said}",
            hint="check the model name, and that the base URL ends in /v1")


@contextmanager
def _mapped(endpoint: Endpoint, timeout: float) -> Iterator[None]:
    """httpx's exceptions at the boundary: refused → unreachable, the rest → Retryable."""
    url = endpoint.base_url
    try:
        yield
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        raise LLMNotConfiguredError(f"{url} is not a usable LLM base URL ({exc})",
                                    hint="write it as http(s)://HOST[:PORT]/v1") from exc
    except httpx.ConnectError as exc:
        raise LLMUnreachableError(f"cannot reach the LLM server at {url}",
                                  hint="check that it is running and llm_base_url "
                                       "(or the llm_fallbacks entry) is right") from exc
    except httpx.TimeoutException as exc:
        raise Retryable(f"no answer within {timeout:g}s (llm_timeout)") from exc
    except httpx.TransportError as exc:
        raise Retryable(f"connection lost ({type(exc).__name__})") from exc
    except SSEError as exc:
        raise Retryable("the server did not answer with an event stream") from exc


def _read_events(endpoint: Endpoint, events: Iterator[Any]) -> Generator[str, None, Reply]:
    parts: list[str] = []
    model, usage, finish = endpoint.model, None, None
    for event in events:
        if event.data.strip() == "[DONE]":
            return Reply("".join(parts), model, usage, finish or "stop")
        try:
            chunk = json.loads(event.data)
            if chunk.get("error"):
                raise Retryable(f"error in the stream: {_error_text(chunk['error'])}")
            model, usage = chunk.get("model") or model, _usage(chunk) or usage
            for choice in (chunk.get("choices") or ())[:1]:
                finish = choice.get("finish_reason") or finish
                delta = (choice.get("delta") or {}).get("content")
                if delta:
                    parts.append(delta)
                    yield delta
        except (ValueError, AttributeError, TypeError) as exc:
            raise Retryable("malformed JSON in the stream") from exc
    if finish is None:
        raise Retryable("the stream ended before the answer was complete")
    return Reply("".join(parts), model, usage, finish)


def _parse_reply(endpoint: Endpoint, raw: bytes) -> Reply:
    try:
        body = json.loads(raw)
        choice = body["choices"][0]
        text = choice["message"].get("content") or ""
        return Reply(text, body.get("model") or endpoint.model, _usage(body),
                     choice.get("finish_reason"))
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise Retryable("malformed JSON in the response") from exc


def _usage(body: dict[str, Any]) -> Usage | None:
    raw = body.get("usage")
    if not isinstance(raw, dict):
        return None
    prompt, completion = int(raw.get("prompt_tokens") or 0), int(raw.get("completion_tokens") or 0)
    return Usage(prompt, completion, int(raw.get("total_tokens") or prompt + completion))


def retry_after(headers: httpx.Headers) -> float | None:
    """Seconds the server asks us to wait: retry-after-ms, Retry-After seconds or HTTP-date."""
    if (millis := headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())


def _server_message(response: httpx.Response) -> str:
    try:
        body = response.json()
        text = _error_text(body.get("error") or body.get("message") or body)
    except (ValueError, AttributeError):
        text = response.text
    return " ".join(str(text or "").split())[:200]


def _error_text(error: Any) -> str:
    return str(error.get("message") or error) if isinstance(error, dict) else str(error)


def _url(endpoint: Endpoint) -> str:
    return f"{endpoint.base_url}/chat/completions"


def _auth(endpoint: Endpoint) -> dict[str, str]:
    return {"Authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}
