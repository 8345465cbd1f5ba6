"""Human-readable terminal output for the CLI: hits, summaries, status, progress bars.

Kept apart from cli/ so the command definitions stay a thin adapter.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import click

from .model import Hit

_STAGE_LABELS = {"parse": "parsing + chunking", "embed": "embedding", "mine": "reading history"}


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator:
    """Yields a `progress(stage, done, total)` callback drawing rich bars on stderr."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeRemainingColumn)

    bars = Progress(TextColumn("{task.description:>20}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=Console(stderr=True), transient=False)
    tasks: dict[str, int] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bars.add_task(_STAGE_LABELS.get(stage, stage), total=total)
        bars.update(tasks[stage], completed=done, total=total)

    with bars:
        yield update


def print_hits(hits: Sequence[Hit], files: bool = False,
               repos: Sequence[str] | None = None) -> None:
    """`repos`: the repository of each hit, printed before its path."""
    if not hits:
        click.echo("no results", err=True)
        return
    for rank, hit in enumerate(hits, start=1):
        where = click.style(f"{hit.path}:{hit.start_line}-{hit.end_line}", fg="cyan")
        if repos is not None:
            where = click.style(f"{repos[rank - 1]}:", fg="green", bold=True) + where
        # The file's kind when it is not source ([test], [docs], [vendored], ...); a test
        # inside a source file is marked [test] as well.
        label = hit.file_kind if hit.file_kind != "source" else "test" if hit.is_test else ""
        test = click.style(f" [{label}]", fg="yellow") if label else ""
        if files:
            click.echo(f"{rank:>3}. {where}  {hit.language}{test}  score {hit.score:.4f}")
            continue
        symbol = click.style(hit.symbol or "(block)", bold=True)
        click.echo(f"{rank:>3}. {where}  {symbol}  {hit.kind} {hit.language}{test}  "
                   f"score {hit.score:.4f}")
        for line in hit.snippet.splitlines()[:4]:
            click.echo(click.style(f"       {line[:110]}", dim=True))


def print_repo_hits(result, files: bool = False) -> None:
    """A search over several repositories: the hits, each after its repository's name, and a
    line on stderr for each repository that failed or missed the deadline."""
    print_hits([h.hit for h in result.hits], files=files, repos=[h.repo for h in result.hits])
    for outcome in result.repos:
        if outcome.status != "ok":
            click.echo(click.style(f"partial: {outcome.repo} {outcome.status}: {outcome.error}",
                                   fg="yellow"), err=True)


def print_summary(summary, db_path: Path) -> None:
    langs = ", ".join(f"{lang} {n}" for lang, n in
                      sorted(summary.languages.items(), key=lambda kv: -kv[1]))
    click.echo(f"indexed {summary.files_indexed} files ({summary.files_unchanged} unchanged, "
               f"{summary.files_deleted} deleted) in {summary.seconds:.1f}s -> {db_path}")
    click.echo(f"  files by language: {langs or 'none'}")
    click.echo(f"  chunks written: {summary.chunks_written}, vectors embedded: "
               f"{summary.vectors_embedded}")
    reasons = Counter(_reason_kind(s.reason) for s in summary.skipped)
    if reasons:
        click.echo("  skipped: " + ", ".join(f"{n} {r}" for r, n in reasons.most_common()))
    for path, reason in summary.parse_failures:
        click.echo(f"  parse failed (indexed as text): {path}: {reason}")
    for path, warning in summary.encoding_warnings:
        click.echo(f"  encoding: {path}: {warning}")


def _print_graph_status(graph: dict) -> None:
    edges = graph.get("edges", {})
    if not graph.get("current"):
        click.echo("graph:      not built yet: run codesift index")
        return
    resolved = {k: v for k, v in edges.items() if not k.startswith("unresolved_")}
    missing = sum(v for k, v in edges.items() if k.startswith("unresolved_"))
    total = sum(resolved.values()) + missing
    parts = ", ".join(f"{k} {v}" for k, v in sorted(resolved.items()))
    share = f" ({missing * 100 / total:.0f}% of references)" if total else ""
    click.echo(f"graph:      {parts or 'no edges'}; unresolved {missing}{share}")


def _reason_kind(reason: str) -> str:
    return reason.split(" (")[0].split(":")[0]


def print_dry_run(found, as_json: bool) -> None:
    counts = Counter(f.language for f in found.files)
    if as_json:
        import json
        click.echo(json.dumps({
            "files": [{"path": f.path, "language": f.language, "size": f.size}
                      for f in found.files],
            "skipped": [{"path": s.path, "reason": s.reason} for s in found.skipped],
            "languages": dict(counts.most_common())}, indent=2))
        return
    for f in found.files:
        click.echo(f"index  {f.path}  ({f.language})")
    for s in found.skipped:
        click.echo(click.style(f"skip   {s.path}  ({s.reason})", dim=True))
    click.echo(f"{len(found.files)} files would be indexed, {len(found.skipped)} skipped")
    click.echo("  by language: " + ", ".join(f"{k} {v}" for k, v in counts.most_common()))


def print_status(info: dict) -> None:
    click.echo(f"repository: {info['repo']}")
    click.echo(f"index:      {info['index']} ({info['size_bytes'] / 1e6:.1f} MB, "
               f"generation {info['generation']})")
    tests = "" if not info["embedder"] else \
        ("  (test code embedded)" if info["tests_embedded"] else "  (test code not embedded)")
    click.echo(f"embedder:   {info['embedder'] or 'none (lexical + symbol only)'}{tests}")
    click.echo(f"files {info['files']} ({info.get('lines', 0):,} lines), chunks {info['chunks']}, symbols {info['symbols']}, "
               f"references {info['references']}, vectors {info['vectors']}")
    if info["embedder"] and info["chunks_without_vector"]:
        click.echo(f"  {info['chunks_without_vector']} chunks wait for vectors: "
                   "run codesift index to finish")
    langs = ", ".join(f"{k} {v}" for k, v in info["languages"].items())
    click.echo(f"languages:  {langs}")
    kinds = ", ".join(f"{k or 'not classified yet'} {v}" for k, v in info.get("kinds", {}).items())
    click.echo(f"file kinds: {kinds}")
    _print_graph_status(info.get("graph") or {})
    for path, reason in info["parse_failures"].items():
        click.echo(f"  parse failed (indexed as text): {path}: {reason}")
    for problem in info.get("integrity_problems", []):
        click.echo(f"  integrity: {problem}")
    if "integrity_problems" in info and not info["integrity_problems"]:
        click.echo("integrity:  ok")


def _where(node) -> str:
    span = f"{node.start_line}-{node.end_line}" if node.symbol else "(module)"
    return click.style(f"{node.path}:{span}", fg="cyan")


def print_graph_nodes(nodes) -> None:
    for node in nodes:
        click.echo(f"{_where(node)}  {click.style(node.symbol or node.path, bold=True)}"
                   f"  {node.kind}")


def print_graph_hits(title: str, roots, hits) -> None:
    names = ", ".join(r.symbol or r.path for r in roots)
    click.echo(f"{title} of {names}" + (f"  ({len(roots)} definitions)" if len(roots) > 1 else ""))
    if not hits:
        click.echo("  none found", err=True)
    for hit in hits:
        node = hit.node
        sure = "" if hit.confidence >= 0.999 else click.style(f"  ~{hit.confidence:.2f}", fg="yellow")
        again = click.style("  (seen above)", dim=True) if hit.seen_before else ""
        click.echo(f"{'  ' * hit.depth}{click.style(node.symbol or '(module)', bold=True)}  "
                   f"{_where(node)}  {hit.edge} at line {hit.line}{sure}{again}")


def print_graph_path(source: str, target: str, hits, max_depth: int) -> None:
    if not hits:
        click.echo(f"no call path from {source} to {target} within {max_depth} calls", err=True)
        return
    for hit in hits:
        arrow = "  " if hit.depth == 0 else "→ "
        at = f"  (line {hit.line})" if hit.depth else ""
        click.echo(f"{arrow}{click.style(hit.node.symbol or '(module)', bold=True)}  "
                   f"{_where(hit.node)}{at}")
