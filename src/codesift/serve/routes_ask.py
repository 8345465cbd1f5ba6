"""HTTP routes for questions: /context (the packed code an answer needs, with citations) and
/ask (a grounded answer from the configured LLM, streamed as server-sent events).
"""

# An answer takes seconds and the repository's shared Index takes one request at a time, so
# only the context is packed on it; the LLM call and the answer's checks run on a worker
# thread with an Index of their own. Deltas cross to the event loop through an asyncio
# queue. When the client goes away the stream's generator is cancelled at once: it flags the
# worker (the next delta stops it) and closes the LLM client (no retry, no further request).
# A read already blocked on a silent LLM cannot be interrupted from outside the llm/ client,
# so that worker ends when the read times out (llm_timeout); it is a daemon thread and
# /readyz counts it (answers_running).

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from ..errors import CodesiftError
from .deps import ReadsRepo, RepoName, ServerState, State, audit
from .registry import Repo
from .schemas import AskIn, ContextIn, ContextOut, error_responses

log = logging.getLogger(__name__)
router = APIRouter(tags=["questions"])


@router.post("/repos/{name}/context", response_model=ContextOut,
             responses=error_responses(404, 409))
def context(name: RepoName, body: ContextIn, request: Request, state: State,
            *, principal: ReadsRepo):
    """The most useful lines of the best hits for QUESTION, packed into `budget` tokens with
    `path:start-end` citations: what an agent or an LLM needs to answer it."""
    with state.registry.using(name) as index:
        packed = index.context(body.question, body.budget, k=body.k)
    audit(request, principal, name, 200, [c.path for c in packed.citations])
    return packed.to_dict()


class _Cancelled(Exception):
    """Raised in the worker when the client has gone."""


@dataclass
class _Answering:
    """One answer in flight: what was prepared, the LLM client, and the way back."""

    repo: Repo
    prepared: Any  # ask.Prepared
    client: Any  # llm.LLMClient
    gone: threading.Event = field(default_factory=threading.Event)

    def cancel(self) -> None:
        self.gone.set()
        self.client.close()  # no retry or fallback request after the client has gone


def _prepare(name: RepoName, body: AskIn, request: Request, state: State,
             *, principal: ReadsRepo) -> Iterator[_Answering]:
    """Pack the context and build the LLM client before the stream starts, so that what can
    be refused (no index, no LLM configured) is refused with a status, not mid-stream."""
    from ..ask import prepare
    from ..llm import SQLiteCache, client_from_settings
    repo = state.registry.get(name)
    with state.registry.using(name) as index:
        prepared = prepare(index, "ask", body.question, budget=body.budget, k=body.k)
        settings = index.settings
    audit(request, principal, name, 200, [c.path for c in prepared.context.citations])
    own = state.registry.open_fresh(repo)  # the answer's checks and cache, off the shared one
    try:
        client = client_from_settings(settings, cache=SQLiteCache(own.store().db))
    finally:
        own.close()
    run = _Answering(repo, prepared, client)
    try:
        yield run
    finally:
        client.close()


@router.post("/repos/{name}/ask", response_class=EventSourceResponse,
             responses=error_responses(404, 409, streaming=True))
async def ask(run: Annotated[_Answering, Depends(_prepare)], state: State
              ) -> AsyncIterator[ServerSentEvent]:
    """A grounded answer to QUESTION as server-sent events: `context` (citations, tokens),
    then `delta` events with the answer's text as the LLM writes it, then one `answer` (the
    whole answer, its citation and code checks, the index state) or one `error`."""
    context = run.prepared.context
    with state.streams:
        yield ServerSentEvent(event="context", data={
            "citations": [c.to_dict() for c in context.citations], "tokens": context.tokens,
            "budget": context.budget, "supported": run.prepared.supported,
            "note": run.prepared.note})
        queue: asyncio.Queue = asyncio.Queue()
        loop = asyncio.get_running_loop()
        worker = threading.Thread(target=_work, args=(run, state, loop, queue),
                                  name="codesift-answer", daemon=True)
        worker.start()
        try:
            while (item := await queue.get()) is not None:
                yield ServerSentEvent(event=item[0], data=item[1])
        finally:
            run.cancel()  # a no-op once the worker is done; else the client has gone


def _work(run: _Answering, state: ServerState, loop: asyncio.AbstractEventLoop,
          queue: asyncio.Queue) -> None:
    from ..ask import answer

    def put(item) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the event loop is closed: the server is stopping
            run.gone.set()

    def delta(text: str) -> None:
        if run.gone.is_set():
            raise _Cancelled
        put(("delta", {"text": text}))

    with state.answering:
        try:
            with state.registry.open_fresh(run.repo) as index:
                result = answer(index, run.prepared, run.client, on_delta=delta)
            if result.supported:
                state.metrics.cache_lookup("llm", result.cached)
            put(("answer", result.to_dict()))
        except _Cancelled:
            pass
        except CodesiftError as exc:
            if not run.gone.is_set():
                put(("error", {"message": str(exc), "hint": exc.hint}))
        except Exception as exc:  # a bug, or the LLM connection closed under us on cancel
            if not run.gone.is_set():
                log.exception("answer failed")
                put(("error", {"message": f"internal error ({type(exc).__name__})",
                               "hint": "the server's log has the details"}))
        finally:
            run.client.close()
            put(None)
