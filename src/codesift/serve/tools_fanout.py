"""The agent tools over every repository a token may read (the HTTP server's /mcp): search_code
across them all, list_repos, and get_symbol / read_range in a named one. Each returns
compact text plus the same facts as data, like tools.py, every hit naming its repository.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from .auth import Principal
from .bounds import Bounds, fit
from .deps import ServerState
from .fanout import SearchRequest, readable_repos, search_everywhere
from .tools import MAX_K, MAX_OFFSET, ToolOutput, Workspace, check_range, hit_block
from . import tools

Recorder = Callable[[str | None, int, Sequence[str]], None]  # (repo, status, paths)


@dataclass(frozen=True, slots=True)
class RepoCaller:
    """Who asks, and where their calls go in the audit log."""

    principal: Principal
    record: Recorder | None = None

    def audit(self, repo: str | None, status: int, paths: Sequence[str] = ()) -> None:
        if self.record is not None:
            self.record(repo, status, paths)


@dataclass(frozen=True, slots=True)
class FanoutCall:
    state: ServerState
    caller: RepoCaller
    bounds: Bounds = field(default_factory=Bounds)


class FanoutTools:
    """The tools' backend: the server's state, and the caller of each call taken from its
    MCP request context (the token of the HTTP request that carried it)."""

    def __init__(self, state: ServerState, caller_of: Callable[[Any], RepoCaller],
                 bounds: Bounds | None = None,
                 observe: Callable[[str], AbstractContextManager] | None = None) -> None:
        self.state = state
        self.caller_of = caller_of
        self.bounds = bounds or Bounds()
        self._observe = observe or (lambda name: nullcontext())

    def run(self, tool: Callable[..., ToolOutput], /, ctx: Any = None, **arguments) -> ToolOutput:
        with self._observe(tool.__name__):
            return tool(FanoutCall(self.state, self.caller_of(ctx), self.bounds), **arguments)


def search_code(call: FanoutCall, query: str, k: int = 10, offset: int = 0,
                repos: Sequence[str] = (), lang: Sequence[str] = (), path: str | None = None,
                kind: Sequence[str] = (), exclude_tests: bool = False) -> ToolOutput:
    check_range("k", k, 1, MAX_K, "ask for at most 50 hits and page with offset")
    check_range("offset", offset, 0, MAX_OFFSET, "narrow the query or add a path filter")
    filters = {"languages": tuple(lang or ()), "path": path or None,
               "kinds": tuple(kind or ()), "exclude_tests": exclude_tests}
    result = search_everywhere(call.state, call.caller.principal,
                               SearchRequest(query, offset + k, filters, tuple(repos or ())))
    hits = result.hits[offset:]
    call.caller.audit(None, 200, [f"{h.repo}:{h.hit.path}" for h in hits])
    answered = sum(o.status == "ok" for o in result.repos)
    missing = [f"[partial: {o.repo} {o.status}: {o.error}]" for o in result.repos
               if o.status != "ok"]
    shown_query = query if len(query) <= 80 else query[:77] + "..."
    data = {"query": query, "offset": offset, "partial": result.partial,
            "repos": [o.to_dict() for o in result.repos]}
    if not hits:
        past = " past that offset" if offset else ""
        text = (f"no results for {shown_query!r} in {answered} repositories{past}; try other "
                "words, an identifier, or fewer filters")
        return ToolOutput("\n".join([text, *missing]), data | {"hits": []})
    header = "\n".join([f"{len(hits)} results for {shown_query!r} across {answered} "
                        "repositories (best first):", *missing])
    blocks = [hit_block(offset + i, h.hit, repo=h.repo) for i, h in enumerate(hits, start=1)]

    def note(shown: int) -> str:
        return (f"[truncated: results {offset + shown + 1}-{offset + len(hits)} left out by the "
                f"output cap; get them with offset={offset + shown}, or ask for a smaller k]")
    out = fit(header, blocks, call.bounds, note)
    data["hits"] = [h.to_dict() for h in hits[:out.shown]]
    if out.truncated:
        data["next_offset"] = offset + out.shown
    return ToolOutput(out.text, data)


def list_repos(call: FanoutCall) -> ToolOutput:
    names = readable_repos(call.state, call.caller.principal)
    call.caller.audit(None, 200)
    text = (f"{len(names)} repositories: " + ", ".join(names)) if names else \
        "no repositories this token may read"
    return ToolOutput(text, {"repos": names})


def read_range(call: FanoutCall, repo: str, path: str, start_line: int = 1,
               end_line: int | None = None) -> ToolOutput:
    return _in_repo(call, repo, tools.read_range, path=path, start_line=start_line,
                    end_line=end_line)


def get_symbol(call: FanoutCall, repo: str, name: str, include_source: bool = True) -> ToolOutput:
    return _in_repo(call, repo, tools.get_symbol, name=name, include_source=include_source)


def _in_repo(call: FanoutCall, repo: str, tool: Callable[..., ToolOutput],
             **arguments) -> ToolOutput:
    """A one-repository tool of tools.py in `repo`, which the caller must be able to read
    (an unreadable one is answered like one that does not exist)."""
    readable_repos(call.state, call.caller.principal, [repo])
    with call.state.registry.using(repo) as index:
        out = tool(Workspace(index, call.bounds), **arguments)
    call.caller.audit(repo, 200, [arguments["path"]] if "path" in arguments else [])
    return ToolOutput(f"[{repo}] {out.text}", {"repo": repo, **out.data})
