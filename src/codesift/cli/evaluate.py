"""`codesift evaluate`: how well this index finds what the repository's own commits changed,
against BM25 over whole files and over symbol chunks, measured in the same run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import click

from .common import emit_json, friendly_errors, index_dir_option


@click.command("evaluate")
@click.argument("path", type=click.Path(), default=".")
@index_dir_option
@click.option("--since", default=None, metavar="DATE",
              help="Mine commits from this date (YYYY-MM-DD; default: 4 years before HEAD, "
                   "widened to 12 when fewer than 30 commits qualify).")
@click.option("--max", "max_queries", type=click.IntRange(1), default=60, show_default=True,
              help="At most this many queries.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Which commits are drawn when more qualify than --max.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None,
              help="Also draw the metrics and differences into this PNG file.")
@click.option("--save-queries", type=click.Path(dir_okay=False), default=None,
              help="Write the mined queries as JSON lines (the shared history-set format).")
@click.option("--no-dense", is_flag=True, help="Evaluate a lexical-only index.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@friendly_errors
def evaluate_command(path, index_dir, since, max_queries, seed, plot_path, save_queries,
                     no_dense, as_json):
    """Measure search on PATH's own git history: commit messages -> the files and
    definitions they changed (file recall@1/5/10, MRR, strict symbol recall@10), with
    95% bootstrap intervals on codesift's difference to each BM25 baseline."""
    from ..api import open_index
    from ..evaluate.mine import MiningParams
    from ..evaluate.repository import evaluate_repository, evaluation_plot
    from ..render import progress_bar

    _check_date(since)
    params = MiningParams(since=since, max_queries=max_queries, seed=seed)
    with open_index(path, index_dir=index_dir, dense=False if no_dense else None) as idx, \
            progress_bar(enabled=not as_json) as progress:
        ev = evaluate_repository(idx.root, idx, params, progress=progress,
                                 update_index=lambda: idx.update(progress))
    if save_queries:
        _save_queries(ev.mined, Path(save_queries))
    if plot_path:
        evaluation_plot(ev, plot_path)
    if as_json:
        return emit_json(_as_dict(ev, plot_path))
    _print(ev, plot_path)


def _check_date(since: str | None) -> None:
    if since is None:
        return
    from datetime import date

    from ..errors import UsageError

    try:
        date.fromisoformat(since)
    except ValueError:
        raise UsageError(f"--since {since!r} is not a date", hint="write it as YYYY-MM-DD") from None


def _save_queries(mined, path: Path) -> None:
    from dataclasses import asdict

    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for q in mined.queries:
            fh.write(json.dumps(asdict(q) | {"commit": q.id.rsplit("-", 1)[-1]}, ensure_ascii=False) + "\n")
    tmp.replace(path)


def _as_dict(ev, plot_path) -> dict:
    from ..evaluate.compare import comparison_dict

    m = ev.mined
    return {
        "repository": m.repo, "head": m.head, "since": m.since,
        "mined": {"queries": len(m.queries), "examined": m.examined, "rejected": m.rejected},
        **comparison_dict(ev.comparison),
        "seconds": {k: round(v, 3) for k, v in ev.seconds.items()},
        "plot": plot_path,
    }


_LABELS = {"codesift": "codesift", "bm25-file": "BM25-file", "bm25-chunk": "BM25-chunk"}


def _print(ev, plot_path) -> None:
    from ..evaluate.compare import METRICS

    m, c = ev.mined, ev.comparison
    rejected = ", ".join(f"{r} {n}" for r, n in sorted(m.rejected.items(), key=lambda x: -x[1]))
    click.echo(f"{m.repo} @ {m.head[:10]}: {c.queries} queries from commits since {m.since} "
               f"({m.examined} examined)")
    if rejected:
        click.echo(f"commits not used: {rejected}")
    names = list(c.rows)
    head = f"{'metric':<7}" + "".join(f"{_LABELS.get(n, n):>12}" for n in names)
    head += "".join(f"   {'vs ' + _LABELS.get(b, b) + f' ({int(c.level * 100)}% CI)':<34}" for b in c.deltas)
    click.echo("\n" + head)
    for metric in METRICS:
        line = f"{metric:<7}" + "".join(f"{_num(c.rows[n][metric]):>12}" for n in names)
        for per in c.deltas.values():
            iv = per[metric]
            mark = "better" if iv.low > 0 else "worse" if iv.high < 0 else "tie"
            cell = f"{iv.diff:+.3f} [{iv.low:+.3f}, {iv.high:+.3f}] {mark}" if iv.n else "-"
            line += f"   {cell:<34}"
        click.echo(line)
    n_sym = int(c.rows[names[0]]["n_sym"]) if names else 0
    click.echo(f"\nS!@10 over the {n_sym} queries with gold definitions; better/worse: the "
               f"interval excludes 0.")
    times = ", ".join(f"{k} {v:.1f} s" for k, v in ev.seconds.items())
    click.echo(f"time: {times}")
    if plot_path:
        click.echo(f"plot: {plot_path}")


def _num(x: float) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"
