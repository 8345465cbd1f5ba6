"""The response cache: an answer already paid for, keyed by model and the exact request.

`ResponseCache` is the protocol; `SQLiteCache` keeps answers in the index database's
llm_cache table (migration 5), so they live and die with the index.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Mapping, Sequence
from typing import Protocol


def cache_key(model: str, messages: Sequence[Mapping[str, str]], temperature: float,
              max_tokens: int) -> str:
    """sha256 over everything that shapes the answer; canonical JSON so dict order is moot."""
    request = {"model": model, "messages": [dict(m) for m in messages],
               "temperature": temperature, "max_tokens": max_tokens}
    raw = json.dumps(request, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class ResponseCache(Protocol):
    def get(self, key: str) -> str | None: ...

    def put(self, key: str, model: str, response: str) -> None: ...


class SQLiteCache:
    """Over an open connection whose schema has llm_cache (an index's `SQLiteStore.db`)."""

    def __init__(self, db: sqlite3.Connection, *, max_age: float | None = None) -> None:
        self.db = db
        self.max_age = max_age  # seconds; None keeps answers until the index is rebuilt

    def get(self, key: str) -> str | None:
        row = self.db.execute("SELECT response, created_at FROM llm_cache WHERE key = ?",
                              (key,)).fetchone()
        if row is None:
            return None
        if self.max_age is not None and time.time() - row[1] > self.max_age:
            return None
        return row[0]

    def put(self, key: str, model: str, response: str) -> None:
        # One statement: atomic on its own. A locked or read-only index must not cost the
        # user the answer they already have, so a failed write is dropped.
        try:
            self.db.execute("INSERT OR REPLACE INTO llm_cache(key, model, created_at, response) "
                            "VALUES (?, ?, ?, ?)", (key, model, time.time(), response))
        except sqlite3.OperationalError:
            pass
