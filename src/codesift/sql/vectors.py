"""Embeddings of schema and example texts, cached in the codesift home by text and model:
a catalog's 5,000 table and column texts are embedded once, not on every question."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class VectorCache:
    """`embed(texts)` -> unit vectors, from `folder/<model>.npz` where known; the missing
    ones are computed with `embedder.embed_documents` and the file rewritten atomically."""

    def __init__(self, folder: Path, embedder) -> None:
        self.embedder = embedder
        model = hashlib.sha1(embedder.id.encode("utf-8")).hexdigest()[:16]
        self.path = Path(folder) / f"{model}.npz"
        self._known: dict[str, np.ndarray] | None = None

    def _load(self) -> dict[str, np.ndarray]:
        if self._known is None:
            self._known = {}
            if self.path.exists():
                try:
                    with np.load(self.path) as data:
                        self._known = dict(zip(data["keys"].tolist(), data["vectors"]))
                except (OSError, ValueError, KeyError):  # a damaged cache is rebuilt
                    self._known = {}
        return self._known

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        known = self._load()
        keys = [_key(t) for t in texts]
        if len(texts) == 1 and keys[0] not in known:
            # A question: the embedder's query path (ONNX, no torch), and not kept, so a
            # long-running server does not grow with every question it is asked.
            return np.asarray(self.embedder.embed_query(texts[0]), dtype=np.float32)[None, :]
        missing = list(dict.fromkeys(t for t, k in zip(texts, keys) if k not in known))
        if missing:
            fresh = np.asarray(self.embedder.embed_documents(missing), dtype=np.float32)
            known.update(zip((_key(t) for t in missing), fresh))
            self._save()
        if not texts:
            return np.zeros((0, getattr(self.embedder, "dim", 0)), dtype=np.float32)
        return np.stack([known[k] for k in keys])

    def _save(self) -> None:
        known = self._load()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp.npz")
        np.savez(tmp, keys=np.array(list(known)), vectors=np.stack(list(known.values())))
        os.replace(tmp, self.path)
