"""The exception hierarchy. Every error says what went wrong and how to fix it.

    CodesiftError                 base; `hint` tells the user what to do
    ├── UsageError                bad input from the user (CLI exits 2)
    │   ├── BadQueryError         empty, oversize or otherwise unusable query
    │   ├── PathError             a missing or unreadable repository path
    │   ├── SymbolNotFoundError   a graph query names no known definition
    │   └── SqlCheckError         SQL that fails a check (parse, names, read-only, EXPLAIN)
    ├── IndexError_               problems with an index on disk (CLI exits 1)
    │   ├── NoIndexError          no index has been built for this repository yet
    │   ├── CorruptIndexError     the database is damaged or not a codesift index
    │   └── EmbedderMismatchError the index was built with another embedding model
    ├── EmbedderError             the embedding model or endpoint failed
    ├── DatabaseError             a database `codesift sql` talks to failed
    └── LLMError                  the chat model (OpenAI-compatible endpoint) failed
        ├── LLMNotConfiguredError no endpoint or model set, or a bad fallback entry (exits 2)
        ├── LLMRequestError       the server refused the request itself (HTTP 400): no fallback
        ├── LLMAuthError          the API key was rejected (HTTP 401/403)
        ├── LLMModelNotFoundError the server has no such model (HTTP 404)
        ├── LLMUnreachableError   nothing answers at the base URL
        ├── LLMUnavailableError   retries used up (429, 5xx, timeouts) or every endpoint failed
        └── LLMStreamCutError     a streamed answer broke after part of it was shown

Foreign exceptions are mapped at the boundary with `raise ... from exc`.
"""

from __future__ import annotations


class CodesiftError(Exception):
    """Base class. `str(err)` is one line; `hint` is an optional second line."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


class UsageError(CodesiftError):
    exit_code = 2


class BadQueryError(UsageError):
    pass


class PathError(UsageError):
    pass


class SymbolNotFoundError(UsageError):
    pass


class IndexError_(CodesiftError):  # trailing underscore: do not shadow the builtin
    pass


class NoIndexError(IndexError_):
    pass


class CorruptIndexError(IndexError_):
    pass


class EmbedderMismatchError(IndexError_):
    pass


class EmbedderError(CodesiftError):
    pass


class LLMError(CodesiftError):
    pass


class LLMNotConfiguredError(LLMError):
    exit_code = 2  # a settings mistake, like UsageError


class LLMRequestError(LLMError):
    pass


class LLMAuthError(LLMError):
    pass


class LLMModelNotFoundError(LLMError):
    pass


class LLMUnreachableError(LLMError):
    pass


class LLMUnavailableError(LLMError):
    """`errors` holds each endpoint's own failure when several were tried."""

    def __init__(self, message: str, hint: str = "",
                 errors: tuple[LLMError, ...] = ()) -> None:
        super().__init__(message, hint)
        self.errors = errors


class LLMStreamCutError(LLMError):
    pass


class DatabaseError(CodesiftError):
    """A database `codesift sql` talks to failed: unreachable, refused, timed out."""


class SqlCheckError(UsageError):
    """SQL that fails a check: it does not parse, names an unknown table or column, is not a
    single read-only statement, or EXPLAIN rejects it. `str()` is what goes back to the model."""
