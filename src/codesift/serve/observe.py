"""The HTTP app's side of the metrics: `GET /metrics`, the middleware timing every request
by route template, and the hooks that time retrieval stages and record index sizes.
"""

# Why the route template: a label per raw URL (/repos/a/files?path=...) would grow without
# bound; the template (/repos/{name}/files) is one series per endpoint. A streaming route's
# time is the whole stream's. Who may read /metrics: a token that may read every
# repository ('*'), since the series name every repository and its size.

from __future__ import annotations

import logging
import time

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse

from ..api import Index
from .deps import Credentials, State, audit, check
from .http_errors import Forbidden
from .metrics import Metrics
from .schemas import error_responses

log = logging.getLogger(__name__)
router = APIRouter(tags=["server"])
UNMATCHED = "unmatched"  # the endpoint label of a request no route took (a 404)


@router.get("/metrics", response_class=PlainTextResponse,
            responses={200: {"description": "Prometheus text exposition format",
                             "content": {"text/plain": {"schema": {"type": "string"}}}},
                       # errors stay JSON (error_responses' non-JSON-route form)
                       **error_responses(streaming=True)})
def metrics(request: Request, state: State, credentials: Credentials):
    """Prometheus metrics: request latency by route, retrieval stages, index sizes, re-index
    runs (--watch) and errors by type. Needs a token that may read every repository."""
    principal = check(request, state, credentials, None, None)
    if not principal.scope.allows("read", None):
        audit(request, principal, None, 403)
        raise Forbidden(f"token {principal.token_id} may not read the metrics of every "
                        "repository", hint="use a token made with --repo '*' (any action)")
    body, content_type = state.metrics.render()
    return Response(body, media_type=content_type)


def endpoint_of(scope) -> str:
    """The matched route's template (a mount's prefix: /mcp), else UNMATCHED."""
    return getattr(scope.get("route"), "path", None) or UNMATCHED


class RequestTimer:
    """ASGI middleware: every HTTP request's latency by route template, method and status
    (500 for one that raised)."""

    def __init__(self, app, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 500

        async def send_status(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.observe_request(endpoint_of(scope), scope["method"], status,
                                         time.perf_counter() - started)


def count_error(request: Request, exc: BaseException) -> None:
    """For the app's error handlers: one error of `exc`'s type, where = route template."""
    request.app.state.codesift.metrics.count_error(exc, where=endpoint_of(request.scope))


def on_open(metrics: Metrics):
    """The Registry's hook for each Index it opens: stage timings and index sizes."""
    def opened(name: str, index: Index) -> None:
        index.stage_observer = metrics.observe_stage
        record_size(metrics, name, index)
    return opened


def record_size(metrics: Metrics, name: str, index: Index) -> None:
    try:
        metrics.set_index_size(name, index.status())
    except Exception as exc:  # noqa: BLE001 - not indexed yet, say: the request will tell
        log.debug("no size for %s: %s", name, exc)
