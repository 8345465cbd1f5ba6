"""What every HTTP route depends on: the server's state (held by the app, never global) and
the check that authenticates a request, rate-limits it and holds it to its token's scope.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from fastapi import Path as PathParam
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..retrieve.federate import DEFAULT_DEADLINE_S, DEFAULT_MERGE
from .auth import ANONYMOUS, AuditLog, Principal, RateLimiter, TokenStore
from .bounds import SqlBounds
from .home import HomeDB
from .http_errors import Forbidden, HTTPError, TooManyRequests, Unauthorized
from .jobs import JobRunner, JobStore
from .metrics import Metrics
from .registry import Registry
from .schemas import MAX_BODY_BYTES
from .sql_service import SqlService

REPO_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
RepoName = Annotated[str, PathParam(pattern=REPO_NAME_PATTERN,
                                    description="A registered repository.")]
DatabaseName = Annotated[str, PathParam(pattern=REPO_NAME_PATTERN,
                                        description="A database of the server's SQL catalog.")]


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """How a server runs; `codesift serve` flags map onto it."""

    auth: bool = True  # False only with --no-auth, which only loopback allows
    allowed_roots: tuple[Path, ...] = ()  # where POST /repos may point; () = nowhere
    rate: float = 20.0  # requests per second per token; <= 0 switches limiting off
    burst: int = 60
    max_body_bytes: int = MAX_BODY_BYTES
    host: str = "127.0.0.1"  # the address served on (the MCP app's Host-header check)
    stream_poll_seconds: float = 0.25
    job_poll_seconds: float = 1.0  # also how often --watch looks for new repositories
    watch: bool = False  # re-index each repository's changes as they happen (--watch)
    sql: SqlBounds = SqlBounds()  # rows, timeout and model rounds of a served SQL question
    search_deadline_s: float = DEFAULT_DEADLINE_S  # POST /search: wait for each repository
    merge: str = DEFAULT_MERGE  # how POST /search merges the repositories' rankings


class StreamCount:
    """How many of something run now (event streams, answers): one left behind by a vanished
    client shows here."""

    def __init__(self) -> None:
        self._n = 0
        self._lock = threading.Lock()

    def __enter__(self) -> StreamCount:
        with self._lock:
            self._n += 1
        return self

    def __exit__(self, *exc) -> None:
        with self._lock:
            self._n -= 1

    @property
    def open(self) -> int:
        return self._n


@dataclass(frozen=True, slots=True)
class ServerState:
    config: ServerConfig
    db: HomeDB
    tokens: TokenStore
    registry: Registry
    jobs: JobStore
    runner: JobRunner
    limiter: RateLimiter
    audit: AuditLog
    sql: SqlService
    streams: StreamCount = field(default_factory=StreamCount)
    answering: StreamCount = field(default_factory=StreamCount)
    metrics: Metrics = field(default_factory=Metrics)
    # POST /search asks the repositories on these workers, one per core: more would only
    # queue on the GIL and the cores, and a busy repository gives its worker back at the
    # deadline (Registry.using's wait).
    fanout: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(
        max_workers=os.cpu_count() or 1, thread_name_prefix="codesift-fanout"))


def state_of(request: Request) -> ServerState:
    return request.app.state.codesift


State = Annotated[ServerState, Depends(state_of)]
bearer = HTTPBearer(auto_error=False, scheme_name="token",
                    description="An API token from `codesift token create`.")


def client_of(request: Request) -> str | None:
    return request.client.host if request.client else None


def audit(request: Request, principal: Principal | None, repo: str | None, status: int,
          paths: Iterable[str] = (), *, database: str | None = None,
          detail: dict | None = None) -> None:
    state_of(request).audit.record(
        token_id=principal.token_id if principal else None, client=client_of(request),
        method=request.method, endpoint=request.url.path, repo=repo, status=status, paths=paths,
        database=database, detail=detail)


def _authenticate(request: Request, state: ServerState,
                  credentials: HTTPAuthorizationCredentials | None) -> Principal:
    if not state.config.auth:
        return ANONYMOUS
    if credentials is None:
        raise Unauthorized("this server needs an API token",
                           hint="send Authorization: Bearer <token> (codesift token create)")
    principal = state.tokens.authenticate(credentials.credentials)
    if principal is None:
        raise Unauthorized("unknown or revoked API token",
                           hint="ask the server's admin for a token (codesift token list)")
    return principal


def check(request: Request, state: ServerState, credentials: HTTPAuthorizationCredentials | None,
          action: str | None, repo: str | None) -> Principal:
    """The principal allowed `action` on `repo` (None: the whole server; action None: any
    live token), or an HTTPError; every refusal is written to the audit log."""
    principal = None
    try:
        principal = _authenticate(request, state, credentials)
        key = principal.token_id if state.config.auth else f"client:{client_of(request)}"
        wait = state.limiter.take(key)
        if wait:
            raise TooManyRequests(f"rate limit of {state.config.rate:g} requests/s exceeded",
                                  hint=f"retry after {wait} s", retry_after=wait)
        if action is not None:
            require(principal, action, repo)
    except HTTPError as exc:
        audit(request, principal, repo, exc.status)
        raise
    return principal


def require(principal: Principal, action: str, repo: str | None) -> None:
    if not principal.scope.allows(action, repo):
        where = f"repository {repo!r}" if repo else "this server"
        raise Forbidden(f"token {principal.token_id} may not {action} {where}",
                        hint="ask for a token with that scope (codesift token create "
                             f"--repo ... --action {action})")



Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def on_repo(action: str):
    """A dependency: the principal allowed `action` on the route's {name} repository."""
    def dependency(request: Request, name: RepoName, state: State,
                   credentials: Credentials) -> Principal:
        return check(request, state, credentials, action, name)
    return Depends(dependency)


def on_server(action: str):
    """A dependency: the principal allowed `action` on the whole server."""
    def dependency(request: Request, state: State, credentials: Credentials) -> Principal:
        return check(request, state, credentials, action, None)
    return Depends(dependency)


def signed_in():
    """A dependency: any authenticated principal (what it may see is filtered by scope)."""
    def dependency(request: Request, state: State, credentials: Credentials) -> Principal:
        return check(request, state, credentials, None, None)
    return Depends(dependency)


# What a route's `principal` parameter says it needs (keyword-only in the signatures).
SignedIn = Annotated[Principal, signed_in()]
ReadsRepo = Annotated[Principal, on_repo("read")]
IndexesRepo = Annotated[Principal, on_repo("index")]
AdminsRepo = Annotated[Principal, on_repo("admin")]
AdminsServer = Annotated[Principal, on_server("admin")]
