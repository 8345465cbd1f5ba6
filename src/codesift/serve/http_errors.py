"""HTTP-facing errors and the status code of every library error, so a handler can raise and
the app answers one JSON body, {"message", "hint"}, with the right status.
"""

from __future__ import annotations

from ..errors import (
    BadQueryError,
    CodesiftError,
    CorruptIndexError,
    DatabaseError,
    EmbedderError,
    IndexError_,
    LLMError,
    LLMNotConfiguredError,
    NoIndexError,
    PathError,
    SymbolNotFoundError,
    UsageError,
)


class HTTPError(CodesiftError):
    """An error that is about the request, not the library; `status` is its HTTP code."""

    status = 400


class Unauthorized(HTTPError):
    status = 401


class Forbidden(HTTPError):
    status = 403


class NotFound(HTTPError):
    status = 404


class Conflict(HTTPError):
    status = 409


class TooManyRequests(HTTPError):
    status = 429

    def __init__(self, message: str, hint: str = "", retry_after: int = 1) -> None:
        super().__init__(message, hint)
        self.retry_after = retry_after


# Most specific first: the first class the error is an instance of decides.
_STATUS: tuple[tuple[type[CodesiftError], int], ...] = (
    (HTTPError, 0),  # its own .status
    (SymbolNotFoundError, 404),
    (PathError, 400),
    (BadQueryError, 400),
    (UsageError, 400),
    (NoIndexError, 409),  # registered, not indexed yet: start a job
    (CorruptIndexError, 500),
    (IndexError_, 409),  # e.g. a graph to rebuild, another embedder
    (EmbedderError, 502),  # the embedding model or endpoint failed
    (LLMNotConfiguredError, 409),  # the server has no LLM settings: /context still works
    (LLMError, 502),  # the LLM endpoint failed
    (DatabaseError, 502),  # a database `codesift sql` serves failed or timed out
)


def status_of(exc: CodesiftError) -> int:
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status or exc.status  # type: ignore[attr-defined]
    return 500
