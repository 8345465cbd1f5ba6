"""MCP over the HTTP server: /mcp/{name} is that repository's MCP server (serve/mcp.py,
streamable HTTP), behind the same tokens, scopes, rate limits and audit as the REST API.
"""

# serve/mcp.py builds one MCP app per repository, built on first use over the Registry (each
# tool call borrows the repository's shared Index, taking its turn like a REST request, and
# follows rebuilds). Each app needs its lifespan (the SDK's session manager) running: the
# server's lifespan holds a task group and each MCP app's lifespan runs as a task in it
# until shutdown, so it is entered and left in the same task.

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi.security import HTTPAuthorizationCredentials
from starlette.requests import Request
from starlette.routing import get_route_path

from ..errors import CodesiftError
from .deps import ServerState, audit, check
from .http_errors import HTTPError, NotFound, status_of


class McpMount:
    """The ASGI app mounted at /mcp."""

    def __init__(self, state: ServerState, error_response) -> None:
        self.state = state
        self.error_response = error_response  # (status, message, hint, headers) -> Response
        self._apps: dict[str, object] = {}
        self._group: anyio.abc.TaskGroup | None = None
        self._lock = anyio.Lock()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Entered by the server's lifespan: MCP apps can start while it runs."""
        async with anyio.create_task_group() as group:
            self._group = group
            try:
                yield
            finally:
                self._group = None
                group.cancel_scope.cancel()
        self._apps.clear()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        rest = get_route_path(scope)  # "/<name>/..." below the mount
        name, _, tail = rest.lstrip("/").partition("/")
        request = Request(scope)
        try:
            await anyio.to_thread.run_sync(self._authorize, request, name)
            app = await self._app(name)
        except CodesiftError as exc:
            headers = {"WWW-Authenticate": "Bearer"} if status_of(exc) == 401 else None
            if getattr(exc, "retry_after", None):
                headers = {"Retry-After": str(exc.retry_after)}
            response = self.error_response(status_of(exc), str(exc), exc.hint, headers)
            return await response(scope, receive, send)
        child = dict(scope)
        child["root_path"] = scope.get("root_path", "") + f"/{name}"
        if not tail:  # the MCP endpoint is the app's "/"
            child["path"] = scope["path"].rstrip("/") + "/"
        await app(child, receive, send)

    def _authorize(self, request: Request, name: str) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        credentials = HTTPAuthorizationCredentials(scheme=scheme, credentials=token.strip()) \
            if scheme.lower() == "bearer" and token.strip() else None
        principal = check(request, self.state, credentials, "read", name or None)
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


async def _run_lifespan(app, *, task_status) -> None:
    async with app.router.lifespan_context(app):
        task_status.started()
        await anyio.sleep_forever()
