"""What a tuned model folder holds beside its weights: the ONNX export (fp32, and int8
per-channel for queries) so a search keeps the fast path without torch, a fingerprint of
the weights (part of the embedder id: a folder trained again is another encoder), the
numbers of the run (`codesift-tune.json`) and a model card (README.md)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from codesift.errors import EmbedderError

TUNE_FILE = "codesift-tune.json"
ONNX_DIR = "onnx"
PARITY_TEXTS = ("def add(a, b):\n    return a + b", "how are retries configured",
                "func (s *Server) Handle(w http.ResponseWriter, r *http.Request) {}",
                "ValueError: invalid literal for int() with base 10")


def fingerprint(model_dir: Path) -> str:
    """sha256 of the weight files, first 12 hex digits."""
    digest = hashlib.sha256()
    weights = sorted(p for p in model_dir.rglob("*")
                     if p.suffix in (".safetensors", ".bin") and p.is_file()
                     and ONNX_DIR not in p.relative_to(model_dir).parts)
    if not weights:
        raise EmbedderError(f"no weights in {model_dir}", hint="train again: codesift tune")
    for path in weights:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:12]


def export_bundle(model_dir: Path) -> dict:
    """Export model_dir to model_dir/onnx (fp32 + per-channel int8) and measure how close
    the ONNX vectors are to the torch model's (min cosine over a few texts)."""
    from codesift.embed.onnx import (INT8_QUERY_FILE, OnnxEncoder, export_onnx, quantize_int8,
                                     read_st_layout)

    layout = read_st_layout(model_dir)
    if layout is None:
        raise EmbedderError(f"the model in {model_dir} has modules the ONNX path cannot run",
                            hint="tune from a Transformer + Pooling (+ Normalize) model")
    dest = model_dir / ONNX_DIR
    export_onnx(model_dir, dest, layout)
    quantize_int8(dest, per_channel=True)
    onnx_vecs = OnnxEncoder(dest).encode(list(PARITY_TEXTS))
    int8_vecs = OnnxEncoder(dest, model_file=INT8_QUERY_FILE).encode(list(PARITY_TEXTS))
    torch_vecs = _torch_vectors(model_dir, PARITY_TEXTS)
    return {"onnx_fp32_min_cosine": _min_cos(onnx_vecs, torch_vecs),
            "onnx_int8_min_cosine": _min_cos(int8_vecs, torch_vecs)}


def _torch_vectors(model_dir: Path, texts: Sequence[str]):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu")
    return model.encode(list(texts), normalize_embeddings=True, convert_to_numpy=True)


def _min_cos(a, b) -> float:
    import numpy as np

    return round(float(np.min(np.sum(a * b, axis=1))), 5)


def write_info(model_dir: Path, info: dict) -> dict:
    """codesift-tune.json (with the weights' fingerprint) and the model card; returns the
    info as written."""
    info = {**info, "fingerprint": fingerprint(model_dir)}
    (model_dir / "README.md").write_text(model_card(info), encoding="utf-8")
    (model_dir / TUNE_FILE).write_text(json.dumps(info, indent=1), encoding="utf-8")
    return info


def model_card(info: dict) -> str:
    counts = info.get("pairs_by_kind", {})
    rows = "\n".join(f"| {k} | {v} |" for k, v in sorted(counts.items()))
    ev = info.get("evaluation", {})
    before, after = ev.get("before", {}), ev.get("after", {})
    metrics = "\n".join(f"| {m} | {before.get(m, '-')} | {after.get(m, '-')} |"
                        for m in ("mrr@10", "recall@1", "recall@10"))
    t = info.get("training", {})
    return f"""# {info.get("name", "codesift tuned encoder")}

A sentence-transformers bi-encoder fine-tuned by `codesift tune` for code retrieval:
questions, change requests and errors -> the code that answers them.

- base model: `{info.get("base")}`
- source: `{info.get("source")}` at `{info.get("commit", "")}`
- weights fingerprint: `{info.get("fingerprint")}`
- use it: `codesift index --embedder local:{info.get("path", "<this folder>")} --rebuild`

## Training data ({sum(counts.values())} pairs, by kind)

| kind | pairs |
| --- | --- |
{rows}

Kinds: commit (a commit message -> a definition it changed, kept only when hybrid search
already ranks it in the top 20), doc (a doc's summary -> the code without its doc, names
masked in half), code2doc (the reverse), ident (a name in words + the doc's first sentence),
error (a raised message -> the raising code), section (a doc section -> a definition it
names), test (a test -> the function it exercises), call (caller -> callee), impl
(implementation -> its base), llm (questions an LLM wrote for undocumented code).

## Recipe

Multiple Negatives Ranking Loss, one hard negative per pair (lexical neighbours that are not
the answer: same-name definitions, near-duplicates and the positive's own file left out),
batch {t.get("batch_size")}, learning rate {t.get("learning_rate")}, warm-up
{t.get("warmup_ratio")}, seed {t.get("seed")}, max sequence length {t.get("max_seq_length")},
bf16 autocast: {t.get("bf16")}, device: {t.get("device")}.
{t.get("steps")} of {t.get("total_steps")} steps, {t.get("pairs_seen")} pairs in
{t.get("seconds")} s ({t.get("pairs_per_second")} pairs/s).

## Evaluation on held-out pairs ({ev.get("pairs", 0)} pairs never trained on)

| metric | before | after |
| --- | --- | --- |
{metrics}

ONNX export: fp32 min cosine to torch {info.get("export", {}).get("onnx_fp32_min_cosine")},
int8 (queries) {info.get("export", {}).get("onnx_int8_min_cosine")}.
"""
