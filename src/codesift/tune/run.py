"""`codesift tune` end to end: synthesise pairs from an indexed repository (or reuse those
of the run being resumed), set some aside, train, export, evaluate before and after, and
describe the model in its folder."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from codesift.errors import UsageError
from codesift.tune.export import export_bundle, write_info
from codesift.tune.heldout import score, split
from codesift.tune.records import Pair
from codesift.tune.synthesize import SynthesisParams, read_pairs, synthesize, write_pairs
from codesift.tune.train import TrainParams, check_base, last_checkpoint, train

PAIRS, HELDOUT = "pairs.jsonl", "heldout.jsonl"


@dataclass(frozen=True, slots=True)
class TuneOptions:
    out: Path
    train: TrainParams
    synthesis: SynthesisParams = SynthesisParams()
    llm_questions: int = 0  # definitions to ask an LLM about (0: none)
    quiet: bool = False


def tune_repository(index, opts: TuneOptions, say: Callable[[str], None] = lambda _m: None,
                    llm_client=None) -> dict:
    """Tune `opts.train.base` on `index`'s repository; returns the run's summary (also
    written to the model folder as codesift-tune.json)."""
    check_base(opts.train.base)  # an unknown or broken base fails before any work
    opts.out.mkdir(parents=True, exist_ok=True)
    pairs, held, synthesis = _pairs(index, opts, say, llm_client)
    say(f"training on {len(pairs)} pairs ({len(held)} held out)")
    result = train(pairs, opts.out, opts.train, quiet=opts.quiet)
    say("exporting to ONNX")
    export = export_bundle(result.model_dir)
    say("evaluating on the held-out pairs")
    evaluation = _evaluate(held, opts.train.base, result.model_dir)
    info = {"name": f"codesift tuned encoder for {index.root.name}",
            "base": opts.train.base, "source": str(index.root), "commit": _head(index.root),
            "path": str(result.model_dir), "pairs_by_kind": dict(Counter(p.kind for p in pairs)),
            "synthesis": synthesis, "evaluation": evaluation, "export": export,
            "training": {**asdict(opts.train), "steps": result.steps,
                         "total_steps": result.total_steps, "pairs_seen": result.pairs_seen,
                         "seconds": round(result.seconds, 1),
                         "pairs_per_second": round(result.pairs_per_second, 2),
                         "stopped_early": result.stopped_early,
                         "resumed_from": result.resumed_from, "device": result.device,
                         "bf16": result.bf16}}
    return write_info(result.model_dir, info)


def _pairs(index, opts: TuneOptions, say, llm_client) -> tuple[list[Pair], list[Pair], dict]:
    """The run's pairs: those written by the run being resumed, else freshly made."""
    train_file, held_file = opts.out / PAIRS, opts.out / HELDOUT
    if last_checkpoint(opts.out) and train_file.exists() and held_file.exists():
        say("resuming: the pairs of the interrupted run")
        return read_pairs(train_file), read_pairs(held_file), {"resumed": True}
    started = time.perf_counter()
    extra = _llm_pairs(index, opts, say, llm_client)
    made = synthesize(index, opts.synthesis, extra=extra, progress=say)
    if len(made.pairs) < 2:
        raise UsageError(f"found {len(made.pairs)} training pairs in {index.root}",
                         hint="tune needs documented, tested or cross-referenced code, or "
                              "commit history")
    pairs, held = split(list(made.pairs), seed=opts.synthesis.seed)
    write_pairs(held, held_file)
    write_pairs(pairs, train_file)
    seconds = time.perf_counter() - started
    say(f"{len(made.pairs)} pairs in {seconds:.1f} s")
    return pairs, held, {"found_by_kind": made.found, **made.stats,
                         "pairs_per_second": round(len(made.pairs) / max(seconds, 1e-9), 1)}


def _llm_pairs(index, opts: TuneOptions, say, client) -> list[Pair]:
    if not opts.llm_questions or client is None:
        return []
    from codesift.tune.corpus import read_definitions
    from codesift.tune.llm_queries import llm_pairs

    say(f"asking the LLM about up to {opts.llm_questions} undocumented definitions")
    defs = read_definitions(index.store().db)
    return llm_pairs(defs, client, max_definitions=opts.llm_questions,
                     cache_path=opts.out / "llm-questions.db")


def _evaluate(held: list[Pair], base: str, tuned: Path) -> dict:
    from codesift.embed.local import LocalEmbedder

    if not held:
        return {"pairs": 0}
    return {"pairs": len(held), "before": score(held, LocalEmbedder(base, backend="onnx")),
            "after": score(held, LocalEmbedder(str(tuned), backend="onnx"))}


def _head(root: Path) -> str:
    import subprocess

    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""
