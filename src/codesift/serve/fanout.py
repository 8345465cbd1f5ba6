"""A search over every repository a token may read, for POST /search and the cross-repository
MCP tools: each repository's shared Index is borrowed from the Registry on a fan-out worker
and the rankings are merged (retrieve/federate.py).
"""

# A repository the token may not read is never asked, so it is never returned nor counted
# (not even in `repos` of the result); naming one is answered like naming one that does not
# exist. A repository busy past the deadline (a long request or a re-index holding its
# Index) gives its worker back then and is reported "timeout".

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..retrieve.federate import (NEEDS_EVIDENCE, FederatedResult, RepoAnswer, RepoSearch,
                                answer_of, search_repos)
from .auth import Principal
from .deps import ServerState
from .http_errors import NotFound


@dataclass(frozen=True, slots=True)
class SearchRequest:
    query: str
    k: int = 10
    filters: dict = field(default_factory=dict)  # Index.search's keyword filters
    repos: tuple[str, ...] = ()  # () = every readable repository
    deadline_s: float | None = None  # None: the server's


def readable_repos(state: ServerState, principal: Principal,
                   wanted: Sequence[str] = ()) -> list[str]:
    """The registered repositories `principal` may read, or of those the ones in `wanted`
    (NotFound, worded alike for one absent and one forbidden, when it names another)."""
    names = [r.name for r in state.registry.list() if principal.scope.allows("read", r.name)]
    if not wanted:
        return names
    allowed = set(names)
    for name in wanted:
        if name not in allowed:
            raise NotFound(f"no repository named {name!r} that this token may read",
                           hint="list them with GET /repos")
    return list(dict.fromkeys(wanted))


def search_everywhere(state: ServerState, principal: Principal,
                      request: SearchRequest) -> FederatedResult:
    names = readable_repos(state, principal, request.repos)
    deadline_s = request.deadline_s or state.config.search_deadline_s
    until = time.monotonic() + deadline_s
    searches = {name: _search_of(state, name, request, until) for name in names}
    return search_repos(searches, request.k, pool=state.fanout, query=request.query,
                        deadline_s=deadline_s, how=state.config.merge)


def _search_of(state: ServerState, name: str, request: SearchRequest,
               until: float) -> RepoSearch:
    weigh = state.config.merge in NEEDS_EVIDENCE

    def search() -> RepoAnswer:
        with state.registry.using(name, wait_s=until - time.monotonic()) as index:
            return answer_of(index, request.query, request.k, request.filters, weigh)
    return search
