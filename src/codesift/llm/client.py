"""`LLMClient`: ask the first healthy endpoint, retry what is worth retrying, then fall back.

Per call: the cache first; then each endpoint whose circuit is closed (or half-open), in
order, with up to `max_attempts` tries (Retry-After, else full-jitter exponential backoff).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from codesift.config import Settings
from codesift.errors import LLMError, LLMRequestError, LLMStreamCutError, LLMUnavailableError
from codesift.llm.breaker import BreakerPolicy, CircuitBreaker
from codesift.llm.cache import ResponseCache, cache_key
from codesift.llm.endpoint import Endpoint, endpoints_from_settings
from codesift.llm.transport import Reply, Retryable, Transport, Usage

T = TypeVar("T")
Messages = Sequence[Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 3  # tries per endpoint per call
    backoff_base: float = 0.5  # seconds; the n-th retry waits up to base * 2**n ...
    backoff_max: float = 20.0  # ... but never more than this
    max_retry_after: float = 60.0  # a server asking for a longer wait is given up on at once

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float | None:
        """Seconds to wait before retry number `attempt` + 1, or None to stop trying here.

        Full jitter (Brooker, "Exponential Backoff And Jitter", AWS 2015) spreads clients
        out; a server's own Retry-After is obeyed as given."""
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        return rng.uniform(0.0, min(self.backoff_max, self.backoff_base * 2 ** attempt))


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    model: str
    endpoint: str  # the answering Endpoint's name
    cached: bool = False
    usage: Usage | None = None
    finish_reason: str | None = None  # "stop", "length" (hit max_tokens), ...


class LLMClient:
    """Chat completions over an ordered list of endpoints. Not global: make one, close it."""

    def __init__(self, endpoints: Sequence[Endpoint], *, temperature: float = 0.0,
                 max_tokens: int = 1024, timeout: float = 60.0,
                 cache: ResponseCache | None = None, cache_sampled: bool = False,
                 retry: RetryPolicy = RetryPolicy(), breaker: BreakerPolicy = BreakerPolicy(),
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not endpoints:
            raise ValueError("LLMClient needs at least one endpoint")
        self.endpoints = tuple(endpoints)
        self.temperature, self.max_tokens = temperature, max_tokens
        # Sampled answers differ run to run: caching one would freeze a single draw.
        self.cache = cache if (temperature == 0 or cache_sampled) else None
        self.retry = retry
        self.breakers = tuple(CircuitBreaker(breaker, clock) for _ in self.endpoints)
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._transport = Transport(timeout)

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the two calls -----------------------------------------------------------------

    def complete(self, messages: Messages) -> Completion:
        if (hit := self._cached(messages)) is not None:
            return hit
        index, reply = self._run(lambda ep: self._transport.complete(ep, self._payload(ep, messages)))
        return self._finish(index, reply, messages)

    def stream(self, messages: Messages) -> ChatStream:
        """Text deltas as they arrive; `.completion` tells who answered once it is done."""
        return ChatStream(self, messages)

    def _stream(self, messages: Messages, handle: ChatStream) -> Iterator[str]:
        if (hit := self._cached(messages)) is not None:
            handle.endpoint, handle.completion = hit.endpoint, hit
            if hit.text:
                yield hit.text
            return

        def first_delta(ep: Endpoint) -> tuple[str | Reply, Generator[str, None, Reply] | None]:
            # Everything up to the first delta is retried like a request: nothing shown yet.
            deltas = self._transport.stream(ep, self._payload(ep, messages, stream=True))
            try:
                return next(deltas), deltas
            except StopIteration as done:  # an answer with no text at all
                return done.value, None

        index, (first, rest) = self._run(first_delta)
        endpoint = self.endpoints[index]
        handle.endpoint = endpoint.name
        if rest is None:
            assert isinstance(first, Reply)
            handle.completion = self._finish(index, first, messages)
            return
        assert isinstance(first, str)
        shown = len(first)
        try:
            yield first
            while True:
                try:
                    delta = next(rest)
                except StopIteration as done:
                    handle.completion = self._finish(index, done.value, messages)
                    return
                shown += len(delta)
                yield delta
        except Retryable as exc:
            self.breakers[index].failure()
            raise LLMStreamCutError(
                f"the answer from {endpoint.name} was cut off after {shown} characters: "
                f"{exc.reason}", hint="ask again; the text shown so far is incomplete") from exc
        finally:
            rest.close()

    # -- retries, fallback, breaker -----------------------------------------------------

    def _run(self, attempt: Callable[[Endpoint], T]) -> tuple[int, T]:
        """The first endpoint that answers, in order; its index and what `attempt` returned."""
        errors: list[LLMError] = []
        skipped: list[int] = []
        for index, (endpoint, breaker) in enumerate(zip(self.endpoints, self.breakers)):
            if not breaker.allow():
                skipped.append(index)
                continue
            try:
                result = self._retrying(endpoint, attempt)
            except LLMRequestError:
                breaker.success()  # the server is alive and answered; the request is at fault
                raise
            except LLMError as exc:
                breaker.failure()
                errors.append(exc)
                continue
            except BaseException:
                breaker.release()
                raise
            breaker.success()
            return index, result
        raise self._all_failed(errors, skipped)

    def _retrying(self, endpoint: Endpoint, attempt: Callable[[Endpoint], T]) -> T:
        tries = max(1, self.retry.max_attempts)
        for n in range(tries):
            try:
                return attempt(endpoint)
            except Retryable as exc:
                if n + 1 == tries:
                    raise LLMUnavailableError(
                        f"the LLM server {endpoint.name} failed {tries} time{'s' * (tries > 1)}: "
                        f"{exc.reason}",
                        hint="it may be overloaded: retry later, raise llm_timeout, "
                             "or add llm_fallbacks") from exc
                delay = self.retry.delay(n, exc.retry_after, self._rng)
                if delay is None:
                    raise LLMUnavailableError(
                        f"the LLM server {endpoint.name} is rate-limiting ({exc.reason}) and asks "
                        f"to wait {exc.retry_after:.0f}s",
                        hint="retry later, or add llm_fallbacks") from exc
                self._sleep(delay)
        raise AssertionError("unreachable")

    def _all_failed(self, errors: list[LLMError], skipped: list[int]) -> LLMError:
        if len(errors) == 1 and not skipped:
            return errors[0]
        parts = [str(e) for e in errors]
        parts += [f"{self.endpoints[i].name} skipped (failing; retried in "
                  f"{self.breakers[i].retry_in():.0f}s)" for i in skipped]
        hint = errors[0].hint if errors else "check the LLM servers; each is tried again " \
                                             "once its cooldown passes"
        return LLMUnavailableError(f"every LLM endpoint failed: {'; '.join(parts)}", hint,
                                   tuple(errors))

    # -- request, cache -------------------------------------------------------------------

    def _payload(self, endpoint: Endpoint, messages: Messages, stream: bool = False) -> dict[str, Any]:
        return {"model": endpoint.model, "messages": [dict(m) for m in messages],
                "temperature": self.temperature, "max_tokens": self.max_tokens, "stream": stream}

    def _key(self, endpoint: Endpoint, messages: Messages) -> str:
        return cache_key(endpoint.model, messages, self.temperature, self.max_tokens)

    def _cached(self, messages: Messages) -> Completion | None:
        if self.cache is None:
            return None
        for endpoint in self.endpoints:  # an answer any endpoint's model gave will do
            text = self.cache.get(self._key(endpoint, messages))
            if text is not None:
                return Completion(text, endpoint.model, endpoint.name, cached=True)
        return None

    def _finish(self, index: int, reply: Reply, messages: Messages) -> Completion:
        endpoint = self.endpoints[index]
        if self.cache is not None:
            self.cache.put(self._key(endpoint, messages), endpoint.model, reply.text)
        return Completion(reply.text, reply.model or endpoint.model, endpoint.name,
                          usage=reply.usage, finish_reason=reply.finish_reason)


class ChatStream:
    """Iterate for the answer's text deltas. Afterwards `completion` holds the whole answer,
    who gave it and whether it came from the cache; `endpoint` is known from the first delta."""

    def __init__(self, client: LLMClient, messages: Messages) -> None:
        self.endpoint: str | None = None
        self.completion: Completion | None = None
        self._deltas = client._stream(messages, self)

    def __iter__(self) -> Iterator[str]:
        return self._deltas

    def close(self) -> None:
        self._deltas.close()


def client_from_settings(settings: Settings, *, cache: ResponseCache | None = None,
                         env: Mapping[str, str] | None = None, **options: Any) -> LLMClient:
    """The client the settings describe; `cache` is used only when llm_cache is on."""
    return LLMClient(endpoints_from_settings(settings, os.environ if env is None else env),
                     temperature=settings.llm_temperature, max_tokens=settings.llm_max_tokens,
                     timeout=settings.llm_timeout,
                     cache=cache if settings.llm_cache else None, **options)
