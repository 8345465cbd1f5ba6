"""The MCP server over every repository a token may read: the HTTP server's /mcp (one
repository's full tool set stays at /mcp/{name})."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult
from pydantic import Field

from . import tools_fanout
from .mcp import (_CAPPED, READ_ONLY, EndLine, ExcludeTests, FilePath, HitCount, Kinds,
                  Languages, Offset, PathFilter, SearchQuery, StartLine, _call, _version)
from .tools_fanout import FanoutTools

if TYPE_CHECKING:
    from starlette.applications import Starlette

INSTRUCTIONS = """\
codesift indexes this server's repositories: code units, a code graph and embeddings. \
search_code searches every repository you may read at once (or those you name) and each hit \
names its repository as [repo]; read_range and get_symbol then take that repo. list_repos \
lists them. For one repository's code graph (callers, callees, call paths, the repo map) \
connect to /mcp/<repo>. Every result cites path:start-end; outputs are capped and say how to \
ask for more."""

Repo = Annotated[str, Field(description="The repository, as search_code's hits name it in "
                                        "brackets (list_repos lists them).")]


def build_fanout_mcp_server(backend: FanoutTools, *, log_level: str = "WARNING") -> MCPServer:
    server = MCPServer("codesift-repos", title="codesift code search across repositories",
                       version=_version(), instructions=INSTRUCTIONS, log_level=log_level)

    def search_code(
        query: SearchQuery, ctx: Context, k: HitCount = 10, offset: Offset = 0,
        repos: Annotated[list[str] | None, Field(description=(
            "Only these repositories (default: every one you may read)."))] = None,
        lang: Languages = None, path: PathFilter = None, kind: Kinds = None,
        exclude_tests: ExcludeTests = False,
    ) -> CallToolResult:
        return _call(backend, tools_fanout.search_code, ctx=ctx, query=query, k=k,
                     offset=offset, repos=repos or (), lang=lang or (), path=path,
                     kind=kind or (), exclude_tests=exclude_tests)

    def list_repos(ctx: Context) -> CallToolResult:
        return _call(backend, tools_fanout.list_repos, ctx=ctx)

    def read_range(repo: Repo, ctx: Context, path: FilePath, start_line: StartLine = 1,
                   end_line: EndLine = None) -> CallToolResult:
        return _call(backend, tools_fanout.read_range, ctx=ctx, repo=repo, path=path,
                     start_line=start_line, end_line=end_line)

    def get_symbol(
        repo: Repo, ctx: Context,
        name: Annotated[str, Field(description=(
            "A definition's name: qualified, a suffix (Class.method), a bare name or "
            "path:line."))],
        include_source: Annotated[bool, Field(description="Include the source.")] = True,
    ) -> CallToolResult:
        return _call(backend, tools_fanout.get_symbol, ctx=ctx, repo=repo, name=name,
                     include_source=include_source)

    server.add_tool(search_code, annotations=READ_ONLY, description=(
        "Find code in every repository you may read at once, by meaning or by name: a "
        "question in plain words ('where do we sign webhook payloads?'), an identifier, an "
        "error message or a stack trace. Each hit is `[repo] path:start-end  name  [kind, "
        "language]` with its first lines, best first across repositories; a repository that "
        "failed or did not answer in time is named on a [partial: ...] line. Narrow with "
        "repos, lang, path, kind; page with offset." + _CAPPED))
    server.add_tool(list_repos, annotations=READ_ONLY, description=(
        "The repositories you may search and read here."))
    server.add_tool(read_range, annotations=READ_ONLY, description=(
        "Read exact lines of one file of a repository, numbered (secrets redacted); only "
        "files its index holds, paths relative to its root." + _CAPPED))
    server.add_tool(get_symbol, annotations=READ_ONLY, description=(
        "Look up a definition by name in a repository: location, kind, signature, "
        "docstring and source (a class as a skeleton)." + _CAPPED))
    return server


def fanout_mcp_http_app(backend: FanoutTools, *, host: str = "127.0.0.1") -> Starlette:
    """build_fanout_mcp_server as a streamable-HTTP ASGI app at "/" (see mcp.mcp_http_app)."""
    return build_fanout_mcp_server(backend).streamable_http_app(streamable_http_path="/",
                                                                host=host)
