"""The HTTP API: `create_app(home, config)` builds a FastAPI app serving many repositories,
each with its own index, behind API tokens; `codesift serve` runs it with uvicorn.
"""

# The app is a thin adapter: routes (routes_admin.py, routes_query.py) call the library
# through the Registry, all state hangs off app.state.codesift (nothing global), and every
# error, the library's included, leaves as one JSON body {"message", "hint"} with the status
# of http_errors.status_of. The OpenAPI document FastAPI generates is the contract; the
# tests run schemathesis against it.

from __future__ import annotations

import logging
import os
import sqlite3
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.routing import Route

from ..errors import CodesiftError
from . import observe, routes_admin, routes_ask, routes_query, routes_sql
from .auth import AuditLog, RateLimiter, TokenStore
from .deps import ServerConfig, ServerState, State
from .home import HomeDB, default_home
from .http_errors import TooManyRequests, Unauthorized, status_of
from .jobs import JobRunner, JobStore
from .mcp_mount import MCP_PATH, SQL_MCP_PATH, McpMount, SqlMcpMount
from .metrics import Metrics
from .registry import Registry
from .schemas import Health, Ready
from .sql_service import SqlService
from .watching import WatchSet

log = logging.getLogger(__name__)
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")
BODY_LIMIT_HINT = ("send a smaller request body: for a query, the issue and the error with its "
                   "stack trace rather than whole logs (the server's --max-body sets the limit)")
DESCRIPTION = """\
Search, graph queries, repo maps and file ranges over codesift indexes, many repositories
per server; text-to-SQL (`/sql/...`) over the databases of the server's catalog. Send `Authorization: Bearer <token>` (tokens come from `codesift token create`);
every error is `{"message": ..., "hint": ...}`."""


def create_app(home: str | os.PathLike | None = None,
               config: ServerConfig | None = None) -> FastAPI:
    """The API over the server home `home` (default $CODESIFT_HOME or ~/.codesift-server).
    Index jobs run only while the app's lifespan is running (uvicorn, `with TestClient`)."""
    config = config or ServerConfig()
    state = _build_state(HomeDB(home or default_home()), config)
    mcp = McpMount(state, _error)
    sql_mcp = SqlMcpMount(state, _error)
    watchers = WatchSet(state.registry, state.metrics, poll_seconds=config.job_poll_seconds) \
        if config.watch else None

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        state.db.lock_server()
        state.runner.start()
        if watchers is not None:
            watchers.start()
        try:
            async with mcp.running(), sql_mcp.running():
                yield
        finally:
            if watchers is not None:
                await anyio.to_thread.run_sync(watchers.stop)
            # A running job stops at its next batch and is resumed by the next start.
            await anyio.to_thread.run_sync(state.runner.stop)
            state.fanout.shutdown(wait=False, cancel_futures=True)
            state.registry.close()
            state.sql.close()
            state.db.unlock_server()

    app = FastAPI(title="codesift", version=_version(), description=DESCRIPTION,
                  lifespan=lifespan)
    app.state.codesift = state
    app.state.watchers = watchers
    _add_error_handlers(app)
    _add_health(app)
    app.include_router(routes_admin.router)
    app.include_router(routes_query.router)
    app.include_router(routes_ask.router)
    app.include_router(routes_sql.router)
    app.include_router(observe.router)
    # /mcp (every repository) and /mcp/{name}: not in the OpenAPI document (they speak MCP).
    # The route takes the exact path, which the mount alone would redirect to /mcp/.
    app.router.routes.append(Route(MCP_PATH, mcp.exact(), include_in_schema=False))
    app.mount(MCP_PATH, mcp)
    # The sql_* tools, for every token within its scope. The route takes the exact path,
    # which the mount alone would answer with a redirect to /sql/mcp/.
    app.router.routes.append(Route(SQL_MCP_PATH, sql_mcp, include_in_schema=False))
    app.mount(SQL_MCP_PATH, sql_mcp)
    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes)
    if not config.auth:
        # Without tokens only Host headers naming loopback get in: a web page that
        # rebinds its own DNS name to 127.0.0.1 cannot talk to the server.
        app.add_middleware(TrustedHostMiddleware,
                           allowed_hosts=[*LOOPBACK_NAMES, config.host, "testserver"])
    app.add_middleware(observe.RequestTimer, metrics=state.metrics)  # outermost: times all
    return app


class BodyLimit:
    """413 for a request body over `max_bytes`, as the same JSON error as every other.

    A declared Content-Length is refused before anything is read; a chunked body is counted
    as it arrives and cut off at the limit (FastAPI re-raises an HTTPException from
    `receive`, so it reaches the app's handler). FastAPI's own max_body_size answers in
    plain text from outside the exception handlers, hence this."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            response = _error(413, f"request body of {int(declared):,} bytes is over the "
                                   f"{self.max_bytes:,} allowed", BODY_LIMIT_HINT)
            return await response(scope, receive, send)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise StarletteHTTPException(413, f"request body over the {self.max_bytes:,} "
                                                  "bytes allowed")
            return message

        await self.app(scope, counted, send)


def _build_state(db: HomeDB, config: ServerConfig) -> ServerState:
    metrics = Metrics()
    registry = Registry(db, on_open=observe.on_open(metrics))
    jobs = JobStore(db)
    runner = JobRunner(jobs, registry, poll_seconds=config.job_poll_seconds,
                       on_done=lambda name, index: observe.record_size(metrics, name, index))
    return ServerState(config=config, db=db, tokens=TokenStore(db), registry=registry,
                       jobs=jobs, runner=runner, limiter=RateLimiter(config.rate, config.burst),
                       audit=AuditLog(db), metrics=metrics,
                       sql=SqlService(db.home, config.sql))


def _error(status: int, message: str, hint: str = "", headers: dict | None = None,
           **extra) -> JSONResponse:
    return JSONResponse({"message": message, "hint": hint, **extra}, status_code=status,
                        headers=headers)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CodesiftError)
    async def library_error(request: Request, exc: CodesiftError) -> JSONResponse:
        observe.count_error(request, exc)
        headers = {}
        if isinstance(exc, Unauthorized):
            headers["WWW-Authenticate"] = "Bearer"
        if isinstance(exc, TooManyRequests):
            headers["Retry-After"] = str(exc.retry_after)
        status = status_of(exc)
        if status >= 500:
            log.error("%s %s: %s", request.method, request.url.path, exc)
        return _error(status, str(exc), exc.hint, headers or None)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        observe.count_error(request, exc)
        problems = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")),
                     "type": str(e.get("type", ""))} for e in exc.errors()]
        first = problems[0] if problems else {"loc": [], "msg": "invalid request"}
        where = ".".join(first["loc"][1:] or first["loc"])
        return _error(422, f"invalid request: {where}: {first['msg']}".replace(": :", ":"),
                      "see the parameter limits in /docs", errors=problems)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        observe.count_error(request, exc)
        hint = {404: "see /docs for the endpoints", 405: "see /docs for the methods allowed",
                413: BODY_LIMIT_HINT}.get(exc.status_code, "")
        return _error(exc.status_code, str(exc.detail), hint, getattr(exc, "headers", None))

    @app.exception_handler(sqlite3.DatabaseError)
    async def database_error(request: Request, exc: sqlite3.DatabaseError) -> JSONResponse:
        observe.count_error(request, exc)
        log.error("%s %s: database error: %s", request.method, request.url.path, exc)
        return _error(500, f"an index could not be read ({exc})",
                      "run codesift status --check on the repository, or rebuild its index")

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> JSONResponse:
        # Starlette logs the traceback; the client gets one line, never the traceback.
        observe.count_error(request, exc)
        return _error(500, f"internal error ({type(exc).__name__})",
                      "this is a bug in codesift: the server's log has the details")


def _add_health(app: FastAPI) -> None:
    @app.get("/healthz", response_model=Health, tags=["server"])
    def healthz():
        """Liveness: the process answers. No token needed."""
        return {"status": "ok"}

    @app.get("/readyz", response_model=Ready, tags=["server"],
             responses={503: {"model": Ready, "description": "Not ready: the job worker is "
                                                               "not running"}})
    def readyz(state: State):
        """Readiness: the home database answers and the job worker runs. No token needed."""
        body = {"ready": state.runner.alive, "jobs_worker": state.runner.alive,
                "jobs_queued": state.jobs.count("queued"),
                "jobs_running": state.jobs.count("running"),
                "open_streams": state.streams.open, "answers_running": state.answering.open}
        return body if body["ready"] else JSONResponse(body, status_code=503)


def _version() -> str:
    try:
        return version("codesift")
    except PackageNotFoundError:  # running from a source tree
        return "0"
