"""Documents through the model's own torch weights, without sentence-transformers.

For the layouts the ONNX path reproduces (Transformer + Pooling + Normalize), the
export's tokenizer and pooling (OnnxEncoder) are put around `transformers.AutoModel`:
the same vectors as sentence-transformers, without importing it (its imports, among them
scikit-learn, cost ~1.6 s of every indexing run on this machine, docs/benchmarks.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codesift.embed.onnx import OnnxEncoder, quiet_transformers
from codesift.errors import EmbedderError


def one_core(torch: Any) -> Any:
    """torch on this (worker) thread with one intra-op thread: OpenMP settings are per
    thread, and each worker runs its own batch (embed.base.encode_sorted)."""
    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)
    return torch


class TransformersEncoder(OnnxEncoder):
    """Tokenize (export's tokenizer) → torch transformer, bf16 or fp32 → pool → normalise.
    `threads` batches run side by side, one core each (embed.base.encode_sorted)."""

    def __init__(self, export_dir: Path, model_dir: Path, threads: int = 1, bf16: bool = False) -> None:
        try:
            import torch
            from transformers import AutoModel
        except ImportError as exc:
            raise EmbedderError(
                "the torch backend needs torch and transformers",
                hint='install them with: pip install "codesift[local]", or use backend="onnx"',
            ) from exc
        quiet_transformers()
        self._load_tokenizer(export_dir)
        torch.set_num_threads(1)
        self.workers = max(1, threads)
        try:
            model = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()
        except Exception as exc:
            raise EmbedderError(f"cannot load the embedding model in {model_dir}: {exc}") from exc
        self.bf16 = bf16
        self.model = model.to(torch.bfloat16) if bf16 else model
        self._torch = torch

    def _forward(self, feeds: dict[str, Any]) -> Any:
        torch = one_core(self._torch)
        with torch.inference_mode():
            tensors = {name: torch.from_numpy(array) for name, array in feeds.items()}
            return self.model(**tensors).last_hidden_state.float().numpy()
