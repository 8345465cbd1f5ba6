"""`codesift map`: the repository's most important definitions as a file tree of
signatures, fitted to a token budget (graph/repomap.py)."""

from __future__ import annotations

import click

from .common import emit_json, friendly_errors, index_dir_option, repo_option


@click.command("map")
@repo_option
@index_dir_option
@click.option("--budget", type=int, default=1024, show_default=True,
              help="Most tokens the map may take (counted as in codesift/budget.py).")
@click.option("--focus", multiple=True, metavar="PATH_OR_SYMBOL",
              help="Center the map on a file, a directory or a symbol (repeatable).")
@click.option("--query", default=None,
              help="Center the map on the identifiers, file names and names in this text.")
@click.option("--json", "as_json", is_flag=True, help="Print the map and its entries as JSON.")
@friendly_errors
def map_command(repo, index_dir, budget, focus, query, as_json):
    """The most important definitions, ranked by PageRank over the code graph, as a file
    tree of signatures that fits --budget tokens."""
    from ..api import open_index

    with open_index(repo, index_dir=index_dir) as idx:
        repo_map = idx.repo_map(budget, focus=focus, query=query)
    if as_json:
        return emit_json(repo_map.to_dict())
    if repo_map.text:
        click.echo(repo_map.text)
    shown = sum(len(f.entries) for f in repo_map.files)
    click.echo(f"{shown} definitions in {len(repo_map.files)} files, "
               f"{repo_map.tokens:,} of {budget:,} tokens", err=True)
    if not repo_map.files:
        click.echo("hint: the budget is too small for one definition; try --budget 256",
                   err=True)
