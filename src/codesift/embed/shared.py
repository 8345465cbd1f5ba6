"""Query embedders shared by the indexes of one process: a server or a search over several
repositories loads each query model once, and a query asked of many indexes that were
embedded with the same model is embedded once.
"""

# Without sharing, every open Index loads its own query model and a search over 27
# repositories embedded the same query 27 times. Models are keyed by what makes their query vectors
# differ (spec, precision, token cap); the memo by that key and the text.

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

MEMO_SIZE = 256  # recent query vectors kept (~1.5 KB each at 384 dimensions)


class SharedQueryEmbedders:
    """Thread-safe: a model is built once per key (other callers wait for it), and each
    model embeds one query at a time (the embedders make no promise about concurrent
    calls; a query that another thread is embedding is then found in the memo)."""

    def __init__(self, memo_size: int = MEMO_SIZE) -> None:
        self._models: dict[Hashable, Any] = {}
        self._model_locks: dict[Hashable, threading.Lock] = {}
        self._memo: OrderedDict[tuple[Hashable, str], Any] = OrderedDict()
        self._memo_size = memo_size
        self._lock = threading.Lock()

    def model(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """The embedder for `key`, made by `make()` the first time it is asked for."""
        with self._lock:
            lock = self._model_locks.setdefault(key, threading.Lock())
        with lock:  # one build per key, and no global lock held while a model loads
            if key not in self._models:
                self._models[key] = make()
            return self._models[key]

    def embedding(self, key: Hashable) -> Callable[[str], Any]:
        """`embed_query` of the model made for `key`, remembered across the indexes that
        share it."""
        with self._lock:
            embedder, lock = self._models[key], self._model_locks[key]

        def embed(text: str) -> Any:
            memo_key = (key, text)
            with lock:
                with self._lock:
                    if memo_key in self._memo:
                        self._memo.move_to_end(memo_key)
                        return self._memo[memo_key]
                vector = embedder.embed_query(text)
                with self._lock:
                    self._memo[memo_key] = vector
                    while len(self._memo) > self._memo_size:
                        self._memo.popitem(last=False)
                return vector
        return embed
