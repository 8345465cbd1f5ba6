"""BERT-family encoders run on packed tokens: no padding, no transformers import.

The default model (all-MiniLM-L6-v2) and most small sentence-embedding models are BERT
encoders. Here their weights are read straight from the safetensors file and the forward
pass is written out with torch.nn.functional, so that

- every linear layer multiplies the batch's real tokens only, all sequences stacked into
  one matrix (padding to the longest sequence of a batch cost ~20% of the tokens on
  click's chunks), padded to a multiple of ROW_STEP rows so that oneDNN builds few
  kernels (a new matrix shape costs ~15 ms to prepare on this machine);
- attention runs per sequence, on exactly its tokens;
- loading takes ~0.05 s instead of ~4 s to import transformers and build its model in a
  fresh process (docs/benchmarks.md).

Anything else (other architectures, relative positions, other activations) goes through
transformers (torch_direct.TransformersEncoder). Tests compare the vectors with
sentence-transformers'.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codesift.embed.base import Progress, encode_sorted
from codesift.embed.onnx import OnnxEncoder
from codesift.embed.torch_direct import one_core
from codesift.errors import EmbedderError

TOKEN_BUDGET = 4096  # tokens a batch holds (2048-8192 measured the same on click)
ROW_STEP = 512  # a batch's matrix has a multiple of this many rows: few distinct shapes
MAX_ITEMS = 512


def packed_bert_supported(model_dir: Path) -> bool:
    """A plain BERT encoder with its weights in model.safetensors."""
    try:
        cfg = json.loads((model_dir / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return (cfg.get("model_type") == "bert" and cfg.get("hidden_act") == "gelu"
            and cfg.get("position_embedding_type", "absolute") == "absolute"
            and (model_dir / "model.safetensors").is_file())


@dataclass(frozen=True, slots=True)
class _Layer:
    qkv: tuple[Any, Any]  # query, key and value weights in one matrix: one multiply
    out: tuple[Any, Any]
    norm1: tuple[Any, Any]
    up: tuple[Any, Any]
    down: tuple[Any, Any]
    norm2: tuple[Any, Any]


class PackedBert:
    """The BERT forward pass over packed sequences; returns the last hidden state rows."""

    def __init__(self, model_dir: Path, bf16: bool) -> None:
        import torch
        from safetensors.torch import load_file

        cfg = json.loads((model_dir / "config.json").read_text())
        try:
            weights = {k.removeprefix("bert."): v for k, v in load_file(model_dir / "model.safetensors").items()}
        except Exception as exc:
            raise EmbedderError(f"cannot load the embedding model in {model_dir}: {exc}") from exc
        self.dtype = torch.bfloat16 if bf16 else torch.float32
        self.hidden, self.heads = int(cfg["hidden_size"]), int(cfg["num_attention_heads"])
        self.eps = float(cfg.get("layer_norm_eps", 1e-12))

        def pair(prefix: str, dtype: Any = self.dtype) -> tuple[Any, Any]:
            return (weights[prefix + ".weight"].to(dtype).contiguous(),
                    weights[prefix + ".bias"].to(dtype).contiguous())

        # Embeddings and their norm stay float32: a table lookup costs nothing either way.
        self.words = weights["embeddings.word_embeddings.weight"].float()
        self.positions = weights["embeddings.position_embeddings.weight"].float()
        self.types = weights["embeddings.token_type_embeddings.weight"].float()
        self.norm = pair("embeddings.LayerNorm", torch.float32)
        self.layers = []
        for i in range(int(cfg["num_hidden_layers"])):
            p = f"encoder.layer.{i}."
            q, k, v = (pair(p + "attention.self." + n) for n in ("query", "key", "value"))
            self.layers.append(_Layer(
                qkv=(torch.cat([q[0], k[0], v[0]]), torch.cat([q[1], k[1], v[1]])),
                out=pair(p + "attention.output.dense"), norm1=pair(p + "attention.output.LayerNorm"),
                up=pair(p + "intermediate.dense"), down=pair(p + "output.dense"),
                norm2=pair(p + "output.LayerNorm")))
        self._torch = torch

    def forward(self, ids: Any, types: Any, positions: Any, lengths: Sequence[int]) -> Any:
        """ids, types, positions: 1-D, the sequences one after another. Returns
        (rows, hidden) float32 with rows = len(ids); rows past it are padding."""
        torch = self._torch
        F = torch.nn.functional
        n, width = ids.shape[0], self.hidden
        x = self.words[ids] + self.positions[positions] + self.types[types]
        x = F.layer_norm(x, (width,), *self.norm, self.eps).to(self.dtype)
        rows = -(-n // ROW_STEP) * ROW_STEP
        if rows > n:
            x = torch.cat([x, x.new_zeros(rows - n, width)])
        spans = []
        start = 0
        for length in lengths:
            spans.append((start, start + length))
            start += length
        heads, size = self.heads, width // self.heads
        for layer in self.layers:
            # One copy per layer into (3, heads, rows, size): each sequence's q, k and v are
            # then views with contiguous rows, which SDPA's fused kernel takes as they are
            # (copying them per sequence made 7,605 copy calls for 400 of click's chunks;
            # ~4% of the forward pass saved, docs/benchmarks.md).
            qkv = F.linear(x, *layer.qkv).view(rows, 3, heads, size).permute(1, 2, 0, 3).contiguous()
            context = x.new_zeros(heads, rows, size)
            for a, b in spans:
                q, k, v = qkv[:, None, :, a:b]
                context[:, a:b] = F.scaled_dot_product_attention(q, k, v)[0]
            context = context.permute(1, 0, 2).reshape(rows, width)
            x = F.layer_norm(F.linear(context, *layer.out) + x, (width,), *layer.norm1, self.eps)
            x = F.layer_norm(F.linear(F.gelu(F.linear(x, *layer.up)), *layer.down) + x,
                             (width,), *layer.norm2, self.eps)
        return x[:n].float()


class PackedBertEncoder(OnnxEncoder):
    """Tokenize (the export's tokenizer) → PackedBert → pool → normalise. Batches are cut
    by tokens (TOKEN_BUDGET); `threads` of them run side by side, one core each."""

    def __init__(self, export_dir: Path, model_dir: Path, threads: int = 1, bf16: bool = False) -> None:
        try:
            import torch
        except ImportError as exc:
            raise EmbedderError("the torch backend needs torch",
                                hint='install it with: pip install "codesift[local]", or use backend="onnx"') from exc
        self._load_tokenizer(export_dir)
        torch.set_num_threads(1)
        self.workers = max(1, threads)
        self.bf16 = bf16
        self.model = PackedBert(model_dir, bf16)
        self._torch = torch

    def encode(self, texts: Sequence[str], batch_size: int = 32, progress: Progress | None = None,
               max_tokens: int | None = None) -> Any:
        encodings = self.tokenize(texts, max_tokens)
        return encode_sorted(encodings, self.dim, MAX_ITEMS, self.workers, self._run, progress,
                             lengths=[len(e.ids) for e in encodings], token_budget=TOKEN_BUDGET)

    def _run(self, encodings: list[Any]) -> Any:
        import numpy as np

        torch = one_core(self._torch)
        lengths = [len(e.ids) for e in encodings]
        ids = torch.from_numpy(np.concatenate([e.ids for e in encodings]).astype(np.int64))
        types = torch.from_numpy(np.concatenate([e.type_ids for e in encodings]).astype(np.int64))
        positions = torch.from_numpy(np.concatenate([np.arange(n) for n in lengths]))
        with torch.inference_mode():
            hidden = self.model.forward(ids, types, positions, lengths)
            pooled = _pool_packed(torch, hidden, lengths, self.meta["pooling"])
            return torch.nn.functional.normalize(pooled, dim=-1).numpy()


def _pool_packed(torch: Any, hidden: Any, lengths: Sequence[int], mode: str) -> Any:
    """One row per sequence from its tokens' rows: mean, first (CLS) or max."""
    counts = torch.tensor(lengths)
    starts = torch.cumsum(counts, 0) - counts
    if mode == "cls":
        return hidden[starts]
    seq = torch.repeat_interleave(torch.arange(len(lengths)), counts)
    out = hidden.new_zeros(len(lengths), hidden.shape[1])
    if mode == "max":
        return out.scatter_reduce_(0, seq[:, None].expand_as(hidden), hidden, "amax", include_self=False)
    return out.index_add_(0, seq, hidden) / counts[:, None].to(hidden.dtype)
