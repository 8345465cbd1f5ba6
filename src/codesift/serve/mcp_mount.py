"""MCP over the HTTP server: /mcp/{name} is that repository's MCP server (serve/mcp.py,
streamable HTTP), /mcp itself the tools over every repository a token may read
(serve/mcp_fanout.py), and /sql/mcp the sql_* tools, behind the same tokens, scopes, rate limits
and audit as the REST API.
"""

# serve/mcp.py builds one MCP app per repository, built on first use over the Registry (each
# tool call borrows the repository's shared Index, taking its turn like a REST request, and
# follows rebuilds). Each app needs its lifespan (the SDK's session manager) running: the
# server's lifespan holds a task group and each MCP app's lifespan runs as a task in it
# until shutdown, so it is entered and left in the same task.
# /sql/mcp is one app for every token: each HTTP request is authenticated here and its
# Caller (token, audit) travels in the request's scope state to the tool call it carries,
# where the SQL service holds it to the token's databases and actions.

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi.security import HTTPAuthorizationCredentials
from starlette.requests import Request
from starlette.routing import get_route_path

from ..errors import CodesiftError
from .deps import ServerState, audit, check
from .http_errors import HTTPError, NotFound, Unauthorized, status_of
from .sql_service import Caller
from .tools_fanout import RepoCaller

CALLER_KEY = "codesift.sql_caller"  # in an /sql/mcp request's scope["state"]
REPO_CALLER_KEY = "codesift.repo_caller"  # in an /mcp request's scope["state"]
SQL_MCP_PATH = "/sql/mcp"
MCP_PATH = "/mcp"


class McpMount:
    """The ASGI app mounted at /mcp."""

    def __init__(self, state: ServerState, error_response) -> None:
        self.state = state
        self.error_response = error_response  # (status, message, hint, headers) -> Response
        self._apps: dict[str, object] = {}
        self._group: anyio.abc.TaskGroup | None = None
        self._everywhere = None  # the app of /mcp itself: every repository the token reads
        self._lock = anyio.Lock()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Entered by the server's lifespan: MCP apps can start while it runs. The app over
        every repository (/mcp itself) is fresh each time: the SDK's session manager runs
        once per instance."""
        from .mcp_fanout import fanout_mcp_http_app
        from .tools_fanout import FanoutTools
        backend = FanoutTools(self.state, repo_caller_of, observe=self.state.metrics.tool)
        everywhere = fanout_mcp_http_app(backend, host=self.state.config.host)
        async with anyio.create_task_group() as group, \
                everywhere.router.lifespan_context(everywhere):
            self._group, self._everywhere = group, everywhere
            try:
                yield
            finally:
                self._group = self._everywhere = None
                group.cancel_scope.cancel()
        self._apps.clear()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        rest = get_route_path(scope)  # "/<name>/..." below the mount
        name, _, tail = rest.lstrip("/").partition("/")
        request = Request(scope)
        if not name:  # /mcp/ itself
            return await self._everywhere_call(scope, receive, send, request)
        try:
            await anyio.to_thread.run_sync(self._authorize, request, name)
            app = await self._app(name)
        except CodesiftError as exc:
            return await _refuse(self.error_response, exc, scope, receive, send)
        child = dict(scope)
        child["root_path"] = scope.get("root_path", "") + f"/{name}"
        if not tail:  # the MCP endpoint is the app's "/"
            child["path"] = scope["path"].rstrip("/") + "/"
        await app(child, receive, send)

    def exact(self) -> _ExactPath:
        """The ASGI app of the exact path /mcp (its own route: the mount would redirect it)."""
        return _ExactPath(self)

    async def _everywhere_call(self, scope, receive, send, request: Request) -> None:
        """/mcp: every repository the token may read, held to it per tool call."""
        child = await _scope_with_caller(scope, receive, send, request, self._repo_caller,
                                         REPO_CALLER_KEY, self._everywhere, self.error_response)
        if child is not None:
            child["path"] = scope["path"].rstrip("/") + "/"  # the MCP endpoint is the app's "/"
            await self._everywhere(child, receive, send)

    def _repo_caller(self, request: Request) -> RepoCaller:
        """Any live token within its rate limit; which repositories it reaches is decided
        per tool call."""
        principal = check(request, self.state, _credentials(request), None, None)

        def record(repo: str | None, status: int, paths) -> None:
            audit(request, principal, repo, status, paths)
        return RepoCaller(principal, record)

    def _authorize(self, request: Request, name: str) -> None:
        principal = check(request, self.state, _credentials(request), "read", name or None)
        try:
            self.state.registry.get(name)
        except HTTPError as exc:
            audit(request, principal, name, exc.status)
            raise
        audit(request, principal, name, 200)  # tool results are not parsed for paths

    async def _app(self, name: str):
        if self._group is None:
            raise NotFound("MCP is served only while the server runs (its lifespan)",
                           hint="run it with codesift serve")
        async with self._lock:
            if name not in self._apps:
                from .mcp import mcp_http_app
                registry = self.state.registry
                app = mcp_http_app(lambda: registry.using(name), path="/",
                                   host=self.state.config.host,
                                   observe_tool=self.state.metrics.tool)
                await self._group.start(_run_lifespan, app)
                self._apps[name] = app
            return self._apps[name]


class _ExactPath:
    """/mcp itself, without the trailing slash the mount would redirect to. A class, not a
    function: Starlette's Route takes a function for a request handler, an object for ASGI."""

    def __init__(self, mount: McpMount) -> None:
        self.mount = mount

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        child = dict(scope)
        child["root_path"] = scope.get("root_path", "") + MCP_PATH
        await self.mount._everywhere_call(child, receive, send, Request(scope))


class SqlMcpMount:
    """The ASGI app mounted at /sql/mcp: the sql_* tools for every token, each call held to
    the token of the HTTP request that carries it."""

    def __init__(self, state: ServerState, error_response) -> None:
        self.state = state
        self.error_response = error_response
        self._app = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Entered by the server's lifespan. A fresh app each time: the SDK's session
        manager runs once per instance."""
        from .mcp import sql_mcp_http_app
        from .tools_sql import SqlTools
        tools = SqlTools(self.state.sql, caller_of, observe=self.state.metrics.tool)
        app = sql_mcp_http_app(tools, host=self.state.config.host)
        async with app.router.lifespan_context(app):
            self._app = app
            try:
                yield
            finally:
                self._app = None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        child = await _scope_with_caller(scope, receive, send, Request(scope), self._caller,
                                         CALLER_KEY, self._app, self.error_response)
        if child is None:
            return
        rest = get_route_path(scope)
        if rest == SQL_MCP_PATH:  # the exact path, by its own route rather than the mount
            child["root_path"] = scope.get("root_path", "") + SQL_MCP_PATH
            rest = ""
        if not rest.strip("/"):  # the MCP endpoint is the app's "/"
            child["path"] = scope["path"].rstrip("/") + "/"
        await self._app(child, receive, send)

    def _caller(self, request: Request) -> Caller:
        """Any live token within its rate limit (401/429 audited); what it may do with
        which database is decided per tool call."""
        principal = check(request, self.state, _credentials(request), None, None)

        def record(database: str | None, status: int, detail: dict | None) -> None:
            audit(request, principal, None, status, database=database, detail=detail)
        return Caller(principal, record)


async def _scope_with_caller(scope, receive, send, request: Request, find_caller, key: str,
                             app, error_response) -> dict | None:
    """A copy of `scope` carrying the request's caller under `key` (found on a thread:
    token checks read the home), or None once the refusal has been sent: no or a bad token,
    a rate limit, or `app` not running."""
    try:
        caller = await anyio.to_thread.run_sync(find_caller, request)
        if app is None:
            raise NotFound("MCP is served only while the server runs (its lifespan)",
                           hint="run it with codesift serve")
    except CodesiftError as exc:
        await _refuse(error_response, exc, scope, receive, send)
        return None
    child = dict(scope)
    child["state"] = {**scope.get("state", {}), key: caller}
    return child


def caller_of(ctx) -> Caller:
    """The Caller SqlMcpMount put in the scope of the HTTP request carrying this call."""
    return _scoped(ctx, CALLER_KEY)


def repo_caller_of(ctx) -> RepoCaller:
    """The RepoCaller McpMount put in the scope of the /mcp request carrying this call."""
    return _scoped(ctx, REPO_CALLER_KEY)


def _scoped(ctx, key: str):
    try:
        request = ctx.request_context.request
    except (AttributeError, ValueError):  # no request: not called over HTTP
        request = None
    caller = getattr(request, "scope", {}).get("state", {}).get(key)
    if caller is None:  # not through a mount that checked a token: refuse, never serve
        raise Unauthorized("this MCP endpoint needs an API token",
                           hint="send Authorization: Bearer <token> (codesift token create)")
    return caller


def _credentials(request: Request) -> HTTPAuthorizationCredentials | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return HTTPAuthorizationCredentials(scheme=scheme, credentials=token.strip())
    return None


async def _refuse(error_response, exc: CodesiftError, scope, receive, send) -> None:
    headers = {"WWW-Authenticate": "Bearer"} if status_of(exc) == 401 else None
    if getattr(exc, "retry_after", None):
        headers = {"Retry-After": str(exc.retry_after)}
    response = error_response(status_of(exc), str(exc), exc.hint, headers)
    await response(scope, receive, send)


async def _run_lifespan(app, *, task_status) -> None:
    async with app.router.lifespan_context(app):
        task_status.started()
        await anyio.sleep_forever()
