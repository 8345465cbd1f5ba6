"""The `codesift` command: index, search, status, graph (in cli_graph.py).

Errors print one line and a hint on stderr (exit 2 for bad usage, 1 for failures);
`--json` prints machine-readable results and nothing else on stdout.
"""

from __future__ import annotations

import os
import sys

import click

from ..retrieve.federate import DEFAULT_DEADLINE_S, DEFAULT_MERGE, MERGES
from .common import emit_json, friendly_errors, index_dir_option, repo_option
from .ask import ask_cmd, explain_cmd, review_cmd, tests_cmd
from .graph import graph_group
from .context import context_command
from .evaluate import evaluate_command
from .tune import tune_command
from .sql import sql_group
from .map import map_command
from .watch import watch_command
from .serve import mcp_command
from .http import audit_command, repo_group, serve_command, token_group

# One query is a single matrix-vector product: a second BLAS thread only adds start-up and
# contention (bench/bench_vectors.py).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="codesift")
def main() -> None:
    """codesift: find the right code for a question, in any repository."""


@main.command("index")
@click.argument("path", type=click.Path(), default=".")
@index_dir_option
@click.option("--no-dense", is_flag=True, help="Lexical + symbol search only: the fastest index.")
@click.option("--embedder", default=None,
              help='Embedding model: "local", "local:<model or path>", "openai:<model>".')
@click.option("--dry-run", is_flag=True, help="List what would be indexed and why files are skipped.")
@click.option("--rebuild", is_flag=True, help="Build a fresh index (e.g. after changing --embedder).")
@click.option("--max-file-size", type=int, default=None, help="Skip files larger than this many bytes.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@friendly_errors
def index_cmd(path, index_dir, no_dense, embedder, dry_run, rebuild, max_file_size, as_json):
    """Index the repository at PATH (incremental: only changed files are redone)."""
    from ..api import open_index
    from ..render import print_dry_run, print_summary, progress_bar

    idx = open_index(path, index_dir=index_dir, dense=False if no_dense else None,
                     embedder=embedder, max_file_bytes=max_file_size)
    if dry_run:
        from ..ingest.discover import discover
        found = discover(idx.root, max_file_bytes=idx.settings.max_file_bytes,
                         extra_ignores=idx.settings.extra_ignores)
        return print_dry_run(found, as_json)
    with idx, progress_bar(enabled=not as_json) as progress:
        summary = idx.update(progress, rebuild=rebuild, embedder=embedder)
    if as_json:
        return emit_json(summary.to_dict())
    print_summary(summary, idx.db_path)


@main.command("search")
@click.argument("query")
@click.option("--repo", "repos", type=click.Path(), multiple=True,
              help="Repository root (default: .); repeat it to search several at once.")
@click.option("--workspace", type=click.Path(dir_okay=False), default=None,
              help="A TOML file listing repositories ([[repo]] path = ...) to search together.")
@index_dir_option
@click.option("-k", "k", type=int, default=10, show_default=True, help="Number of hits.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of hits (an object "
              "with hits, repos and partial when searching several repositories).")
@click.option("--files", is_flag=True, help="Aggregate hits to whole files.")
@click.option("--lang", "languages", multiple=True, help="Only these languages (repeatable).")
@click.option("--path", "path_glob", default=None, help="Only paths matching this glob or prefix.")
@click.option("--kind", "kinds", multiple=True, help="Only these kinds: function, method, class, ...")
@click.option("--no-tests", is_flag=True, help="Leave test code out.")
@click.option("--no-dense", is_flag=True, help="Skip the dense retriever for this query.")
@click.option("--deadline", type=click.FloatRange(min=0.1), default=DEFAULT_DEADLINE_S,
              show_default=True, help="Several repositories: seconds to wait for each before "
              "answering without it (the answer is then marked partial).")
@click.option("--merge", type=click.Choice(list(MERGES)), default=DEFAULT_MERGE,
              show_default=True, help="Several repositories: how their rankings are merged "
              "(relevance weighs each repository by how much it has to say about the query).")
@friendly_errors
def search_cmd(query, repos, workspace, index_dir, k, as_json, files, languages, path_glob,
               kinds, no_tests, no_dense, deadline, merge):
    """Search the index with natural language, an identifier, or a pasted error.

    \b
    Examples:
      codesift search "where are webhook payloads signed"
      codesift search "retry failed uploads" --repo ../api --repo ../worker
      codesift search HMAC --workspace team.toml --lang go --json
    """
    from ..api import open_index
    from ..render import print_hits

    if query == "-":
        query = sys.stdin.read()
    filters = {"languages": languages, "path": path_glob, "kinds": kinds,
               "exclude_tests": no_tests, "files": files}
    if workspace or len(repos) > 1:
        return _search_several(query, repos, workspace, index_dir, k, as_json, filters,
                               no_dense, deadline, merge)
    with open_index(repos[0] if repos else ".", index_dir=index_dir,
                    dense=False if no_dense else None) as idx:
        idx.one_shot = True
        hits = idx.search(query, k=k, **filters)
    if as_json:
        return emit_json([h.to_dict() for h in hits])
    print_hits(hits, files=files)


def _search_several(query, repos, workspace, index_dir, k, as_json, filters, no_dense,
                    deadline, merge):
    from ..errors import UsageError
    from ..render import print_repo_hits
    from ..workspace import Workspace, from_paths, load_workspace, name_repos

    if index_dir:
        raise UsageError("--index-dir names one index; it cannot go with several repositories",
                         hint="give each repository's index_dir in a --workspace file")
    chosen = name_repos([*(load_workspace(workspace) if workspace else ()), *from_paths(repos)])
    with Workspace(chosen, dense=False if no_dense else None) as ws:
        for index in ws.indexes.values():
            index.one_shot = True
        result = ws.search(query, k=k, deadline_s=deadline, merge=merge, **filters)
    if as_json:
        return emit_json(result.to_dict())
    print_repo_hits(result, files=filters["files"])


@main.command("status")
@repo_option
@index_dir_option
@click.option("--check", is_flag=True, help="Also run SQLite's integrity checks.")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@friendly_errors
def status_cmd(repo, index_dir, check, as_json):
    """Show what the index holds: files, chunks, vectors, embedder, failures."""
    from ..api import open_index
    from ..render import print_status

    with open_index(repo, index_dir=index_dir) as idx:
        info = idx.status()
        if check:
            info["integrity_problems"] = idx.check()
    if as_json:
        return emit_json(info)
    print_status(info)
    _print_redactions(info.get("redactions") or {})
    if check and info["integrity_problems"]:
        sys.exit(1)


def _print_redactions(red: dict, shown: int = 20) -> None:
    if not red.get("enabled"):
        click.echo("secrets:    not redacted (redact_secrets is off, or the index predates it)")
        return
    kinds = ", ".join(f"{kind} {n}" for kind, n in red["by_kind"].items())
    click.echo(f"secrets:    {red['total']} redacted" + (f": {kinds}" if kinds else ""))
    for path, counts in list(red["by_file"].items())[:shown]:
        click.echo(f"  {path}: " + ", ".join(f"{kind} {n}" for kind, n in counts.items()))
    if len(red["by_file"]) > shown:
        click.echo(f"  ... and {len(red['by_file']) - shown} more files (--json lists all)")


main.add_command(graph_group)
for _answer in (ask_cmd, explain_cmd, tests_cmd, review_cmd):
    main.add_command(_answer)
main.add_command(map_command)
main.add_command(context_command)
main.add_command(evaluate_command)
main.add_command(tune_command)
main.add_command(sql_group)
main.add_command(watch_command)
main.add_command(mcp_command)
for _command in (serve_command, token_group, repo_group, audit_command):
    main.add_command(_command)

if __name__ == "__main__":  # pragma: no cover
    main()
