"""Embeddings from any OpenAI-compatible `/v1/embeddings` endpoint (OpenAI, vLLM, llama.cpp, TEI...).

Batches by count and characters, retries 429/5xx/timeouts with backoff that honours
Retry-After, and turns 401/404/unreachable into one-line EmbedderErrors.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from codesift.embed.base import Progress, normalize_rows
from codesift.errors import EmbedderError

if TYPE_CHECKING:
    import httpx

DEFAULT_BASE_URL = "https://api.openai.com/v1"
_RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


def resolve_base_url(base_url: str | None = None) -> str:
    url = base_url or os.environ.get("CODESIFT_EMBED_BASE_URL") or DEFAULT_BASE_URL
    return url.rstrip("/")


def openai_model_id(base_url: str, model: str) -> str:
    return f"openai:{base_url}:{model}"


def _server_message(response: httpx.Response) -> str:
    try:
        err = response.json().get("error")
        msg = err.get("message") if isinstance(err, dict) else err
    except Exception:
        msg = response.text
    return " ".join(str(msg or "").split())[:200]


class OpenAIEmbedder:
    """Embed through an OpenAI-compatible API.

    batch_size and max_batch_chars bound each request; `dimensions` is passed to models
    that support shortening (text-embedding-3-*); otherwise `dim` comes from the first
    response (reading `dim` before any call embeds a one-word probe).
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        batch_size: int = 64,
        max_batch_chars: int = 200_000,
        dimensions: int | None = None,
        timeout: float = 60.0,
        max_retries: int = 6,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
    ) -> None:
        self.model = model
        self.base_url = resolve_base_url(base_url)
        self.id = openai_model_id(self.base_url, model)
        key = api_key or os.environ.get("CODESIFT_EMBED_API_KEY") or os.environ.get("OPENAI_API_KEY")
        self.batch_size, self.max_batch_chars = max(1, batch_size), max(1, max_batch_chars)
        self.dimensions = dimensions
        self.max_retries, self.backoff_base, self.backoff_max = max_retries, backoff_base, backoff_max
        import httpx

        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)
        self._dim: int | None = dimensions

    @property
    def dim(self) -> int:
        if self._dim is None:
            self.embed_query("dimension probe")
        assert self._dim is not None
        return self._dim

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> OpenAIEmbedder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def embed_query(self, text: str) -> Any:
        return self.embed_documents([text])[0]

    def embed_documents(self, texts: Sequence[str], progress: Progress | None = None) -> Any:
        import numpy as np

        if not texts:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        parts, done = [], 0
        for batch in self._batches(texts):
            parts.append(self._embed_batch(batch))
            done += len(batch)
            if progress is not None:
                progress(done)
        return np.concatenate(parts)

    def _batches(self, texts: Sequence[str]) -> Iterator[list[str]]:
        batch: list[str] = []
        chars = 0
        for text in texts:
            text = text or " "  # some servers reject empty strings
            if batch and (len(batch) >= self.batch_size or chars + len(text) > self.max_batch_chars):
                yield batch
                batch, chars = [], 0
            batch.append(text)
            chars += len(text)
        if batch:
            yield batch

    def _embed_batch(self, batch: list[str]) -> Any:
        import numpy as np

        payload: dict[str, Any] = {"model": self.model, "input": batch, "encoding_format": "float"}
        if self.dimensions:
            payload["dimensions"] = self.dimensions
        body = self._post(payload)
        try:
            rows = sorted(body["data"], key=lambda item: item["index"])
            vectors = np.asarray([row["embedding"] for row in rows], dtype=np.float32)
        except (KeyError, TypeError, ValueError) as exc:
            raise EmbedderError(
                f"unexpected embeddings response from {self.base_url}",
                hint="the server does not speak the OpenAI /v1/embeddings protocol",
            ) from exc
        if vectors.ndim != 2 or len(vectors) != len(batch):
            raise EmbedderError(f"{self.base_url} returned {len(vectors)} embeddings for {len(batch)} inputs")
        if self._dim is None:
            self._dim = int(vectors.shape[1])
        elif vectors.shape[1] != self._dim:
            raise EmbedderError(f"{self.base_url} returned {vectors.shape[1]}-d vectors, expected {self._dim}")
        return normalize_rows(vectors)

    def _post(self, payload: dict[str, Any]) -> Any:
        import httpx

        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                response = self._client.post("/embeddings", json=payload)
            except httpx.ConnectError as exc:
                raise EmbedderError(
                    f"cannot reach the embeddings server at {self.base_url}",
                    hint="check that it is running and CODESIFT_EMBED_BASE_URL is right",
                ) from exc
            except (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError) as exc:
                if last:
                    raise EmbedderError(
                        f"embeddings request to {self.base_url} failed {attempt + 1} times: {type(exc).__name__}",
                        hint="the server is overloaded or the timeout is too short",
                    ) from exc
                time.sleep(self._backoff(attempt, None))
                continue
            if response.status_code < 300:
                return response.json()
            if response.status_code in _RETRY_STATUS and not last:
                from codesift.llm.transport import retry_after  # seconds, an HTTP date, -ms
                time.sleep(self._backoff(attempt, retry_after(response.headers)))
                continue
            raise self._status_error(response, attempt + 1)
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Retry-After when the server gives one, else full-jitter exponential backoff."""
        if retry_after is not None:
            return min(retry_after, self.backoff_max) + random.uniform(0, 0.1)  # de-synchronise clients
        return random.uniform(0, min(self.backoff_max, self.backoff_base * 2**attempt))

    def _status_error(self, response: httpx.Response, attempts: int) -> EmbedderError:
        status, detail = response.status_code, _server_message(response)
        if status in (401, 403):
            return EmbedderError(
                f"the embeddings server at {self.base_url} rejected the API key (HTTP {status})",
                hint="set CODESIFT_EMBED_API_KEY (or OPENAI_API_KEY) to a valid key",
            )
        if status == 404:
            return EmbedderError(
                f"model {self.model!r} or {self.base_url}/embeddings not found (HTTP 404)",
                hint="check the model name and that the base URL ends in /v1",
            )
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        return EmbedderError(
            f"embeddings request failed{tries}: HTTP {status} {detail}".rstrip(),
            hint="see the server's logs; retry later if it is overloaded",
        )
