"""Reading a database's schema through SQLAlchemy's inspector: tables and views, columns,
keys, comments, and a few sample values of low-cardinality text columns."""

# Which schemas: the connection's default one (PostgreSQL's `public`, SQLite's `main`),
# plus those the caller lists; their tables are keyed `schema.name`. Walking every
# non-system schema by default would pull in extensions' and tools' tables nobody asks about.
#
# Samples are the only data read, one bounded query per text column, each in its own
# read-only transaction: a slow or failing one costs that column its samples, nothing more.
# `samples=False` reads no data at all (for personal data).

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace

import sqlalchemy
from sqlalchemy import exc as sa_exc
from sqlalchemy import sql as sa_sql
from sqlalchemy import types as sa_types
from sqlalchemy.engine.reflection import Inspector, ObjectKind

from ..errors import DatabaseError, UsageError
from .connect import connection_error, dialect_of
from .model import Column, ForeignKey, Schema, Table
from .sqlite_comments import TableComments, parse_comments

Progress = Callable[[str, int, int], None]  # (stage, done, total)
TextColumns = set[tuple[str, str]]  # (table key, column name)
SAMPLE_CHARS = 80
SQLITE_CHECK_EVERY = 10_000  # SQLite VM steps between deadline checks


def introspect(engine: sqlalchemy.Engine, database_name: str, *, samples: bool = True,
               max_samples: int = 5, max_distinct: int = 50,
               schemas: Sequence[str] | None = None, progress: Progress | None = None,
               timeout_s: float = 5.0) -> Schema:
    """The schema of the default schema plus `schemas`; with `samples`, up to `max_samples`
    values of each text column of a table that has at most `max_distinct` distinct ones
    (each sample query given `timeout_s`). `samples=False` reads no row of any table."""
    try:
        inspector = sqlalchemy.inspect(engine)
        tables, text = _read_tables(engine, inspector, schemas or (), progress)
        if not tables:
            raise UsageError(f"the database {database_name!r} has no tables",
                             hint="check that the URL names the right database, and the schemas")
        if samples:
            tables = add_samples(engine, tables, text, max_samples=max_samples,
                                 max_distinct=max_distinct, timeout_s=timeout_s,
                                 progress=progress)
    except sa_exc.OperationalError as exc:
        raise connection_error(engine, exc) from exc
    except sa_exc.DBAPIError as exc:
        raise DatabaseError(f"reading the schema of {database_name!r} failed: "
                            f"{_first_line(exc)}", hint="check the user's privileges") from exc
    return Schema(database=database_name, dialect=dialect_of(engine.url.drivername + "://"),
                  tables=tuple(tables))


# -- structure ----------------------------------------------------------------------------

def _read_tables(engine: sqlalchemy.Engine, inspector: Inspector, extra: Sequence[str],
                 progress: Progress | None) -> tuple[list[Table], TextColumns]:
    """The tables and views, and which of their columns hold text (known here from
    SQLAlchemy's types; the Table values keep only the type's name)."""
    default = inspector.default_schema_name
    wanted = [None] + [s for s in dict.fromkeys(extra) if s != default]
    _check_schemas(inspector, [s for s in wanted if s is not None])
    notes = _sqlite_comments(engine) if engine.dialect.name == "sqlite" else {}
    tables: list[Table] = []
    text: TextColumns = set()
    for done, schema in enumerate(wanted, start=1):
        tables += _schema_tables(inspector, schema, notes, text)
        if progress:
            progress("schemas", done, len(wanted))
    return tables, text


def _check_schemas(inspector: Inspector, listed: Sequence[str]) -> None:
    if not listed:
        return
    known = inspector.get_schema_names()
    missing = [s for s in listed if s not in known]
    if missing:
        raise UsageError(f"no schema named {missing[0]!r} in the database",
                         hint=f"known schemas: {', '.join(sorted(known))}")


def _schema_tables(inspector: Inspector, schema: str | None,
                   notes: dict[str, TableComments], text: TextColumns) -> list[Table]:
    kinds = {name: "table" for name in inspector.get_table_names(schema)}
    kinds.update((name, "view") for name in inspector.get_view_names(schema))
    try:
        kinds.update((name, "view") for name in inspector.get_materialized_view_names(schema))
    except NotImplementedError:
        pass  # only some dialects have materialized views
    if not kinds:
        return []
    kw = {"schema": schema, "kind": ObjectKind.ANY, "filter_names": list(kinds)}
    columns = inspector.get_multi_columns(**kw)
    pks = inspector.get_multi_pk_constraint(**kw)
    fks = inspector.get_multi_foreign_keys(**kw)
    try:
        comments = inspector.get_multi_table_comment(**kw)
    except NotImplementedError:
        comments = {}  # SQLite: read from the CREATE statement instead (notes)
    default = inspector.default_schema_name
    tables = []
    for name in sorted(kinds, key=lambda n: (kinds[n] != "table", n)):
        key = (schema, name)
        note = notes.get(name, TableComments()) if schema is None else TableComments()
        pk = set((pks.get(key) or {}).get("constrained_columns") or ())
        text.update((Table(name, (), schema).key, c["name"]) for c in columns.get(key, ())
                    if _is_text(c["type"]))
        tables.append(Table(
            name=name, schema=schema, kind=kinds[name],
            columns=tuple(_column(c, pk, note) for c in columns.get(key, ())),
            foreign_keys=tuple(_foreign_key(f, default) for f in fks.get(key, ())),
            comment=((comments.get(key) or {}).get("text") or note.table or "").strip()))
    return tables


def _column(info: dict, pk: set[str], note: TableComments) -> Column:
    comment = info.get("comment") or note.columns.get(info["name"]) or _ci(note.columns,
                                                                           info["name"])
    return Column(name=info["name"], type=_type_name(info["type"]),
                  nullable=bool(info.get("nullable", True)) and info["name"] not in pk,
                  primary_key=info["name"] in pk, comment=(comment or "").strip())


def _ci(notes: dict[str, str], name: str) -> str:
    low = name.lower()
    return next((v for k, v in notes.items() if k.lower() == low), "")


def _type_name(type_: object) -> str:
    try:
        return str(type_)
    except sa_exc.CompileError:  # a type the generic compiler cannot render (NullType)
        return ""


def _foreign_key(info: dict, default: str | None) -> ForeignKey:
    ref_schema = info.get("referred_schema")
    ref = info["referred_table"]
    if ref_schema and ref_schema != default:
        ref = f"{ref_schema}.{ref}"
    return ForeignKey(columns=tuple(info["constrained_columns"]), ref_table=ref,
                      ref_columns=tuple(info["referred_columns"]))


def _sqlite_comments(engine: sqlalchemy.Engine) -> dict[str, TableComments]:
    # sqlite_master is metadata, not data: this runs with samples=False too. Views are
    # left out: their first parenthesis is inside a query, not a column list.
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' "
            "AND sql IS NOT NULL").fetchall()
    return {name: parse_comments(sql) for name, sql in rows if "--" in sql}


# -- sample values --------------------------------------------------------------------------

def add_samples(engine: sqlalchemy.Engine, tables: Sequence[Table], text: TextColumns, *,
                max_samples: int = 5, max_distinct: int = 50, timeout_s: float = 5.0,
                progress: Progress | None = None) -> list[Table]:
    """`tables` with samples on their `text` columns, (table key, column name). Views are
    skipped: reading one runs its query, which may be expensive."""
    todo = [(t, c) for t in tables if t.kind == "table" for c in t.columns
            if (t.key, c.name) in text]
    found: dict[tuple[str, str], tuple[str, ...]] = {}
    with engine.connect() as conn:
        for done, (table, column) in enumerate(todo, start=1):
            values = _distinct(conn, table, column.name, max_distinct + 1, timeout_s)
            if values is not None and len(values) <= max_distinct:
                found[(table.key, column.name)] = _pick(values, max_samples)
            if progress:
                progress("samples", done, len(todo))
    return [replace(t, columns=tuple(replace(c, samples=found.get((t.key, c.name), c.samples))
                                     for c in t.columns)) for t in tables]


def _is_text(type_: object) -> bool:
    # String covers VARCHAR, TEXT, CHAR and Enum; a column SQLite declared without a type
    # (NullType) is not sampled.
    return isinstance(type_, sa_types.String)


def _distinct(conn: sqlalchemy.Connection, table: Table, column: str, limit: int,
              timeout_s: float) -> list | None:
    """Up to `limit` distinct non-null values, or None when the query failed or ran out
    of time."""
    col = sa_sql.column(sa_sql.quoted_name(column, quote=True))
    source = sa_sql.table(sa_sql.quoted_name(table.name, quote=True), col,
                          schema=table.schema)
    query = sa_sql.select(col).distinct().where(col.is_not(None)).limit(limit)
    try:
        with conn.begin():
            with _time_bound(conn, timeout_s):
                return [row[0] for row in conn.execute(query.select_from(source))]
    except sa_exc.DBAPIError:
        return None


@contextmanager
def _time_bound(conn: sqlalchemy.Connection, timeout_s: float) -> Iterator[None]:
    """Read-only and bounded in time where the dialect allows: PostgreSQL's statement
    timeout (SET LOCAL: gone with the transaction), SQLite's progress handler (the file
    is opened read-only already). Elsewhere the query runs unbounded."""
    name = conn.dialect.name
    if name == "postgresql":
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {max(1, int(timeout_s * 1000))}")
    if name != "sqlite":
        yield
        return
    deadline = time.monotonic() + timeout_s
    raw = conn.connection.dbapi_connection
    raw.set_progress_handler(lambda: int(time.monotonic() > deadline), SQLITE_CHECK_EVERY)
    try:
        yield
    finally:
        raw.set_progress_handler(None, 0)


def _pick(values: list, max_samples: int) -> tuple[str, ...]:
    # Sorted so re-learning an unchanged database writes the same table JSON.
    texts = sorted({_clip(str(v)) for v in values if str(v).strip()})
    return tuple(texts[:max_samples])


def _clip(text: str) -> str:
    return text if len(text) <= SAMPLE_CHARS else text[:SAMPLE_CHARS - 1] + "…"


def _first_line(exc: BaseException) -> str:
    inner = getattr(exc, "orig", None) or exc
    return (str(inner).strip().splitlines() or [type(inner).__name__])[0]
