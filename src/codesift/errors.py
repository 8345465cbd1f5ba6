"""The exception hierarchy. Every error says what went wrong and how to fix it.

    CodesiftError                 base; `hint` tells the user what to do
    ├── UsageError                bad input from the user (CLI exits 2)
    │   ├── BadQueryError         empty, oversize or otherwise unusable query
    │   ├── PathError             a missing or unreadable repository path
    │   └── SymbolNotFoundError   a graph query names no known definition
    ├── IndexError_               problems with an index on disk (CLI exits 1)
    │   ├── NoIndexError          no index has been built for this repository yet
    │   ├── CorruptIndexError     the database is damaged or not a codesift index
    │   └── EmbedderMismatchError the index was built with another embedding model
    └── EmbedderError             the embedding model or endpoint failed

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
