"""Runs one generated query with the database itself refusing writes: the second guard, which
holds even when check_sql was bypassed. SQLite: a read-only file handle with an authorizer;
PostgreSQL: a READ ONLY transaction with a statement timeout, always rolled back."""

from __future__ import annotations

import itertools
import math
import sqlite3
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from codesift.errors import DatabaseError, SqlCheckError, UsageError
from codesift.sql.denylist import is_denied
from codesift.sql.statement import screen, strip_sql

if TYPE_CHECKING:
    import psycopg

__all__ = ["Rows", "run_readonly", "explain"]


@dataclass(frozen=True, slots=True)
class Rows:
    columns: tuple[str, ...]
    rows: tuple[tuple, ...]
    truncated: bool  # more rows than row_limit came back; only the first row_limit are kept
    seconds: float


def run_readonly(url: str, sql: str, *, row_limit: int = 1000,
                 timeout_s: float = 10.0) -> Rows:
    """At most `row_limit` rows of one read-only query, stopped after `timeout_s`."""
    return _dispatch(url, strip_sql(sql), row_limit, timeout_s)


def explain(url: str, sql: str, *, timeout_s: float = 10.0) -> None:
    """Have the database plan the query, under the same guard; raises when it cannot."""
    _dispatch(url, strip_sql(sql), None, timeout_s)


def _dispatch(url: str, sql: str, row_limit: int | None, timeout_s: float) -> Rows:
    parsed = _parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite(_sqlite_path(parsed), sql, row_limit, timeout_s)
    # The server enforces READ ONLY, but not against functions that act outside the
    # transaction (pg_terminate_backend, dblink, ...) or statements that are no query (DO,
    # CALL, COPY TO a file): those are screened here, as check_sql screens them.
    screen(sql, "postgres")
    return _postgres(_psycopg(parsed), sql, row_limit, timeout_s)


def _parse_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except sa_exc.ArgumentError as exc:
        raise UsageError(f"not a database URL: {url!r}",
                         hint="sqlite:////abs/path.db or postgresql://user@host/db") from exc
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise UsageError(f"unsupported database: {parsed.get_backend_name()}",
                         hint="codesift sql runs on SQLite and PostgreSQL")
    return parsed


# --- SQLite ------------------------------------------------------------------------------

# Everything a SELECT needs; every other action (writes, ATTACH, PRAGMA, transactions,
# CREATE TEMP ..., the whole list in sqlite3's docs) is denied while the statement compiles.
_SQLITE_ALLOWED = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
                   sqlite3.SQLITE_RECURSIVE}
# Authorizer action codes share values with result codes in sqlite3's namespace (9 is both
# SQLITE_DELETE and SQLITE_INTERRUPT), so the names for messages are listed, not scanned.
_SQLITE_ACTIONS = {getattr(sqlite3, f"SQLITE_{n}"): n.replace("_", " ") for n in (
    "CREATE_INDEX", "CREATE_TABLE", "CREATE_TEMP_INDEX", "CREATE_TEMP_TABLE",
    "CREATE_TEMP_TRIGGER", "CREATE_TEMP_VIEW", "CREATE_TRIGGER", "CREATE_VIEW", "DELETE",
    "DROP_INDEX", "DROP_TABLE", "DROP_TEMP_INDEX", "DROP_TEMP_TABLE", "DROP_TEMP_TRIGGER",
    "DROP_TEMP_VIEW", "DROP_TRIGGER", "DROP_VIEW", "INSERT", "PRAGMA", "TRANSACTION",
    "UPDATE", "ATTACH", "DETACH", "ALTER_TABLE", "REINDEX", "ANALYZE", "CREATE_VTABLE",
    "DROP_VTABLE", "SAVEPOINT") if hasattr(sqlite3, f"SQLITE_{n}")}
_PROGRESS_STEPS = 10_000  # VM instructions between clock checks: microseconds apart


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise UsageError(f"no SQLite file in {url.render_as_string()}",
                         hint="sqlite:////abs/path.db (four slashes for an absolute path)")
    return Path(url.database)


def _sqlite(path: Path, sql: str, row_limit: int | None, timeout_s: float) -> Rows:
    denied: list[str] = []
    deadline = time.monotonic() + timeout_s
    conn = _sqlite_open(path)
    try:
        conn.set_authorizer(_authorizer(denied))
        conn.set_progress_handler(lambda: time.monotonic() > deadline, _PROGRESS_STEPS)
        return _sqlite_fetch(conn, sql, row_limit)
    except sqlite3.Error as exc:
        raise _sqlite_error(exc, denied, timeout_s) from exc
    finally:
        conn.close()


def _sqlite_fetch(conn: sqlite3.Connection, sql: str, row_limit: int | None) -> Rows:
    started = time.monotonic()
    if row_limit is None:
        # Compiling the plan runs the authorizer over the query as running it would.
        conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
        return Rows((), (), False, time.monotonic() - started)
    cursor = conn.execute(sql)
    columns = tuple(d[0] for d in cursor.description or ())
    return _rows(columns, cursor.fetchmany(row_limit + 1), row_limit, started)


def _sqlite_open(path: Path) -> sqlite3.Connection:
    # mode=ro never creates a missing file, and refuses writes below the authorizer too.
    uri = f"file:{urllib.parse.quote(str(path.resolve()))}?mode=ro"
    if not path.is_file():
        raise DatabaseError(f"no SQLite database at {path}")
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None)  # no implicit BEGIN
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot open SQLite database {path}: {exc}") from exc
    conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    if hasattr(conn, "enable_load_extension"):  # absent when Python was built without it
        conn.enable_load_extension(False)
    return conn


def _authorizer(denied: list[str]) -> Callable[..., int]:
    def authorize(action: int, arg1: str | None, arg2: str | None, _db: str | None,
                  _trigger: str | None) -> int:
        if action == sqlite3.SQLITE_FUNCTION and arg2 and is_denied(arg2):
            denied.append(f"function {arg2}")
            return sqlite3.SQLITE_DENY
        if action in _SQLITE_ALLOWED:
            return sqlite3.SQLITE_OK
        what = " ".join(a for a in (arg1, arg2) if a)
        denied.append(f"{_SQLITE_ACTIONS.get(action, action)} {what}".strip())
        return sqlite3.SQLITE_DENY
    return authorize


def _sqlite_error(exc: sqlite3.Error, denied: list[str], timeout_s: float) -> Exception:
    code = getattr(exc, "sqlite_errorcode", None)
    if denied:
        return SqlCheckError(f"refused by the read-only guard: {denied[0]}")
    if code == sqlite3.SQLITE_INTERRUPT:
        return DatabaseError(f"timed out after {timeout_s:g} s",
                             hint="make the query cheaper, or raise the timeout")
    # SQLITE_ERROR is SQLite's "bad SQL" (no such column, syntax); several statements
    # surface as ProgrammingError. Anything else (busy, I/O, corrupt) is the database's.
    if isinstance(exc, sqlite3.ProgrammingError) and "one statement" in str(exc):
        return SqlCheckError("only one statement may run: SQLite found more after the first")
    if code == sqlite3.SQLITE_ERROR or isinstance(exc, sqlite3.ProgrammingError):
        return SqlCheckError(_one_line(exc))
    return DatabaseError(f"SQLite failed: {_one_line(exc)}")


# --- PostgreSQL --------------------------------------------------------------------------

def _psycopg(url: URL) -> URL:
    # postgresql:// means psycopg2 to SQLAlchemy; the cursor calls below are psycopg 3's.
    return url.set(drivername="postgresql+psycopg")


def _postgres(url: URL, sql: str, row_limit: int | None, timeout_s: float) -> Rows:
    """The query in a READ ONLY transaction under statement_timeout, always rolled back.

    psycopg's stream() sends the statement over the extended protocol, on which the server
    itself refuses `a; b` ("cannot insert multiple commands into a prepared statement"), on
    top of screen() having parsed exactly one; and with no parameters, psycopg leaves `%` in
    LIKE '%a%' alone (SQLAlchemy's exec_driver_sql would hand it over as a placeholder)."""
    import psycopg  # the [postgres] extra: a SQLite-only install runs without it

    ms = max(1, int(timeout_s * 1000))
    engine = create_engine(url, poolclass=NullPool,  # no session outlives the call
                           connect_args={"connect_timeout": max(2, math.ceil(timeout_s))})
    try:
        with engine.connect() as conn:
            raw = conn.connection.driver_connection  # psycopg's; its first execute BEGINs
            try:
                with raw.cursor() as cursor:
                    for setting in ("SET TRANSACTION READ ONLY",
                                    f"SET LOCAL statement_timeout = {ms}",
                                    f"SET LOCAL lock_timeout = {ms}",
                                    f"SET LOCAL idle_in_transaction_session_timeout = {ms}"):
                        cursor.execute(setting)
                    return _postgres_fetch(cursor, sql, row_limit)
            finally:
                raw.rollback()
    except sa_exc.DBAPIError as exc:  # connecting, through SQLAlchemy
        raise _postgres_error(exc.orig or exc, url, timeout_s) from exc
    except psycopg.Error as exc:  # the statements, through psycopg's cursor
        raise _postgres_error(exc, url, timeout_s) from exc
    finally:
        engine.dispose()


def _postgres_fetch(cursor: psycopg.Cursor, sql: str, row_limit: int | None) -> Rows:
    started = time.monotonic()
    if row_limit is None:
        for _ in cursor.stream("EXPLAIN " + sql):
            pass
        return Rows((), (), False, time.monotonic() - started)
    # Row by row: the server stops producing once the limit is passed, where execute()
    # would first bring every row over.
    stream = cursor.stream(sql)
    try:
        rows = list(itertools.islice(stream, row_limit + 1))
    finally:
        stream.close()  # psycopg cancels the rest of the query
    if not rows:  # stream() sets no description without a row; ask for the shape alone
        cursor.execute(f"SELECT * FROM ({sql}) AS codesift_query LIMIT 0", prepare=True)
    columns = tuple(d.name for d in cursor.description or ())
    return _rows(columns, rows, row_limit, started)


def _postgres_error(exc: BaseException, url: URL, timeout_s: float) -> Exception:
    state = getattr(exc, "sqlstate", None) or ""
    diag = getattr(exc, "diag", None)
    text = (getattr(diag, "message_primary", None) or _one_line(exc)).strip()
    if state == "57014":  # query_canceled: statement_timeout fired
        return DatabaseError(f"timed out after {timeout_s:g} s",
                             hint="make the query cheaper, or raise the timeout")
    if state == "25006":  # read_only_sql_transaction
        return SqlCheckError(f"refused by the read-only guard: {text}")
    # bad SQL or access (42), bad data (22), cardinality (21), unsupported (0A), and
    # parameters the statement wants but never gets ($1: 08P01)
    if state[:2] in ("42", "22", "21", "0A") or state == "08P01":
        return SqlCheckError(text)
    if not state or state.startswith("08"):
        where = url.render_as_string(hide_password=True)
        return DatabaseError(f"cannot reach PostgreSQL at {where}: "
                             f"{text.removeprefix('connection failed: ')}")
    return DatabaseError(f"PostgreSQL failed ({state}): {text}")


# --- both --------------------------------------------------------------------------------

def _rows(columns: tuple[str, ...], rows: list, row_limit: int, started: float) -> Rows:
    """`rows` holds one more than the limit when there were more."""
    return Rows(columns, tuple(tuple(r) for r in rows[:row_limit]), len(rows) > row_limit,
                time.monotonic() - started)


def _one_line(exc: object) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
