"""HTTP routes for `codesift sql` served: the databases a token may read, a database's
learned schema, a question's context, and a question answered with checked SQL (and rows).
"""

# Thin: the SQL service (sql_service.py) decides what the token may do with which database,
# keeps the bounds and writes the audit log; a route turns its request into a Caller and
# its result into the JSON `codesift sql ... --json` prints. A database the token is not
# granted is refused (403) before anyone looks whether it exists, as a repository is.

from __future__ import annotations

from fastapi import APIRouter, Request

from .auth import Principal
from .deps import DatabaseName, SignedIn, State, audit
from .schemas import error_responses
from .schemas_sql import (
    SqlContextIn,
    SqlContextOut,
    SqlDatabaseOut,
    SqlQueryIn,
    SqlQueryOut,
    SqlSchemaOut,
)
from .sql_service import Caller

router = APIRouter(tags=["sql"])


def _caller(request: Request, principal: Principal) -> Caller:
    def record(database: str | None, status: int, detail: dict | None) -> None:
        audit(request, principal, None, status, database=database, detail=detail)
    return Caller(principal, record)


@router.get("/sql/databases", response_model=list[SqlDatabaseOut], responses=error_responses())
def list_databases(request: Request, state: State, *, principal: SignedIn):
    """The databases of the server's SQL catalog this token may read (sql:read), with what
    is learned about each; passwords in URLs shown as ***."""
    from ..sql.shapes import entry_dict
    return [entry_dict(e) for e in state.sql.databases(_caller(request, principal))]


@router.get("/sql/databases/{name}/schema", response_model=SqlSchemaOut,
            responses=error_responses(404, 409))
def database_schema(name: DatabaseName, request: Request, state: State,
                    *, principal: SignedIn):
    """The learned schema (sql:read): tables and views, columns with types, keys, comments
    and sample values, foreign keys."""
    from ..sql.shapes import schema_dict
    return schema_dict(state.sql.schema(_caller(request, principal), name))


@router.post("/sql/context", response_model=SqlContextOut, responses=error_responses(404, 409))
def sql_context(body: SqlContextIn, request: Request, state: State, *, principal: SignedIn):
    """What the model would be sent for QUESTION (sql:read): the linked tables as CREATE
    TABLE text, the closest stored examples and docs within `budget` tokens, and the
    messages themselves. No LLM is called."""
    from ..sql.generate import messages_for
    ctx = state.sql.context(_caller(request, principal), body.question,
                            database=body.database, budget=body.budget)
    return {**ctx.to_dict(), "messages": messages_for(ctx)}


@router.post("/sql/query", response_model=SqlQueryOut, response_model_exclude_unset=True,
             responses=error_responses(404, 409, 502))
def sql_query(body: SqlQueryIn, request: Request, state: State, *, principal: SignedIn):
    """SQL for QUESTION from the server's LLM (sql:query), checked (parses, names exist,
    read-only, EXPLAIN) and corrected; with `run`, executed read-only within the server's
    row limit and timeout. `ok` false: no round passed the checks, nothing ran. 409 when
    the server has no LLM configured (POST /sql/context still works). Written to the audit
    log: who asked what, the SQL, whether it ran, the rows and the outcome."""
    with state.answering:
        served = state.sql.query(_caller(request, principal), body.question,
                                 database=body.database, run=body.run,
                                 max_rounds=body.max_rounds, row_limit=body.row_limit,
                                 budget=body.budget)
    return served.to_dict()
