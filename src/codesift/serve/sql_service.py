"""`codesift sql` as the server serves it, to the HTTP routes and the MCP tools alike: the
catalog in the server home, each call held to the caller's databases and actions, run within
the server's SqlBounds, and written to the audit log (question, SQL, ran, rows, outcome).
"""

# Why one workspace, built on first use: the embedding model (when dense is on) is loaded
# once and its schema vectors cached; a server that never serves SQL never opens sql.db.
# Settings (LLM, tokenizer, dense) come from codesift.toml in the server home and CODESIFT_*
# in the server's environment, read again for each question, so a changed LLM endpoint needs
# no restart (only the embedder is fixed at first use). Retrieval takes a lock (the vector
# cache rewrites one file); the model's rounds and the query itself run outside it, so slow
# questions do not queue behind each other.

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import CodesiftError, DatabaseError, SqlCheckError
from .auth import Principal
from .bounds import SqlBounds
from .http_errors import Conflict, Forbidden, NotFound, status_of

if TYPE_CHECKING:
    from ..config import Settings
    from ..sql.catalog import DatabaseEntry
    from ..sql.context import SqlContext
    from ..sql.model import Schema
    from ..sql.service import Answer, SqlWorkspace

# (database, status, detail) -> None: where a caller's calls are written down.
Recorder = Callable[[str | None, int, dict | None], None]
MAX_AUDIT_SQL = 20_000  # characters of SQL kept in one audit entry


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks, and where their calls go in the audit log (None: not audited, as a local
    stdio MCP server is not)."""

    principal: Principal
    record: Recorder | None = None

    def audit(self, database: str | None, status: int, detail: dict | None = None) -> None:
        if self.record is not None:
            self.record(database, status, detail)


@dataclass(frozen=True, slots=True)
class Served:
    """A served question: the answer, and why running its SQL failed (a timeout, say) when
    it was checked but could not run."""

    answer: Answer
    run_error: CodesiftError | None = None

    def to_dict(self) -> dict:
        from ..sql.shapes import answer_dict
        out = answer_dict(self.answer)
        if self.run_error is not None:
            out["run_error"] = {"message": str(self.run_error), "hint": self.run_error.hint}
        return out


class SqlService:
    """The catalog in `home` (sql.db beside server.db), served within `bounds`; settings
    from `settings_dir`'s codesift.toml (default: the home) and the environment."""

    def __init__(self, home: str | Path, bounds: SqlBounds | None = None, *,
                 settings_dir: str | Path | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.home = Path(home)
        self.bounds = bounds or SqlBounds()
        self.settings_dir = Path(settings_dir) if settings_dir is not None else self.home
        self.env = env
        self._ws: SqlWorkspace | None = None
        self._opening = threading.Lock()
        self._retrieval = threading.Lock()

    # -- plumbing ----------------------------------------------------------------------

    def settings(self) -> Settings:
        from ..config import load_settings
        return load_settings(self.settings_dir, env=self.env)

    def workspace(self) -> SqlWorkspace:
        with self._opening:
            if self._ws is None:
                self._ws = self._open(self.settings())
            return self._ws

    def _open(self, settings: Settings) -> SqlWorkspace:
        from ..sql.catalog import Catalog
        from ..sql.service import SqlWorkspace
        embedder = None
        if settings.dense:
            from ..embed import make_embedder
            from ..embed.base import split_spec
            local = split_spec(settings.embedder)[0] == "local"
            embedder = make_embedder(settings.embedder,
                                     **({"backend": "onnx", "threads": 1} if local else {}))
        return SqlWorkspace(Catalog(self.home), embedder, env=self.env)

    def close(self) -> None:
        with self._opening:
            if self._ws is not None:
                self._ws.catalog.close()
                self._ws = None

    # -- what a caller may see ---------------------------------------------------------

    def databases(self, caller: Caller) -> list[DatabaseEntry]:
        """The catalog's databases the caller may read (none without sql:read)."""
        scope = caller.principal.scope
        if not scope.allows_sql("sql:read", None):
            return []
        return [e for e in self.workspace().catalog.list() if scope.sees_database(e.name)]

    def allow(self, caller: Caller, action: str, database: str | None) -> None:
        """Refused alike whether or not the database exists: a token learns nothing about
        databases beyond its own (as with repositories). A refusal is audited."""
        principal = caller.principal
        if principal.scope.allows_sql(action, database):
            return
        where = f"database {database!r}" if database else "any database"
        caller.audit(database, Forbidden.status)
        raise Forbidden(f"token {principal.token_id} may not {action} {where}",
                        hint="ask for a token with that scope (codesift token create NAME "
                             f"--db {database or 'NAME'} --action {action})")

    def schema(self, caller: Caller, name: str) -> Schema:
        self.allow(caller, "sql:read", name)
        schema = self._guarded(caller, name, None, lambda: self._learned(name))
        caller.audit(name, 200)
        return schema

    def context(self, caller: Caller, question: str, *, database: str | None = None,
                budget: int | None = None) -> SqlContext:
        self.allow(caller, "sql:read", database)
        detail = {"question": question}
        ctx = self._guarded(caller, database, detail,
                            lambda: self._context(caller, question, database, budget))
        caller.audit(ctx.database, 200, detail)
        return ctx

    # -- questions ---------------------------------------------------------------------

    def query(self, caller: Caller, question: str, *, database: str, run: bool = False,
              max_rounds: int | None = None, row_limit: int | None = None,
              budget: int | None = None) -> Served:
        """SQL for `question` from the configured LLM, checked (parse, names, read-only,
        EXPLAIN) and, with `run`, executed read-only within the bounds. Every call is
        audited, the refused and the failed too."""
        self.allow(caller, "sql:query", database)
        detail: dict = {"question": question, "sql": None, "ran": False, "rows": None,
                        "outcome": "error"}
        served = self._guarded(caller, database, detail, lambda: self._query(
            caller, question, database, run, max_rounds, row_limit, budget))
        detail.update(_outcome(served))
        caller.audit(database, 200, detail)
        return served

    def _query(self, caller: Caller, question: str, database: str, run: bool,
               max_rounds: int | None, row_limit: int | None, budget: int | None) -> Served:
        from ..llm import client_from_settings
        ws = self.workspace()
        settings = self.settings()
        # The client first: with no LLM configured nothing else is worth doing (409).
        with client_from_settings(settings, env=self.env) as client:
            ctx = self._context(caller, question, database, budget)
            answer = ws.ask(ctx, client, max_rounds=self.bounds.rounds(max_rounds),
                            run=False, timeout_s=self.bounds.timeout_s)
        if not (run and answer.generated.ok):
            return Served(answer)
        try:
            rows = ws.run(database, answer.generated.checked,
                          row_limit=self.bounds.rows(row_limit), timeout_s=self.bounds.timeout_s)
        except (DatabaseError, SqlCheckError) as exc:  # the SQL is still worth returning
            return Served(answer, exc)
        return Served(replace(answer, rows=rows))

    # -- helpers -----------------------------------------------------------------------

    def _context(self, caller: Caller, question: str, database: str | None,
                 budget: int | None) -> SqlContext:
        from ..sql.service import DEFAULT_BUDGET
        from ..tokenizer import make_tokenizer
        settings = self.settings()
        count = make_tokenizer(settings.tokenizer, settings.llm_model).count
        if database is not None:
            self._learned(database)
            among = None
        else:
            among = self._learned_among(caller)
        with self._retrieval:
            return self.workspace().context(question, database=database, among=among,
                                            budget=budget or DEFAULT_BUDGET, count=count)

    def _learned(self, name: str) -> Schema:
        """The schema of a database in the catalog: 404 when there is none, 409 when
        nothing has been learned about it yet."""
        catalog = self.workspace().catalog
        entry = next((e for e in catalog.list() if e.name == name), None)
        if entry is None:
            raise NotFound(f"no database {name!r} in the server's catalog",
                           hint="list them: GET /sql/databases (the server's admin adds one "
                                "with codesift sql add NAME URL)")
        if not (entry.learned_at and entry.tables):
            raise Conflict(f"nothing is learned about {name!r} yet",
                           hint=f"on the server, run: codesift sql learn {name}")
        return catalog.load_schema(name)

    def _learned_among(self, caller: Caller) -> Sequence[str]:
        names = [e.name for e in self.databases(caller) if e.learned_at and e.tables]
        if not names:
            raise Conflict("no database this token may read has been learned yet",
                           hint="name one with database, or have the server's admin run "
                                "codesift sql learn NAME")
        return names

    def _guarded(self, caller: Caller, database: str | None, detail: dict | None, call):
        """`call()`, with a failure written to the audit log before it is raised."""
        try:
            return call()
        except CodesiftError as exc:
            if detail is not None:
                detail["error"] = str(exc)
            caller.audit(database, status_of(exc), detail)
            raise


def _outcome(served: Served) -> dict:
    """What the audit log keeps of a question: the SQL produced, whether it ran, how many
    rows came back, and how it ended."""
    answer = served.answer
    g = answer.generated
    last = g.attempts[-1].sql if g.attempts else None
    sql = g.checked.sql if g.ok else last
    out = {"sql": sql[:MAX_AUDIT_SQL] if sql else None, "ok": g.ok, "rounds": len(g.attempts),
           "ran": answer.rows is not None, "rows": None if answer.rows is None
           else len(answer.rows.rows)}
    if not g.ok:
        out["outcome"] = "rejected"
        out["error"] = g.attempts[-1].error if g.attempts else "no reply"
    elif served.run_error is not None:
        out["outcome"] = "run_failed"
        out["error"] = str(served.run_error)
    else:
        out["outcome"] = "ran" if answer.rows is not None else "written"
    return out

