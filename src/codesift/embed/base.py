"""The Embedder protocol and the factory that picks an implementation from a spec string.

Specs: "local", "local:<model name or folder>", "openai:<model>". Nothing heavy is imported here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

from codesift.errors import EmbedderError

if TYPE_CHECKING:
    import numpy as np

Progress = Callable[[int], None]
T = TypeVar("T")

DEFAULT_LOCAL_MODEL = "all-MiniLM-L6-v2"


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors.

    `id` is stored in the index: two embedders with the same id produce interchangeable
    vectors, so the indexer compares ids (see `embedder_id_for`) to detect a model change.
    """

    id: str
    dim: int

    def embed_documents(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Return shape (len(texts), dim), float32, unit rows, in input order.
        `progress`, if given, is called after each batch with the cumulative count done."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """Return shape (dim,), float32, unit norm."""
        ...


def encode_sorted(items: Sequence[T], dim: int, batch_size: int, workers: int,
                  run: Callable[[list[T]], np.ndarray], progress: Progress | None = None,
                  *, lengths: Sequence[int] | None = None, token_budget: int | None = None
                  ) -> np.ndarray:
    """Embed `items` (texts, or their token encodings) in batches of similar length (less
    padding), `workers` batches at a time, each on its own thread with one core: a small
    model's matrices are too small for two cores to share one batch well (torch bf16: 1.2x
    the chunks per second of one batch on 2 threads on this machine, ONNX Runtime fp32:
    the same, bench/bench_embed.py). The backends release the GIL while they compute.

    `lengths` sorts (default: len of each item); a batch holds at most `batch_size` items
    and, with `token_budget`, at most that many tokens in all. Rows come back in input order."""
    import numpy as np

    sizes = [len(t) for t in items] if lengths is None else list(lengths)
    batches = plan_batches(sizes, batch_size, token_budget, workers)
    out = np.empty((len(items), dim), dtype=np.float32)

    def one(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return rows, run([items[i] for i in rows])

    if workers <= 1 or len(batches) == 1:
        return _collect(map(one, batches), out, progress)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="codesift-embed") as pool:
        return _collect(pool.map(one, batches), out, progress)


def plan_batches(lengths: Sequence[int], batch_size: int, token_budget: int | None,
                 workers: int) -> list[np.ndarray]:
    """Row numbers cut into batches in order of length, so neighbours pad little. Small
    inputs are cut so that every worker gets a batch."""
    import numpy as np

    order = np.argsort(np.asarray(lengths, dtype=np.int64), kind="stable")
    spread = max(workers, 1)
    size = max(1, min(batch_size, -(-len(order) // spread)))
    if token_budget is None:
        return [order[start:start + size] for start in range(0, len(order), size)]
    budget = max(1, min(token_budget, -(-int(sum(lengths)) // spread)))
    batches, start, used = [], 0, 0
    for pos, row in enumerate(order):
        n = int(lengths[row])
        if pos > start and (used + n > budget or pos - start >= size):
            batches.append(order[start:pos])
            start, used = pos, 0
        used += n
    if start < len(order):
        batches.append(order[start:])
    return batches


def _collect(results: Iterator[tuple[np.ndarray, np.ndarray]], out: np.ndarray,
             progress: Progress | None) -> np.ndarray:
    done = 0
    for rows, vectors in results:
        out[rows] = vectors
        done += len(rows)
        if progress is not None:
            progress(done)
    return out


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    """L2-normalise rows in float32; zero rows stay zero instead of becoming NaN."""
    import numpy as np

    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def split_spec(spec: str) -> tuple[str, str]:
    """'local' -> ('local', ''), 'openai:text-embedding-3-small' -> ('openai', 'text-embedding-3-small')."""
    spec = (spec or "").strip()
    kind, _, rest = spec.partition(":")
    kind = kind.lower()
    if kind not in ("local", "local-int8", "openai"):
        raise EmbedderError(
            f"unknown embedder {spec!r}",
            hint='use "local", "local:<model name or folder>", "local-int8[:<model>]" '
                 'or "openai:<model>"',
        )
    if kind == "openai" and not rest:
        raise EmbedderError(
            f"embedder {spec!r} names no model",
            hint='write it as "openai:<model>", e.g. "openai:text-embedding-3-small"',
        )
    return kind, rest.strip()


def embedder_id_for(spec: str, **opts: object) -> str:
    """The id `make_embedder(spec, **opts).id` will have, computed without loading anything."""
    kind, rest = split_spec(spec)
    if kind in ("local", "local-int8"):
        from codesift.embed.local import local_model_id

        return local_model_id(rest or DEFAULT_LOCAL_MODEL) + ("#int8" if kind == "local-int8" else "")
    from codesift.embed.openai_compat import openai_model_id, resolve_base_url

    return openai_model_id(resolve_base_url(opts.get("base_url")), rest)  # type: ignore[arg-type]


def make_embedder(spec: str, **opts: object) -> Embedder:
    """Build the embedder a spec names; options go to its constructor (see LocalEmbedder,
    OpenAIEmbedder). Cheap: models load on first use."""
    kind, rest = split_spec(spec)
    if kind in ("local", "local-int8"):
        from codesift.embed.local import LocalEmbedder

        if kind == "local-int8":
            opts = {**opts, "precision": "int8"}
        return LocalEmbedder(rest or DEFAULT_LOCAL_MODEL, **opts)  # type: ignore[arg-type]
    from codesift.embed.openai_compat import OpenAIEmbedder

    return OpenAIEmbedder(rest, **opts)  # type: ignore[arg-type]
