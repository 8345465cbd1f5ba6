"""The HTTP API's request and response bodies (pydantic), their limits, and the error model
every refusal uses; FastAPI builds the OpenAPI document from these.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..retrieve.query import MAX_QUERY_CHARS

MAX_K = 100  # hits per search over HTTP (the library allows 1000: a CLI user can wait)
# The request body limit (ServerConfig.max_body_bytes, `codesift serve --max-body`) is the
# guard against abuse: 256 KB by default, room for a real issue with its logs pasted (the
# longest of 140 real ones was 24,770 characters). A query field takes whatever that body
# holds, up to the library's own cap, so the two never disagree however --max-body is set.
MAX_BODY_BYTES = 256 * 1024
MAX_SEARCH_DEADLINE_MS = 60_000
MAX_FILE_LINES = 2000  # lines per /files response; ask again for the next range
MAX_MAP_BUDGET = 32_768
MAX_GRAPH_RESULTS = 1000
MAX_CONTEXT_BUDGET = 128_000  # past any model's window: a bigger context cannot be sent
Name = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(min_length=1, max_length=1000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    """Every error: one line saying what went wrong, and what to do about it."""

    message: str
    hint: str = ""
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="For 422: each invalid field, where and why.")


# -- repositories, jobs, tokens ----------------------------------------------------------

class RepoIn(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
                      description="The name used in URLs: /repos/{name}/...")
    path: str = Field(min_length=1, max_length=4096, pattern=r"^/",
                      description="Absolute path of the repository on the server.")
    dense: bool = Field(True, description="Embed code for semantic search (slower to index).")
    index: bool = Field(True, description="Queue a first index job right away.")


class RepoOut(BaseModel):
    name: str
    path: str
    dense: bool
    created_at: float
    job: JobOut | None = Field(None, description="The index job queued with it, if any.")


class IndexIn(Strict):
    rebuild: bool = Field(False, description="Build a fresh index beside the old, then swap.")


class Progress(BaseModel):
    stage: str
    done: int
    total: int


class JobOut(BaseModel):
    id: str
    repo: str
    rebuild: bool
    state: Literal["queued", "running", "done", "failed"]
    progress: Progress
    attempts: int
    message: str | None
    hint: str | None
    summary: dict[str, Any] | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    updated_at: float


class TokenIn(Strict):
    name: str = Field(min_length=1, max_length=100)
    repos: list[Name] = Field(default=[], max_length=100,
                              description='Repository names, or ["*"] for every one.')
    databases: list[Name] = Field(default=[], max_length=100, description=(
        'Databases of the server\'s SQL catalog, or ["*"] for every one (a token needs '
        'repositories, databases or both).'))
    actions: list[Literal["read", "index", "admin", "sql:read", "sql:query"]] | None = Field(
        default=None, min_length=1, max_length=5,
        description="On repositories, read: search/graph/map/files/status; index: + jobs; "
                    "admin: + everything. On databases, sql:read: schemas and contexts; "
                    "sql:query: + SQL written and run. Default: read and/or sql:read.")


class TokenOut(BaseModel):
    id: str
    name: str
    repos: list[str]
    databases: list[str] = []
    actions: list[str]
    created_at: float
    revoked_at: float | None = None
    last_used_at: float | None = None


class NewToken(TokenOut):
    token: str = Field(description="The secret, shown this once: send it as "
                                   "`Authorization: Bearer <token>`.")


# -- retrieval ------------------------------------------------------------------------------

class SearchIn(Strict):
    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, pattern=r"\S",
                       description="A question, an identifier or a pasted error.")
    k: int = Field(10, ge=1, le=MAX_K)
    languages: list[Name] = Field(default=[], max_length=20)
    path: str | None = Field(None, max_length=1000,
                             description="Only paths matching this glob or prefix.")
    kinds: list[Name] = Field(default=[], max_length=20)
    exclude_tests: bool = False
    files: bool = Field(False, description="Aggregate hits to whole files.")


class HitOut(BaseModel):
    path: str
    start_line: int
    end_line: int
    symbol: str
    kind: str
    language: str
    score: float
    is_test: bool
    file_kind: str = Field(description="The file's kind: source, test, docs, example, changelog, "
                                       "locale, config, generated or vendored.")
    sources: list[str]
    snippet: str


class SearchOut(BaseModel):
    query: str
    hits: list[HitOut]


class SearchAllIn(SearchIn):
    repos: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]] = Field(
        default=[], max_length=1000,
        description="Only these repositories (default: every one the token may read).")
    deadline_ms: int | None = Field(
        None, ge=100, le=MAX_SEARCH_DEADLINE_MS,
        description="How long to wait for each repository; one still searching then is left "
                    "out and the result marked partial (default: the server's).")


class RepoHitOut(HitOut):
    repo: str
    repo_score: float = Field(description="The hit's score within its own repository.")


class RepoOutcomeOut(BaseModel):
    repo: str
    status: Literal["ok", "timeout", "error"]
    hits: int
    ms: float
    error: str | None = None


class SearchAllOut(BaseModel):
    query: str
    partial: bool = Field(description="True when a repository failed or missed the deadline: "
                                      "its hits are missing (see repos).")
    hits: list[RepoHitOut]
    repos: list[RepoOutcomeOut]


class NodeOut(BaseModel):
    path: str
    symbol: str
    kind: str
    start_line: int
    end_line: int
    signature: str


class GraphHitOut(NodeOut):
    depth: int
    via: str
    edge: str
    line: int
    confidence: float
    seen_before: bool


class GraphOut(BaseModel):
    query: str
    symbol: str
    roots: list[NodeOut]
    results: list[GraphHitOut]
    truncated: bool = False


class PathOut(BaseModel):
    source: str
    target: str
    results: list[GraphHitOut] = Field(description="The source first (depth 0); [] if none.")


class MapDefinition(BaseModel):
    symbol: str
    kind: str
    signature: str
    start_line: int
    end_line: int
    rank: int | None
    score: float


class MapFileOut(BaseModel):
    path: str
    definitions: list[MapDefinition]


class MapOut(BaseModel):
    budget: int
    tokens: int
    files: list[MapFileOut]
    text: str


class FileOut(BaseModel):
    path: str
    start_line: int
    end_line: int
    total_lines: int
    text: str
    redactions: int = Field(description="Secrets replaced in the text shown.")
    truncated: bool = Field(description=f"More than {MAX_FILE_LINES} lines were asked for.")


class StatusOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    repo: str
    path: str
    indexed: bool
    index: dict[str, Any] | None
    jobs: list[JobOut]


class ContextIn(Strict):
    question: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, pattern=r"\S")
    budget: int | None = Field(None, ge=1, le=MAX_CONTEXT_BUDGET,
                               description="Tokens the context may take (default: the "
                                           "repository's context_budget setting).")
    k: int = Field(20, ge=1, le=MAX_K, description="Search hits the packer draws from.")


class AskIn(ContextIn):
    pass


class CitationOut(BaseModel):
    path: str
    start_line: int
    end_line: int
    symbol: str


class ContextOut(BaseModel):
    question: str
    text: str = Field(description="The packed code, each piece under a path:start-end header.")
    citations: list[CitationOut]
    tokens: int
    budget: int
    tokenizer: str
    items: list[dict[str, Any]] = Field(description="Every item considered and why.")


# -- the server -----------------------------------------------------------------------------

class Health(BaseModel):
    status: Literal["ok"]


class Ready(BaseModel):
    ready: bool
    jobs_worker: bool
    jobs_queued: int
    jobs_running: int
    open_streams: int = Field(description="Server-sent-event streams open now.")
    answers_running: int = Field(description="LLM answers being generated now.")


class AuditOut(BaseModel):
    at: float
    token_id: str | None
    client: str | None
    method: str
    endpoint: str
    repo: str | None
    status: int
    paths: list[str]
    database: str | None = None
    detail: dict[str, Any] | None = Field(None, description=(
        "For SQL calls: question, sql, ran, rows, outcome (and error when it failed)."))


RepoOut.model_rebuild()


_ERROR_TEXT = {400: "Bad input (a path outside the repository, an unusable query)",
               401: "No token, or an unknown or revoked one",
               403: "The token's scope does not cover this repository, database or action",
               404: "No such repository, database, job, token, symbol or file",
               409: "Not possible in the current state (no index yet, name taken, no LLM "
                    "configured)",
               413: "Request body larger than the server allows",
               422: "A field or parameter is invalid or out of range",
               429: "Rate limit exceeded: wait Retry-After seconds",
               502: "The LLM endpoint or a database failed (unreachable, refused, timed out)"}


def error_responses(*codes: int, streaming: bool = False) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route can answer (400, 401, 403, 413, 422
    and 429 always: any request may carry a bad or oversize body, or a bad token).
    A streaming route's errors are still JSON, not its event stream's media type."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in sorted({400, 401, 403, 413, 422, 429, *codes}):
        entry: dict[str, Any] = {"description": _ERROR_TEXT[code]}
        if streaming:
            entry["content"] = {"application/json": {
                "schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        else:
            entry["model"] = ErrorBody
        if code == 429:
            entry["headers"] = {"Retry-After": {"schema": {"type": "integer"},
                                                "description": "Seconds to wait."}}
        out[code] = entry
    return out
