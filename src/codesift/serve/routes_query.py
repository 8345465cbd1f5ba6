"""HTTP routes that read one repository's index: search, graph queries, the repo map, file
ranges (confined and redacted) and status (context and answers: routes_ask.py).
"""

# Every route holds the repository's Index for the length of the call (Registry.using) and
# writes the paths it returned to the audit log under the caller's token.

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from ..graph.query import DEFAULT_MIN_CONFIDENCE, MAX_DEPTH
from .deps import ReadsRepo, RepoName, SignedIn, State, audit
from .http_errors import NotFound
from .paths import inside, repo_relative
from .schemas import (
    MAX_FILE_LINES,
    MAX_GRAPH_RESULTS,
    MAX_MAP_BUDGET,
    MAX_QUERY_CHARS,
    FileOut,
    GraphOut,
    MapOut,
    NodeOut,
    PathOut,
    SearchAllIn,
    SearchAllOut,
    SearchIn,
    SearchOut,
    StatusOut,
    error_responses,
)

router = APIRouter(tags=["retrieval"])
READ_ERRORS = error_responses(400, 404, 409)
Symbol = Annotated[str, Query(min_length=1, max_length=1000, pattern=r"\S",
                              description="A qualified name, a suffix, a bare name or path:line.")]
Confidence = Annotated[float, Query(ge=0.0, le=1.0, allow_inf_nan=False,
                                    description="Leave out edges resolved less surely.")]
Depth = Annotated[int, Query(ge=1, le=MAX_DEPTH)]
Focus = Annotated[list[Annotated[str, Query(max_length=1000)]], Query(max_length=20)]
Limit = Annotated[int, Query(ge=1, le=MAX_GRAPH_RESULTS, description="Most results returned.")]
# relation in the URL -> (GraphQueries method, whether it walks more than one hop)
RELATIONS: dict[str, tuple[str, bool]] = {
    "callers": ("callers", True), "callees": ("callees", True), "refs": ("references", False),
    "members": ("members", False), "subclasses": ("subclasses", True),
    "implementations": ("implementations", False)}


@router.post("/repos/{name}/search", response_model=SearchOut,
             responses=error_responses(400, 404, 409, 413))
def search(name: RepoName, body: SearchIn, request: Request, state: State,
           *, principal: ReadsRepo):
    """Hybrid search (lexical + identifiers + symbols + stack frames + dense): best first."""
    with state.registry.using(name) as index:
        hits = index.search(body.query, k=body.k, languages=tuple(body.languages),
                            path=body.path, kinds=tuple(body.kinds),
                            exclude_tests=body.exclude_tests, files=body.files)
    audit(request, principal, name, 200, [h.path for h in hits])
    return {"query": body.query, "hits": [h.to_dict() for h in hits]}


@router.post("/search", response_model=SearchAllOut, responses=error_responses(400, 404, 413))
def search_all(body: SearchAllIn, request: Request, state: State, *, principal: SignedIn):
    """One search over every repository the token may read (or those in `repos`): each hit
    names its repository; a repository that fails or misses the deadline is listed in
    `repos` with why, and the result is marked `partial`."""
    from .fanout import SearchRequest, search_everywhere
    filters = {"languages": tuple(body.languages), "path": body.path, "kinds": tuple(body.kinds),
               "exclude_tests": body.exclude_tests, "files": body.files}
    result = search_everywhere(state, principal, SearchRequest(
        body.query, body.k, filters, tuple(body.repos),
        None if body.deadline_ms is None else body.deadline_ms / 1000))
    audit(request, principal, None, 200, [f"{h.repo}:{h.hit.path}" for h in result.hits])
    return result.to_dict()


@router.get("/repos/{name}/graph/path", response_model=PathOut, responses=READ_ERRORS)
def call_path(name: RepoName, source: Symbol, target: Symbol, request: Request, state: State,
              max_depth: Depth = 6, min_confidence: Confidence = DEFAULT_MIN_CONFIDENCE,
              *, principal: ReadsRepo):
    """The shortest call path from SOURCE to TARGET ([] when there is none)."""
    with state.registry.using(name) as index:
        graph = index.graph()
        hits = graph.path(graph.find(source), graph.find(target), max_depth=max_depth,
                          min_confidence=min_confidence)
    audit(request, principal, name, 200, [h.node.path for h in hits])
    return {"source": source, "target": target, "results": [h.to_dict() for h in hits]}


@router.get("/repos/{name}/graph/defs", response_model=list[NodeOut], responses=READ_ERRORS)
def definitions(name: RepoName, symbol: Symbol, request: Request, state: State,
                *, principal: ReadsRepo):
    """Every definition the name denotes."""
    with state.registry.using(name) as index:
        nodes = index.graph().find(symbol)
    audit(request, principal, name, 200, [n.path for n in nodes])
    return [n.to_dict() for n in nodes]


@router.get("/repos/{name}/graph/{relation}", response_model=GraphOut, responses=READ_ERRORS)
def graph(name: RepoName, relation: Literal["callers", "callees", "refs", "members",
                                            "subclasses", "implementations"],
          symbol: Symbol, request: Request, state: State, depth: Depth = 1,
          min_confidence: Confidence = DEFAULT_MIN_CONFIDENCE, limit: Limit = 200,
          *, principal: ReadsRepo):
    """Callers, callees, references, members, subclasses or implementations of SYMBOL
    (`depth` applies to callers, callees and subclasses)."""
    method, walks = RELATIONS[relation]
    with state.registry.using(name) as index:
        queries = index.graph()
        roots = queries.find(symbol)
        extra = {"depth": depth} if walks else {}
        hits = getattr(queries, method)(roots, min_confidence=min_confidence, **extra)
    shown = hits[:limit]
    audit(request, principal, name, 200, [r.path for r in roots] + [h.node.path for h in shown])
    return {"query": relation, "symbol": symbol, "roots": [r.to_dict() for r in roots],
            "results": [h.to_dict() for h in shown], "truncated": len(hits) > limit}


@router.get("/repos/{name}/map", response_model=MapOut, responses=READ_ERRORS)
def repo_map(name: RepoName, request: Request, state: State,
             budget: Annotated[int, Query(ge=1, le=MAX_MAP_BUDGET)] = 1024,
             focus: Focus = [],  # noqa: B006 (FastAPI copies defaults)
             query: Annotated[str | None, Query(max_length=MAX_QUERY_CHARS)] = None,
             *, principal: ReadsRepo):
    """The most important definitions (PageRank over the code graph) as a file tree of
    signatures fitted to `budget` tokens, centred on `focus` and `query` when given."""
    with state.registry.using(name) as index:
        result = index.repo_map(budget, focus=focus, query=query)
    audit(request, principal, name, 200, [f.path for f in result.files])
    return result.to_dict()


@router.get("/repos/{name}/files", response_model=FileOut,
            responses=error_responses(400, 404, 409))
def read_file(name: RepoName, request: Request, state: State,
              path: Annotated[str, Query(min_length=1, max_length=4096,
                                         description="Repo-relative, as search results print it.")],
              start: Annotated[int, Query(ge=1, le=10**9)] = 1,
              end: Annotated[int | None, Query(ge=1, le=10**9)] = None,
              *, principal: ReadsRepo):
    """Lines start..end (1-based, inclusive) of a file the index holds, as it is on disk now,
    secrets redacted. Paths are confined to the repository: absolute paths, `..`, encoded
    traversal and symlinks leading outside are refused; at most MAX_FILE_LINES lines."""
    from .reading import FileReader
    rel = repo_relative(path)
    last = start + MAX_FILE_LINES - 1 if end is None else min(end, start + MAX_FILE_LINES - 1)
    with state.registry.using(name) as index:
        store = index.store()
        if rel not in store.file_info([rel]):
            raise NotFound(f"{rel} is not a file in the index of {name}",
                           hint="use a path a search returned; if the file is new, re-index")
        inside(index.root, rel)
        reader = FileReader(index.root, store, max_file_bytes=index.settings.max_file_bytes,
                            redact_secrets=index.settings.redact_secrets)
        excerpt = reader.read(rel, start, last)
    audit(request, principal, name, 200, [rel])
    wanted = excerpt.total_lines if end is None else min(end, excerpt.total_lines)
    return {"path": rel, "start_line": excerpt.start_line, "end_line": excerpt.end_line,
            "total_lines": excerpt.total_lines, "text": "\n".join(excerpt.lines),
            "redactions": excerpt.redactions, "truncated": excerpt.end_line < wanted}


@router.get("/repos/{name}/status", response_model=StatusOut, responses=error_responses(404))
def status(name: RepoName, state: State, *, principal: ReadsRepo):
    """What the index holds (files, chunks, vectors, graph) and the latest jobs."""
    repo = state.registry.get(name)
    with state.registry.using(name) as index:
        info = index.status() if index.exists else None
    return {"repo": name, "path": repo.path, "indexed": info is not None, "index": info,
            "jobs": [j.to_dict() for j in state.jobs.for_repo(name, 5)]}
