"""HTTP routes that change or watch the server: repositories (register, list, remove), index
jobs (start, list, progress as server-sent events), API tokens and the audit log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from .deps import (
    AdminsRepo,
    AdminsServer,
    Credentials,
    IndexesRepo,
    ReadsRepo,
    RepoName,
    SignedIn,
    State,
    audit,
    check,
    require,
)
from .http_errors import NotFound
from .jobs import Job
from .schemas import (
    AuditOut,
    IndexIn,
    JobOut,
    NewToken,
    RepoIn,
    RepoOut,
    TokenIn,
    TokenOut,
    error_responses,
)

router = APIRouter()
JobId = Annotated[str, Path(min_length=1, max_length=64)]
TokenId = Annotated[str, Path(min_length=1, max_length=64)]


# -- repositories ---------------------------------------------------------------------------

@router.get("/repos", response_model=list[RepoOut], responses=error_responses(), tags=["repos"])
def list_repos(state: State, *, principal: SignedIn):
    """The repositories this token may see."""
    return [r.to_dict() for r in state.registry.list() if principal.scope.sees(r.name)]


@router.post("/repos", status_code=201, response_model=RepoOut, tags=["repos"],
             responses=error_responses(400, 404, 409, 413))
def add_repo(body: RepoIn, request: Request, state: State, *, principal: SignedIn):
    """Register a directory on the server (admin). Only folders under the server's
    --allow-path may be registered over HTTP; a first index job is queued unless index=false."""
    try:
        require(principal, "admin", body.name)
        repo = state.registry.add(body.name, body.path, dense=body.dense,
                                  allowed_roots=state.config.allowed_roots)
    except Exception as exc:
        audit(request, principal, body.name, getattr(exc, "status", 400))
        raise
    job = state.jobs.submit(repo.name, token_id=principal.token_id) if body.index else None
    state.runner.wake()
    audit(request, principal, repo.name, 201, [repo.path])
    return {**repo.to_dict(), "job": job.to_dict() if job else None}


@router.delete("/repos/{name}", response_model=RepoOut, tags=["repos"],
               responses=error_responses(404))
def remove_repo(name: RepoName, request: Request, state: State,
                *, principal: AdminsRepo):
    """Unregister a repository (admin). Its index stays in the repository's folder."""
    repo = state.registry.remove(name)
    audit(request, principal, name, 200)
    return repo.to_dict()


# -- index jobs -----------------------------------------------------------------------------

@router.post("/repos/{name}/index", status_code=202, response_model=JobOut, tags=["jobs"],
             responses=error_responses(404, 413))
def start_index(name: RepoName, request: Request, state: State,
                body: Annotated[IndexIn | None, Body()] = None,
                *, principal: IndexesRepo):
    """Queue an incremental index job (or a rebuild). A job already queued for the
    repository is returned instead of a second one."""
    state.registry.get(name)
    job = state.jobs.submit(name, rebuild=bool(body and body.rebuild),
                            token_id=principal.token_id)
    state.runner.wake()
    audit(request, principal, name, 202)
    return job.to_dict()


@router.get("/repos/{name}/jobs", response_model=list[JobOut], tags=["jobs"],
            responses=error_responses(404))
def list_jobs(name: RepoName, state: State, limit: Annotated[int, Query(ge=1, le=100)] = 20,
              *, principal: ReadsRepo):
    """The repository's latest jobs, newest first."""
    state.registry.get(name)
    return [j.to_dict() for j in state.jobs.for_repo(name, limit)]


def _job_in_scope(job_id: JobId, request: Request, state: State, credentials: Credentials) -> Job:
    principal = check(request, state, credentials, None, None)
    job = state.jobs.get(job_id)
    if job is None:
        raise NotFound(f"no job {job_id!r}",
                       hint="list a repository's jobs: GET /repos/{name}/jobs")
    require(principal, "read", job.repo)
    return job


InScope = Annotated[Job, Depends(_job_in_scope)]


@router.get("/jobs/{job_id}", response_model=JobOut, tags=["jobs"], responses=error_responses(404))
def get_job(job: InScope):
    """A job's state and progress (stage, done, total)."""
    return job.to_dict()


@router.get("/jobs/{job_id}/events", response_class=EventSourceResponse, tags=["jobs"],
            responses=error_responses(404, streaming=True))
async def job_events(job: InScope, state: State) -> AsyncIterator[ServerSentEvent]:
    """The job's progress as server-sent events (`progress`, then one `done` or `failed`),
    ending when the job does."""
    with state.streams:
        last = None
        while True:
            current = state.jobs.get(job.id)
            if current is None:  # cannot happen today: jobs are never deleted
                return
            seen = (current.state, current.stage, current.done, current.total)
            if seen != last:
                last = seen
                kind = current.state if current.finished else "progress"
                yield ServerSentEvent(data=current.to_dict(), event=kind,
                                      id=str(current.updated_at))
            if current.finished:
                return
            await anyio.sleep(state.config.stream_poll_seconds)


# -- tokens and the audit log ---------------------------------------------------------------

@router.get("/tokens", response_model=list[TokenOut], tags=["tokens"], responses=error_responses())
def list_tokens(state: State, include_revoked: bool = False,
                *, principal: AdminsServer):
    """Every token (admin on every repository); never their secrets."""
    return [t.to_dict() for t in state.tokens.list(include_revoked)]


@router.post("/tokens", status_code=201, response_model=NewToken, tags=["tokens"],
             responses=error_responses(400, 413))
def create_token(body: TokenIn, request: Request, state: State,
                 *, principal: AdminsServer):
    """Create a token; its secret is in this response and nowhere else."""
    info, secret = state.tokens.create(body.name, body.repos, body.actions or (),
                                       body.databases)
    audit(request, principal, None, 201)
    return {**info.to_dict(), "token": secret}


@router.delete("/tokens/{token_id}", response_model=TokenOut, tags=["tokens"],
               responses=error_responses(400, 404))
def revoke_token(token_id: TokenId, request: Request,
                 state: State, *, principal: AdminsServer):
    """Revoke a token: the next request carrying it is refused."""
    info = state.tokens.revoke(token_id)
    audit(request, principal, None, 200)
    return info.to_dict()


@router.get("/audit", response_model=list[AuditOut], tags=["tokens"], responses=error_responses())
def read_audit(state: State, token_id: Annotated[str | None, Query(max_length=64)] = None,
               repo: Annotated[str | None, Query(max_length=64)] = None,
               database: Annotated[str | None, Query(max_length=64)] = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100,
               *, principal: AdminsServer):
    """Who retrieved which paths or asked which database what (with the SQL, whether it ran
    and how it ended), and every refused request; newest first."""
    return [e.to_dict() for e in state.audit.entries(token_id=token_id, repo=repo,
                                                     database=database, limit=limit)]
