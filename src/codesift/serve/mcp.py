"""The MCP server for coding agents, built on the official MCP Python SDK: a factory over one
Index registering the tools of tools.py / tools_graph.py (and, given a SQL backend, the
sql_* tools of tools_sql.py), for stdio or streamable HTTP.
"""

# Tool descriptions are written for the agent choosing a tool: what it answers, when it beats
# grep or reading whole files, what the input looks like, and that output is capped with a
# note saying how to get more. Library errors become tool errors (is_error, "error: ...\nhint:
# ...") the agent can act on; they never reach the transport, and nothing but protocol is
# ever written to stdout in stdio mode (the SDK points fd 1 at stderr while it serves).

from __future__ import annotations

import logging
import sqlite3
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from ..errors import CodesiftError
from ..graph.query import DEFAULT_MIN_CONFIDENCE
from . import tools, tools_answer, tools_graph, tools_sql
from .bounds import MAX_SQL_ROWS, Bounds
from .tools import Backend, IndexSource
from .tools_sql import SqlTools

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from ..api import Index

log = logging.getLogger(__name__)

INSTRUCTIONS = """\
codesift indexes this repository: code units, a code graph (calls, imports, inheritance) and
embeddings. Start with search_code for any question about where or how something is done; use
get_symbol when you know a name, find_callers / find_callees / call_path for how code connects,
repo_map to orient in an unfamiliar repository, and read_range for exact lines. Every result
cites path:start-end; outputs are capped and say how to ask for more. index_status tells how
fresh the index is."""

READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                            open_world_hint=False)
_CAPPED = (" Output is capped; when cut, its last line says what was left out and how to get "
           "it.")

Symbol = Annotated[str, Field(description=(
    "A definition's name: qualified (click.core.Context.invoke), a suffix (Context.invoke), "
    "a bare name (invoke: every definition of it) or path:line (click/core.py:735)."))]
Depth = Annotated[int, Field(ge=1, le=tools_graph.MAX_GRAPH_DEPTH, description=(
    "Hops to follow: 1 = direct only; 2-3 show the wider neighbourhood."))]
Confidence = Annotated[float, Field(ge=0.0, le=1.0, description=(
    "Leave out edges resolved less surely than this: 1.0 = certain only, 0.3 (default) adds "
    "close guesses, 0 = every guess (e.g. any method of that name on an unknown object)."))]


SQL_INSTRUCTIONS = """\
codesift sql answers questions about data with checked SQL, on the databases of a catalog
whose schemas (tables, columns, keys, comments, sample values), documentation and example
queries it has learned. Call sql_schema to see a database, sql_context to see exactly what a
question would be answered from, and sql_query to have SQL written, checked (parse, names,
read-only, EXPLAIN) and, with run=true, executed read-only with a row limit and a timeout."""


def build_mcp_server(index: Index | IndexSource, *, bounds: Bounds | None = None,
                     log_level: str = "WARNING", observe_tool=None,
                     sql: SqlTools | None = None) -> MCPServer:
    """An MCP server answering from `index`: an Index, opened once and kept for the server's
    life, or a callable lending one per tool call as a context manager (see tools.Backend).
    `observe_tool(name)` is a context manager around each call (metrics.Metrics.tool).
    `sql`: also the sql_* tools (`codesift mcp --sql`)."""
    backend = Backend(index, bounds, observe_tool)
    server = MCPServer("codesift", title="codesift code search", version=_version(),
                       instructions=INSTRUCTIONS + ("\n\n" + SQL_INSTRUCTIONS if sql else ""),
                       log_level=log_level)
    _register_retrieval(server, backend)
    _register_graph(server, backend)
    _register_answers(server, backend)
    _register_status(server, backend)
    if sql is not None:
        _register_sql(server, sql)
    return server


def build_sql_mcp_server(sql: SqlTools, *, log_level: str = "WARNING") -> MCPServer:
    """An MCP server with the sql_* tools only (the HTTP server's /sql/mcp)."""
    server = MCPServer("codesift-sql", title="codesift text-to-SQL", version=_version(),
                       instructions=SQL_INSTRUCTIONS, log_level=log_level)
    _register_sql(server, sql)
    return server


def sql_mcp_http_app(sql: SqlTools, *, host: str = "127.0.0.1") -> Starlette:
    """build_sql_mcp_server as a streamable-HTTP ASGI app at "/" (see mcp_http_app)."""
    return build_sql_mcp_server(sql).streamable_http_app(streamable_http_path="/", host=host)


def mcp_http_app(index: Index | IndexSource, *, path: str = "/mcp",
                 bounds: Bounds | None = None, host: str = "127.0.0.1",
                 stateless: bool = False, observe_tool=None) -> Starlette:
    """The server as a streamable-HTTP ASGI app serving MCP at `path`; `index` as for
    build_mcp_server (one per repository, e.g. `lambda: registry.using(name)`).

    To mount it inside another app (`codesift serve`), build it with path="/" and mount it
    at /mcp, and run its lifespan from the outer app's (the lifespan starts the SDK's session
    manager): `async with mcp_app.router.lifespan_context(mcp_app): yield`. `host` is the
    address served on: for loopback the SDK refuses other Host headers (DNS rebinding)."""
    server = build_mcp_server(index, bounds=bounds, observe_tool=observe_tool)
    return server.streamable_http_app(streamable_http_path=path, host=host,
                                      stateless_http=stateless)


def _call(backend: Backend, tool, **arguments) -> CallToolResult:
    """Run a tool; a library error becomes a tool error with its hint, never a crash."""
    try:
        out = backend.run(tool, **arguments)
    except CodesiftError as exc:
        return _error(tool.__name__, str(exc), exc.hint)
    except sqlite3.DatabaseError as exc:
        return _error(tool.__name__, f"the index could not be read ({exc})",
                      "run codesift status --check, or rebuild: codesift index --rebuild")
    return CallToolResult(content=[TextContent(type="text", text=out.text)],
                          structured_content=out.data)


def _error(tool: str, message: str, hint: str) -> CallToolResult:
    # Returned rather than raised: the SDK would prefix "Error executing tool ..." to it.
    text = f"error: {message}" + (f"\nhint: {hint}" if hint else "")
    log.info("%s: %s", tool, message)
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True,
                          structured_content={"error": message, "hint": hint})


# search_code's parameters, shared with the tool over every repository (mcp_fanout.py).
SearchQuery = Annotated[str, Field(description=(
    "What you are looking for: a question in plain words, an identifier, an error "
    "message, a pasted stack trace, or a whole issue as written (logs and all: its "
    "title, frames and errors are what is searched)."))]
HitCount = Annotated[int, Field(ge=1, le=tools.MAX_K, description="How many hits (1-50).")]
Offset = Annotated[int, Field(ge=0, le=tools.MAX_OFFSET, description=(
    "Skip this many best hits: the next page after a cut result."))]
Languages = Annotated[list[str] | None, Field(description=(
    "Only these languages, e.g. [\"python\", \"go\"]."))]
PathFilter = Annotated[str | None, Field(description=(
    "Only paths under this prefix or matching this glob, e.g. src/api/ or *.sql."))]
Kinds = Annotated[list[str] | None, Field(description=(
    "Only these kinds: function, method, class, module, section, ..."))]
ExcludeTests = Annotated[bool, Field(description="Leave test code out.")]
# read_range's, shared likewise.
FilePath = Annotated[str, Field(description=(
    "File path relative to the repository root, as the other tools print it."))]
StartLine = Annotated[int, Field(ge=1, description="First line, 1-based.")]
EndLine = Annotated[int | None, Field(ge=1, description=(
    "Last line, inclusive; omit for the end of the file."))]


def _register_retrieval(server: MCPServer, backend: Backend) -> None:
    def search_code(query: SearchQuery, k: HitCount = 10, offset: Offset = 0,
                    lang: Languages = None, path: PathFilter = None, kind: Kinds = None,
                    exclude_tests: ExcludeTests = False) -> CallToolResult:
        return _call(backend, tools.search_code, query=query, k=k, offset=offset, lang=lang or (),
                     path=path, kind=kind or (), exclude_tests=exclude_tests)

    def get_symbol(name: Symbol, include_source: Annotated[bool, Field(description=(
            "Include the source (a class as a skeleton with member bodies elided)."))] = True,
    ) -> CallToolResult:
        return _call(backend, tools.get_symbol, name=name, include_source=include_source)

    def read_range(path: FilePath, start_line: StartLine = 1,
                   end_line: EndLine = None) -> CallToolResult:
        return _call(backend, tools.read_range, path=path, start_line=start_line, end_line=end_line)

    server.add_tool(search_code, annotations=READ_ONLY, description=(
        "Find code in this repository by meaning or by name: a question in plain words "
        "('where are failed uploads retried?'), an identifier, an error message or a pasted "
        "stack trace. Hybrid ranking (code-aware BM25, embeddings when the index has them, "
        "symbol names, stack-frame lines, error-message phrases), so it finds code whose exact "
        "text you do not know and ranks definitions first where grep returns every mention. "
        "Each hit is "
        "`path:start-end  qualified.name  [kind, language]` with its first lines; follow up "
        "with get_symbol or read_range. Filter by lang, path prefix/glob, kind; page with "
        "offset." + _CAPPED))
    server.add_tool(get_symbol, annotations=READ_ONLY, description=(
        "Look up a definition by name: its location (path:start-end), kind, signature, "
        "docstring and source with line numbers; a class, struct or module comes as a "
        "skeleton (members' signatures, bodies elided). A bare name that several definitions "
        "share lists them all (source for up to 3): ask again with a qualified name or "
        "path:line. Use it instead of opening a whole file when you know the name." + _CAPPED))
    server.add_tool(read_range, annotations=READ_ONLY, description=(
        "Read exact lines of one file of this repository, numbered, e.g. to see the code "
        "around a hit or a call site. Only files the index holds can be read: paths are "
        "relative to the repository root; absolute paths, '..', symlinks and ignored, binary "
        "or vendored files are refused. Secrets are redacted. Prefer a focused range (a "
        "function's lines from search_code or get_symbol) over a whole file." + _CAPPED))


def _register_graph(server: MCPServer, backend: Backend) -> None:
    def find_callers(symbol: Symbol, depth: Depth = 1,
                     min_confidence: Confidence = DEFAULT_MIN_CONFIDENCE) -> CallToolResult:
        return _call(backend, tools_graph.find_callers, symbol=symbol, depth=depth,
                     min_confidence=min_confidence)

    def find_callees(symbol: Symbol, depth: Depth = 1,
                     min_confidence: Confidence = DEFAULT_MIN_CONFIDENCE) -> CallToolResult:
        return _call(backend, tools_graph.find_callees, symbol=symbol, depth=depth,
                     min_confidence=min_confidence)

    def call_path(
        source: Annotated[str, Field(description="Where the chain starts (any form of name).")],
        target: Annotated[str, Field(description="Where it should end (any form of name).")],
        max_depth: Annotated[int, Field(ge=1, le=10, description="Longest chain to look for.")] = 6,
        min_confidence: Confidence = DEFAULT_MIN_CONFIDENCE,
    ) -> CallToolResult:
        return _call(backend, tools_graph.call_path, source=source, target=target,
                     max_depth=max_depth, min_confidence=min_confidence)

    def repo_map(
        budget: Annotated[int, Field(ge=64, description=(
            "Most tokens the map may take (capped at the server's output cap)."))] = 1024,
        focus: Annotated[list[str] | None, Field(description=(
            "Files, directories or symbols to center the map on."))] = None,
        query: Annotated[str | None, Field(description=(
            "Text whose identifiers and file names center the map (e.g. your task)."))] = None,
    ) -> CallToolResult:
        return _call(backend, tools_graph.repo_map, budget=budget, focus=focus, query=query)

    server.add_tool(find_callers, annotations=READ_ONLY, description=(
        "Who calls a function or method: each call site as `path:line in caller`, resolved "
        "across files through imports, self/this, declared parameter types and base classes, "
        "with a ~confidence on guessed edges. depth 2-3 adds callers of callers. Use it "
        "before changing a signature or behaviour, instead of grepping the name (which also "
        "finds unrelated same-named functions, comments and strings)." + _CAPPED))
    server.add_tool(find_callees, annotations=READ_ONLY, description=(
        "What a function or method calls, resolved to definitions in this repository "
        "(path:start-end), with the line of each call; depth 2-3 follows them further. Use "
        "it to understand what a function depends on without reading every callee." + _CAPPED))
    server.add_tool(call_path, annotations=READ_ONLY, description=(
        "The shortest chain of calls from one definition to another, each step with its "
        "location and the line of the call: how an entry point reaches a function (e.g. a "
        "CLI command down to a database write). Says so when there is none." + _CAPPED))
    server.add_tool(repo_map, annotations=READ_ONLY, description=(
        "A map of the repository's most important definitions (ranked by PageRank over the "
        "code graph), as a file tree of `line│signature` entries that fits a token budget. "
        "Use it first in an unfamiliar repository, or with focus / query to see the code "
        "around what you are working on." + _CAPPED))


# Annotations are evaluated in this module's namespace (the SDK reads them): module level.
Question = Annotated[str, Field(description=(
    "The question or task in plain words, e.g. 'how are failed uploads retried?', or a "
    "whole issue as written; identifiers, file names and stack traces in it help."))]


def _register_answers(server: MCPServer, backend: Backend) -> None:
    def get_context(
        question: Question,
        budget: Annotated[int, Field(ge=200, le=32_000, description=(
            "Token budget for the packed context (never exceeded; capped by the output cap)."
        ))] = 4000,
        k: Annotated[int, Field(ge=1, le=tools.MAX_K, description="Hits to pack from.")] = 20,
    ) -> CallToolResult:
        return _call(backend, tools_answer.get_context, question=question, budget=budget, k=k)

    def ask(
        question: Question,
        budget: Annotated[int, Field(ge=200, le=32_000, description=(
            "Token budget for the context the LLM is given."))] = 4000,
    ) -> CallToolResult:
        return _call(backend, tools_answer.ask, question=question, budget=budget)

    server.add_tool(get_context, annotations=READ_ONLY, description=(
        "The code that answers a question, packed into a token budget: the most useful lines "
        "of the best hits (definitions, signatures, the lines that match, enclosing class "
        "headers, signatures of what they call), other lines elided with `⋮`, each block "
        "headed `path:start-end` so you can cite it. One call instead of several searches "
        "and reads when you need to understand how something works." + _CAPPED))
    server.add_tool(ask, annotations=READ_ONLY, description=(
        "A grounded answer from the LLM configured for this repository (llm_base_url / "
        "llm_model): it retrieves, packs the context, asks, and checks that every "
        "[path:lines] citation is inside the context and every named identifier exists. "
        "Fails with a hint when no LLM is configured; prefer get_context if you will reason "
        "over the code yourself." + _CAPPED))


Database = Annotated[str, Field(description=(
    "A database of the catalog by name, e.g. shop (sql_schema's and the server's list name "
    "them)."))]
SqlQuestion = Annotated[str, Field(description=(
    "A question about the data in plain words, e.g. 'how many orders did each customer in "
    "London place last month?'; values as the data writes them help ('shipped')."))]


def _register_sql(server: MCPServer, sql: SqlTools) -> None:
    def sql_schema(database: Database, ctx: Context) -> CallToolResult:
        return _call(sql, tools_sql.sql_schema, ctx=ctx, database=database)

    def sql_context(
        question: SqlQuestion, ctx: Context,
        database: Annotated[str | None, Field(description=(
            "The database; omit it and the best match for the question is chosen."))] = None,
        budget: Annotated[int, Field(ge=100, le=32_000, description=(
            "Token budget for schema + examples + docs (capped by the output cap)."))] = 2000,
    ) -> CallToolResult:
        return _call(sql, tools_sql.sql_context, ctx=ctx, question=question,
                     database=database, budget=budget)

    def sql_query(
        question: SqlQuestion, database: Database, ctx: Context,
        run: Annotated[bool, Field(description=(
            "Execute the checked SQL (read-only, with a timeout) and return rows."))] = False,
        row_limit: Annotated[int | None, Field(ge=1, le=MAX_SQL_ROWS, description=(
            "Rows returned at most (default 100)."))] = None,
    ) -> CallToolResult:
        return _call(sql, tools_sql.sql_query, ctx=ctx, question=question, database=database,
                     run=run, row_limit=row_limit)

    server.add_tool(sql_schema, annotations=READ_ONLY, description=(
        "The learned schema of one SQL database: every table and view with its columns "
        "(type, primary key, NOT NULL, foreign key as -> table.column), comments, and sample "
        "values showing how the data is written ('London', 'shipped'). Use it to see what a "
        "database holds before asking about it or writing SQL yourself; for one question, "
        "sql_context shows only the tables that matter." + _CAPPED))
    server.add_tool(sql_context, annotations=READ_ONLY, description=(
        "What a question about data would be answered from, without calling any LLM: the "
        "tables and columns linked to the question (as CREATE TABLE text with comments and "
        "sample values), the team's stored example queries most like it, and the relevant "
        "documentation, packed into a token budget. Use it to write SQL yourself with the "
        "right names, or to see why sql_query chose what it did. Omit database to have the "
        "best-matching database picked." + _CAPPED))
    server.add_tool(sql_query, annotations=ToolAnnotations(
        read_only_hint=True, destructive_hint=False, idempotent_hint=False,
        open_world_hint=True), description=(
        "Answer a question about data with SQL: the configured LLM writes one SELECT from "
        "the question's context, and it is checked (parses, every table and column exists, "
        "read-only, EXPLAIN accepts it) and sent back with the error until it passes. With "
        "run=true it is executed read-only with a row limit and a timeout and the rows are "
        "returned; writes (INSERT, UPDATE, DELETE, DDL) are never run. Fails with a hint "
        "when no LLM is configured: then use sql_context and write the SQL yourself."
        + _CAPPED))


def _register_status(server: MCPServer, backend: Backend) -> None:
    def index_status() -> CallToolResult:
        return _call(backend, tools_graph.index_status)

    server.add_tool(index_status, annotations=READ_ONLY, description=(
        "What the index covers and how fresh it is: files, chunks, languages, whether dense "
        "(embedding) search is on, when it was last indexed, whether the code graph is "
        "current, and which indexed files changed on disk since. Call it when results look "
        "wrong, missing or out of date."))


def _version() -> str:
    try:
        return version("codesift")
    except PackageNotFoundError:  # running from a source tree
        return "0"
