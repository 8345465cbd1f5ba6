"""Fine-tuning the bi-encoder on synthesised pairs: sentence-transformers' trainer with
Multiple Negatives Ranking Loss (every other positive in the batch, plus each pair's hard
negative, is a negative), a fixed seed, bf16 autocast where the CPU has native bf16
(weights stay fp32), a clean stop at a time budget that still saves a usable model, and
resumption from the last checkpoint. Needs the `tune` extra (torch, datasets, accelerate)."""

from __future__ import annotations

import os
import random
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codesift.errors import EmbedderError, UsageError
from codesift.tune.records import Pair

CHECKPOINTS = "checkpoints"


@dataclass(frozen=True, slots=True)
class TrainParams:
    base: str = "all-MiniLM-L6-v2"  # a model name the local embedder resolves, or a folder
    minutes: float | None = None  # stop (and save) after this long
    steps: int | None = None  # or after this many optimizer steps
    epochs: float = 1.0
    batch_size: int = 32
    learning_rate: float = 2e-5
    warmup_ratio: float = 0.1  # of the steps (transformers 5 takes a float as a ratio)
    max_seq_length: int = 256
    seed: int = 0
    save_every_s: float = 300.0  # a checkpoint at least this often, so a killed run resumes
    cached: bool = False  # GradCache (CachedMNRL): large batches in bounded memory
    # False: (query, positive) rows only, the batch's other positives the negatives. A third
    # text per row costs half again the time, and a mined negative can be a false one.
    hard_negatives: bool = True


@dataclass(frozen=True, slots=True)
class TrainResult:
    model_dir: Path
    steps: int
    total_steps: int
    pairs_seen: int
    seconds: float
    stopped_early: bool  # the time budget ended the run before its last step
    resumed_from: str | None
    device: str
    bf16: bool

    @property
    def pairs_per_second(self) -> float:
        return self.pairs_seen / self.seconds if self.seconds else 0.0


def load_base(base: str, max_seq_length: int, attention: str = "eager") -> Any:
    """The base model as a SentenceTransformer, offline; a clear error when it is unknown."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from codesift.embed.local import resolve_model_dir
    from codesift.embed.onnx import quiet_transformers

    folder = resolve_model_dir(base)  # a `codesift tune` output stands for its model
    from sentence_transformers import SentenceTransformer  # train() checked the extras

    quiet_transformers()
    try:
        model = SentenceTransformer(str(folder), model_kwargs={"attn_implementation": attention})
    except Exception as exc:  # a folder with broken or missing weights
        raise EmbedderError(f"cannot load the base model in {folder}: {str(exc)[:200]}",
                            hint="point --base at a complete sentence-transformers folder") from exc
    model.max_seq_length = min(max_seq_length, model.max_seq_length or max_seq_length)
    return model


def _check_extras() -> None:
    import importlib.util

    missing = [m for m in ("torch", "sentence_transformers", "datasets", "accelerate")
               if importlib.util.find_spec(m) is None]
    if missing:
        raise UsageError(f"tuning needs {', '.join(missing)}",
                         hint='pip install "codesift[local,tune]"')


def check_base(base: str) -> Path:
    """The base model's folder, checked cheaply before any work: it resolves offline, its
    JSON files parse and it has weights. Loading it fully is train()'s business."""
    import json

    from codesift.embed.local import resolve_model_dir

    folder = resolve_model_dir(base)
    try:
        for name in ("modules.json", "config.json"):
            if (folder / name).is_file():
                json.loads((folder / name).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EmbedderError(f"cannot load the base model in {folder}: {exc}",
                            hint="point --base at a complete sentence-transformers folder") from exc
    if not any(folder.rglob("*.safetensors")) and not any(folder.rglob("*.bin")):
        raise EmbedderError(f"cannot load the base model in {folder}: no weights",
                            hint="point --base at a complete sentence-transformers folder")
    return folder


def to_dataset(pairs: Sequence[Pair], seed: int, hard_negatives: bool = True) -> Any:
    """anchor / positive / negative columns. A pair without a hard negative gets a random
    other pair's positive (an easy one): the trainer needs every row to have the column.
    Without `hard_negatives`, anchor / positive only."""
    from datasets import Dataset

    columns = {"anchor": [p.query for p in pairs], "positive": [p.positive for p in pairs]}
    if not hard_negatives:
        return Dataset.from_dict(columns)
    rng = random.Random(seed)
    negatives = []
    for i, p in enumerate(pairs):
        if p.negatives:
            negatives.append(p.negatives[0])
            continue
        j = rng.randrange(len(pairs))
        other = pairs[j if j != i else (j + 1) % len(pairs)]
        negatives.append(other.positive)
    return Dataset.from_dict({**columns, "negative": negatives})


def _time_budget(seconds: float | None, save_every_s: float) -> Any:
    from transformers import TrainerCallback

    class TimeBudget(TrainerCallback):
        """Stops at the budget (saving first) and checkpoints every `save_every_s`."""

        def __init__(self) -> None:
            self.start = self.saved = time.monotonic()
            self.stopped = False

        interrupted = False  # set by Ctrl-C: stop after this step, saving first

        def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001 - HF's hook
            now = time.monotonic()
            over = seconds is not None and now - self.start >= seconds
            if (over or self.interrupted) and state.global_step < state.max_steps:
                control.should_training_stop = self.stopped = True
                control.should_save = True
            if now - self.saved >= save_every_s:
                control.should_save = True
            if control.should_save:
                self.saved = now
            return control

    return TimeBudget()


def _trainer_class(cpu_bf16: bool) -> Any:
    from sentence_transformers import SentenceTransformerTrainer

    class Trainer(SentenceTransformerTrainer):
        """The trainer, with the loss run under CPU bf16 autocast: transformers' own `bf16`
        flag does not autocast on a CPU (the loss ran in fp32 at 1.4 pairs/s; under
        autocast 3.9 here). Weights and optimizer state stay fp32."""

        def compute_loss(self, *args, **kwargs):  # noqa: ANN002, ANN003 - HF's signature
            import torch

            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cpu_bf16):
                return super().compute_loss(*args, **kwargs)

    return Trainer


def last_checkpoint(out: Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    folder = out / CHECKPOINTS
    return get_last_checkpoint(str(folder)) if folder.is_dir() else None


def train(pairs: Sequence[Pair], out: Path, params: TrainParams, *, resume: bool = True,
          quiet: bool = False) -> TrainResult:
    """Fine-tune `params.base` on `pairs`; the model lands in out/model (swapped in whole)."""
    if len(pairs) < 2:
        raise UsageError(f"{len(pairs)} training pairs: too few to train on",
                         hint="tune needs a repository with documented or tested code, or history")
    _check_extras()
    import torch
    from sentence_transformers import SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer import losses
    from sentence_transformers.sentence_transformer.training_args import BatchSamplers

    from codesift.embed.local import cpu_has_fast_bf16

    torch.manual_seed(params.seed)
    model = load_base(params.base, params.max_seq_length)
    cuda = torch.cuda.is_available()
    cuda_bf16 = cuda and torch.cuda.is_bf16_supported()
    cpu_bf16 = not cuda and cpu_has_fast_bf16()
    batch = max(2, min(params.batch_size, len(pairs)))
    loss = losses.CachedMultipleNegativesRankingLoss(model, mini_batch_size=min(batch, 32)) \
        if params.cached else losses.MultipleNegativesRankingLoss(model)
    budget = _time_budget(params.minutes * 60 if params.minutes else None, params.save_every_s)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(out / CHECKPOINTS), per_device_train_batch_size=batch,
        num_train_epochs=params.epochs, max_steps=params.steps or -1,
        learning_rate=params.learning_rate, warmup_steps=params.warmup_ratio, use_cpu=not cuda,
        seed=params.seed, data_seed=params.seed, bf16=cuda_bf16,
        batch_sampler=BatchSamplers.NO_DUPLICATES,  # a repeated text is a false negative
        save_strategy="no", save_total_limit=1, logging_steps=50, report_to="none",
        disable_tqdm=quiet, dataloader_drop_last=len(pairs) > batch)
    trainer = _trainer_class(cpu_bf16)(model=model, args=args, loss=loss,
                                    train_dataset=to_dataset(pairs, params.seed, params.hard_negatives),
                                    callbacks=[budget])
    if quiet:  # its log lines would go to stdout, which carries --json
        from transformers.trainer_callback import PrinterCallback

        trainer.remove_callback(PrinterCallback)
    checkpoint = last_checkpoint(out) if resume else None
    started = time.perf_counter()
    with _stop_on_interrupt(budget):
        trainer.train(resume_from_checkpoint=checkpoint)
    seconds = time.perf_counter() - started
    state = trainer.state
    model_dir = save_model(model, out)
    if not budget.stopped:
        shutil.rmtree(out / CHECKPOINTS, ignore_errors=True)  # done: nothing to resume
    done_before = _step_of(checkpoint)
    return TrainResult(model_dir, state.global_step, state.max_steps,
                       (state.global_step - done_before) * batch, seconds, budget.stopped,
                       checkpoint, "cuda" if cuda else "cpu", cuda_bf16 or cpu_bf16)


@contextmanager
def _stop_on_interrupt(budget: Any) -> Iterator[None]:
    """The first Ctrl-C ends training cleanly after the current step (checkpoint and a
    usable model saved); a second one interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(_sig, _frame):  # noqa: ANN001
        if budget.interrupted:
            raise KeyboardInterrupt
        budget.interrupted = True
        print("stopping after this step (Ctrl-C again to abort)", file=sys.stderr, flush=True)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _step_of(checkpoint: str | None) -> int:
    return int(checkpoint.rsplit("-", 1)[-1]) if checkpoint else 0


def save_model(model: Any, out: Path) -> Path:
    """Write the model to out/model.new, then swap it for out/model: a run stopped while
    saving leaves the previous model whole."""
    fresh, final, old = out / "model.new", out / "model", out / "model.old"
    shutil.rmtree(fresh, ignore_errors=True)
    model.save(str(fresh), safe_serialization=True)
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    fresh.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return final
