"""Embedders: turn chunk texts and queries into unit vectors.

`make_embedder("local" | "local:<model>" | "openai:<model>")` builds one; `embedder_id_for`
gives its id without loading anything. Heavy libraries load on first use.
"""

from codesift.embed.base import (
    DEFAULT_LOCAL_MODEL,
    Embedder,
    embedder_id_for,
    make_embedder,
    normalize_rows,
)

__all__ = ["DEFAULT_LOCAL_MODEL", "Embedder", "embedder_id_for", "make_embedder", "normalize_rows"]
