"""`codesift mcp`: serve the repository's index to coding agents over MCP on stdio.

stdout carries the protocol and nothing else; the banner, logs and errors go to stderr.
"""

from __future__ import annotations

import click

from .common import friendly_errors, index_dir_option, repo_option


@click.command("mcp")
@repo_option
@index_dir_option
@click.option("--max-tokens", type=int, default=None,
              help="Cap on each tool result, in tokens (default 6000).")
@click.option("--max-bytes", type=int, default=None,
              help="Cap on each tool result, in bytes (default 32000).")
@click.option("--no-dense", is_flag=True, help="Answer searches without the embedding model.")
@click.option("--sql", "with_sql", is_flag=True,
              help="Also serve sql_schema, sql_context and sql_query over the `codesift sql` "
                   "catalog in $CODESIFT_HOME (default ~/.codesift-server), every database in "
                   "it; the LLM is the repository's llm_* settings.")
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]),
              default="WARNING", show_default=True, help="Server log level (logs go to stderr).")
@friendly_errors
def mcp_command(repo, index_dir, max_tokens, max_bytes, no_dense, with_sql, log_level):
    """Serve the index to coding agents over MCP (stdio): search_code, get_symbol,
    read_range, find_callers, find_callees, call_path, repo_map, index_status; with --sql,
    sql_schema, sql_context and sql_query too."""
    from ..api import open_index
    from ..serve.bounds import DEFAULT_MAX_BYTES, DEFAULT_MAX_TOKENS, Bounds
    from ..serve.mcp import build_mcp_server

    try:
        bounds = Bounds(max_tokens or DEFAULT_MAX_TOKENS, max_bytes or DEFAULT_MAX_BYTES)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    with open_index(repo, index_dir=index_dir, dense=False if no_dense else None) as idx:
        click.echo(f"codesift mcp: serving {idx.root} over stdio" + (
            "" if idx.exists else f" (no index yet: run codesift index {idx.root})"), err=True)
        sql = _local_sql(idx.root, bounds) if with_sql else None
        build_mcp_server(idx, bounds=bounds, log_level=log_level, sql=sql).run("stdio")


def _local_sql(root, bounds):
    """The sql_* tools for the local user: unrestricted and unaudited, like the CLI."""
    from ..serve.home import default_home
    from ..serve.sql_service import SqlService
    from ..serve.tools_sql import local_tools
    return local_tools(SqlService(default_home(), settings_dir=root), bounds)
