"""`codesift tune`: fine-tune the embedding model on pairs synthesised from a repository."""

from __future__ import annotations

from pathlib import Path

import click

from .common import emit_json, friendly_errors, index_dir_option


@click.command("tune")
@click.argument("path", type=click.Path(), default=".")
@index_dir_option
@click.option("--base", default="all-MiniLM-L6-v2", show_default=True, metavar="MODEL",
              help="Model to start from: a name the local embedder knows, or a folder "
                   "(a shipped or earlier tuned model).")
@click.option("--minutes", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Stop after this long (the model is saved, and a later run resumes).")
@click.option("--steps", type=click.IntRange(1), default=None,
              help="Stop after this many optimizer steps (default: one pass over the pairs).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Output folder (default: tuned/ in the index folder). Index with the "
                   "model: codesift index --embedder local:OUT --rebuild.")
@click.option("--max-pairs", type=click.IntRange(2), default=20_000, show_default=True,
              help="At most this many training pairs.")
@click.option("--no-history", is_flag=True, help="Do not mine commit messages.")
@click.option("--llm-questions", type=click.IntRange(0), default=0, show_default=True,
              help="Ask the configured LLM for questions about up to N undocumented "
                   "definitions (sends their code to the endpoint).")
@click.option("--batch-size", type=click.IntRange(2), default=32, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the run's summary as JSON.")
@friendly_errors
def tune_command(path, index_dir, base, minutes, steps, out, max_pairs, no_history,
                 llm_questions, batch_size, seed, as_json):
    """Fine-tune the embedding model on PATH's own code: doc comments, tests, calls and
    commit messages become training pairs; the model is saved with its ONNX export and a
    model card. Interrupted or out of time, it saves a usable model and resumes."""
    from ..api import open_index
    from ..tune.run import TuneOptions, tune_repository
    from ..tune.synthesize import SynthesisParams
    from ..tune.train import TrainParams

    say = (lambda _m: None) if as_json else (lambda m: click.echo(m, err=True))
    with open_index(path, index_dir=index_dir) as idx:
        idx.store()  # no index: a one-line error with the command that builds it
        folder = Path(out) if out else idx.db_path.parent / "tuned"
        opts = TuneOptions(
            out=folder,
            train=TrainParams(base=base, minutes=minutes, steps=steps, batch_size=batch_size,
                              seed=seed),
            synthesis=SynthesisParams(seed=seed, max_pairs=max_pairs, history=not no_history),
            llm_questions=llm_questions, quiet=as_json)
        client = _llm_client(idx) if llm_questions else None
        info = tune_repository(idx, opts, say, client)
    if as_json:
        return emit_json(info)
    _print(info)


def _llm_client(idx):
    from ..tune.llm_queries import client_for_tuning

    client = client_for_tuning(idx.settings)
    if client is None:
        click.echo("warning: --llm-questions needs an LLM endpoint (llm_base_url / "
                   "OPENAI_BASE_URL and a model); going on without", err=True)
    return client


def _print(info: dict) -> None:
    t, ev = info["training"], info["evaluation"]
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(info["pairs_by_kind"].items()))
    click.echo(f"pairs: {sum(info['pairs_by_kind'].values())} ({kinds})")
    click.echo(f"trained {t['steps']}/{t['total_steps']} steps, {t['pairs_seen']} pairs in "
               f"{t['seconds']} s ({t['pairs_per_second']} pairs/s, {t['device']}"
               f"{', bf16' if t['bf16'] else ''})"
               + ("; stopped at the time limit: run again to resume" if t["stopped_early"] else ""))
    if ev.get("pairs"):
        b, a = ev["before"], ev["after"]
        click.echo(f"held-out pairs ({ev['pairs']}): MRR@10 {b['mrr@10']:.3f} -> "
                   f"{a['mrr@10']:.3f}, recall@1 {b['recall@1']:.3f} -> {a['recall@1']:.3f}")
    click.echo(f"model: {info['path']}")
    click.echo(f"use it: codesift index {info['source']} --embedder local:{info['path']} --rebuild")
