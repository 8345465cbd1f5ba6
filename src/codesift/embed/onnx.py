"""Run a sentence-transformers model through ONNX Runtime, without importing torch.

`export_onnx` (needs torch, once per model) writes model.onnx + tokenizer.json + meta.json
into a per-user cache; `OnnxEncoder` then tokenizes with `tokenizers`, runs the
transformer in onnxruntime and pools and normalises in numpy, as sentence-transformers does.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from codesift.embed.base import Progress, encode_sorted, normalize_rows
from codesift.errors import EmbedderError

EXPORT_VERSION = 1  # bump when the exported graph or meta.json changes shape
_POOLINGS = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls", "pooling_mode_max_tokens": "max"}
_ST_SIMPLE_MODULES = ("Transformer", "Pooling", "Normalize")


def cache_root() -> Path:
    """$CODESIFT_CACHE_DIR, else $XDG_CACHE_HOME/codesift, else ~/.cache/codesift."""
    if os.environ.get("CODESIFT_CACHE_DIR"):
        return Path(os.environ["CODESIFT_CACHE_DIR"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "codesift"


def export_dir_for(model_dir: Path, root: Path | None = None) -> Path:
    """A folder keyed by the model folder and its files (size, mtime), so a changed model
    gets a fresh export instead of a stale one."""
    stats = []
    for path in sorted(model_dir.rglob("*")):
        if path.suffix in (".safetensors", ".bin", ".json") and path.is_file():
            st = path.stat()
            stats.append((str(path.relative_to(model_dir)), st.st_size, int(st.st_mtime)))
    blob = json.dumps([EXPORT_VERSION, str(model_dir), stats]).encode()
    key = hashlib.sha256(blob).hexdigest()[:16]
    return (root or cache_root()) / "onnx" / key


def bundled_export(model_dir: Path) -> Path | None:
    """model_dir/onnx when it holds an export of this version with its int8 query model
    (what `codesift tune` writes; a shipped model has no fp32 `model.onnx`, which is made in
    the cache when documents are first embedded), so queries export or quantize nothing."""
    folder = model_dir / "onnx"
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    complete = all((folder / f).is_file() for f in ("tokenizer.json", INT8_QUERY_FILE))
    return folder if complete and meta.get("export_version") == EXPORT_VERSION else None


def read_st_layout(model_dir: Path) -> dict[str, Any] | None:
    """What the ONNX path needs to mimic sentence-transformers: the transformer subfolder,
    pooling mode, max length and lower-casing. None when the model has modules
    (Dense, prompts-only pipelines, ...) that this path does not reproduce."""
    modules_file = model_dir / "modules.json"
    transformer_path, pooling = "", "mean"
    if modules_file.exists():
        modules = json.loads(modules_file.read_text())
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        if any(k not in _ST_SIMPLE_MODULES for k in kinds) or "Transformer" not in kinds:
            return None
        for m in modules:
            kind = m["type"].rsplit(".", 1)[-1]
            if kind == "Transformer":
                transformer_path = m.get("path", "")
            elif kind == "Pooling":
                cfg = json.loads((model_dir / m["path"] / "config.json").read_text())
                # sentence-transformers 6 writes {"pooling_mode": "mean"}; older ones a flag each.
                modes = [name for key, name in _POOLINGS.items() if cfg.get(key)] or \
                    [mode for mode in [cfg.get("pooling_mode")] if mode in _POOLINGS.values()]
                others = [k for k, v in cfg.items() if k.startswith("pooling_mode_") and v
                          and k not in _POOLINGS]
                if len(modes) != 1 or others:
                    return None
                pooling = modes[0]
    st_cfg_file = model_dir / transformer_path / "sentence_bert_config.json"
    st_cfg = json.loads(st_cfg_file.read_text()) if st_cfg_file.exists() else {}
    return {
        "transformer_path": transformer_path,
        "pooling": pooling,
        "max_seq_length": st_cfg.get("max_seq_length") or _tokenizer_window(model_dir / transformer_path),
        "do_lower_case": bool(st_cfg.get("do_lower_case", False)),
    }


def _tokenizer_window(folder: Path) -> int | None:
    """sentence-transformers 6 keeps the window as the tokenizer's model_max_length."""
    try:
        value = json.loads((folder / "tokenizer_config.json").read_text()).get("model_max_length")
    except (OSError, ValueError):
        return None
    return int(value) if isinstance(value, int) and value < 100_000 else None


def quiet_transformers() -> None:
    """No "Loading weights" progress bars: stderr belongs to the CLI's own messages."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def export_onnx(model_dir: Path, dest: Path, layout: dict[str, Any]) -> Path:
    """Export the transformer to dest/model.onnx (written last: its presence marks a
    complete export) with the fast tokenizer and meta.json beside it. Needs torch."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import torch
        from transformers import AutoModel, AutoTokenizer
    except ImportError as exc:
        raise EmbedderError(
            "exporting the embedding model to ONNX needs torch and transformers",
            hint='install them with: pip install "codesift[local]"',
        ) from exc
    quiet_transformers()
    src = model_dir / layout["transformer_path"]
    tokenizer = AutoTokenizer.from_pretrained(str(src), use_fast=True, local_files_only=True)
    if not getattr(tokenizer, "is_fast", False):
        raise EmbedderError(f"the model in {model_dir} has no fast tokenizer", hint="use backend='torch'")
    # Eager attention traces to plain MatMul/Softmax with the mask always applied.
    model = AutoModel.from_pretrained(str(src), local_files_only=True, attn_implementation="eager").eval()
    max_len = layout["max_seq_length"] or min(
        int(tokenizer.model_max_length) if tokenizer.model_max_length < 100_000 else 512,
        int(getattr(model.config, "max_position_embeddings", 512)),
    )
    names = list(tokenizer.model_input_names)

    class _Wrapper(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            return self.inner(**dict(zip(names, tensors, strict=True))).last_hidden_state

    # A padded example batch, so the traced graph keeps the attention-mask path.
    sample = tokenizer(["def f(x):\n    return x + 1", "a"], padding=True, return_tensors="pt")
    axes = {n: {0: "batch", 1: "seq"} for n in [*names, "last_hidden_state"]}
    dest.mkdir(parents=True, exist_ok=True)
    fd, tmp_model = tempfile.mkstemp(dir=dest, prefix=".model.", suffix=".onnx.tmp")
    os.close(fd)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer chatter; numerics are checked by tests
            torch.onnx.export(
                _Wrapper(model), tuple(sample[n] for n in names), tmp_model,
                input_names=names, output_names=["last_hidden_state"], dynamic_axes=axes,
                opset_version=17, dynamo=False,
            )  # fmt: skip
        meta = {
            "export_version": EXPORT_VERSION,
            "input_names": names,
            "max_seq_length": int(max_len),
            "pooling": layout["pooling"],
            "do_lower_case": layout["do_lower_case"],
            "pad_id": int(tokenizer.pad_token_id or 0),
            "dim": int(model.config.hidden_size),
            "source": str(model_dir),
        }
        _write_atomic(dest / "tokenizer.json", tokenizer.backend_tokenizer.to_str().encode())
        _write_atomic(dest / "meta.json", json.dumps(meta, indent=1).encode())
        for derived in (INT8_FILE, INT8_QUERY_FILE):  # quantized from the model replaced here
            (dest / derived).unlink(missing_ok=True)
        os.replace(tmp_model, dest / "model.onnx")
    finally:
        Path(tmp_model).unlink(missing_ok=True)
    return dest / "model.onnx"


INT8_FILE = "model-int8.onnx"  # per-tensor weights: the `local-int8` embedder's own vectors
INT8_QUERY_FILE = "model-int8-pc.onnx"  # per-channel weights: queries against fp32 documents


def quantize_int8(export_dir: Path, *, per_channel: bool = False) -> Path:
    """Dynamic int8 quantization of the exported model (weights int8, activations
    quantized per batch at run time), written atomically beside it.

    Per-tensor scales (`local-int8`): ~2x the fp32 documents per second, vectors at
    cosine ~0.94 to fp32. Per-channel scales (one per output column): the same speed on a
    single query, 2x faster than fp32 there, at cosine ~0.99 to fp32, close enough to
    search fp32 document vectors with (docs/benchmarks.md measures both)."""
    name = INT8_QUERY_FILE if per_channel else INT8_FILE
    dest = export_dir / name
    if not dest.is_file():
        import logging

        from onnxruntime.quantization import QuantType, quantize_dynamic  # ~1 s of imports
        tmp = export_dir / f".{name}.{os.getpid()}.tmp"
        root = logging.getLogger()
        level = root.level  # it warns on the root logger about optional pre-processing
        try:
            root.setLevel(logging.ERROR)
            quantize_dynamic(str(export_dir / "model.onnx"), str(tmp), weight_type=QuantType.QInt8,
                             per_channel=per_channel)
            os.replace(tmp, dest)
        finally:
            root.setLevel(level)
            tmp.unlink(missing_ok=True)
    return dest


class OnnxEncoder:
    """Tokenize → ONNX transformer → pool → normalise; matches sentence-transformers fp32."""

    def __init__(self, export_dir: Path, threads: int = 1, model_file: str = "model.onnx") -> None:
        import onnxruntime as ort

        self._load_tokenizer(export_dir)
        # `threads` batches run side by side on this session, one core each
        # (embed.base.encode_sorted); a single query runs on one core too.
        self.workers = max(1, threads)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Spinning workers burn the other core while the indexer is parsing there.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(export_dir / model_file), opts, providers=["CPUExecutionProvider"])

    def _load_tokenizer(self, export_dir: Path) -> None:
        from tokenizers import Tokenizer

        self.meta = json.loads((export_dir / "meta.json").read_text())
        self.tokenizer = Tokenizer.from_file(str(export_dir / "tokenizer.json"))
        # The packaged tokenizer.json pads to a fixed 128 and truncates at 128: reset both.
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.meta["max_seq_length"])
        self.dim = int(self.meta["dim"])

    def encode(self, texts: Sequence[str], batch_size: int = 32, progress: Progress | None = None,
               max_tokens: int | None = None) -> Any:
        encodings = self.tokenize(texts, max_tokens)
        # Sorted by token count, not characters: ~15% fewer padded tokens on click.
        return encode_sorted(encodings, self.dim, batch_size, self.workers, self._run, progress,
                             lengths=[len(e.ids) for e in encodings])

    def tokenize(self, texts: Sequence[str], max_tokens: int | None = None) -> list[Any]:
        """Token encodings cut at the window (or `max_tokens` if shorter)."""
        self._set_window(max_tokens)
        if self.meta["do_lower_case"]:
            texts = [t.lower() for t in texts]
        return [self.tokenizer.encode(t) for t in texts]

    def encode_one(self, text: str, max_tokens: int | None = None) -> Any:
        """One text (a query): the vector `encode([text])[0]` gives, from the same token ids.

        `Tokenizer.encode` tokenizes on this thread; `encode_batch` wakes the tokenizers'
        rayon pool, whose threads then spin on the other core while the lexical retrievers
        run there beside the query embedding (~2 ms a query on 2 cores, docs/benchmarks.md)."""
        self._set_window(max_tokens)
        if self.meta["do_lower_case"]:
            text = text.lower()
        return self._run([self.tokenizer.encode(text)])[0]

    def _set_window(self, max_tokens: int | None) -> None:
        window = self.meta["max_seq_length"]
        self.tokenizer.enable_truncation(min(window, max_tokens) if max_tokens else window)

    def _run(self, encodings: list[Any]) -> Any:
        import numpy as np

        width = max(len(e.ids) for e in encodings)
        shape = (len(encodings), width)
        ids = np.full(shape, self.meta["pad_id"], dtype=np.int64)
        mask = np.zeros(shape, dtype=np.int64)
        types = np.zeros(shape, dtype=np.int64)
        for row, enc in enumerate(encodings):
            n = len(enc.ids)
            ids[row, :n], mask[row, :n], types[row, :n] = enc.ids, 1, enc.type_ids
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        hidden = self._forward({n: feeds[n] for n in self.meta["input_names"]})
        return normalize_rows(_pool(hidden, mask, self.meta["pooling"]))

    def _forward(self, feeds: dict[str, Any]) -> Any:
        """The transformer's last hidden state, float32, (batch, tokens, dim)."""
        return self.session.run(None, feeds)[0]


def _pool(hidden: Any, mask: Any, mode: str) -> Any:
    import numpy as np

    m = mask[..., None].astype(np.float32)
    if mode == "cls":
        return hidden[:, 0]
    if mode == "max":
        return np.where(m > 0, hidden, -1e9).max(axis=1)
    return (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
