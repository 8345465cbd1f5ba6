"""Static checks of generated SQL against a Schema before anything runs: one read-only
statement, known tables and columns, then the database's own EXPLAIN when one is given."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.errors import OptimizeError, SqlglotError
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope
from sqlglot.schema import MappingSchema

from codesift.errors import DatabaseError, SqlCheckError
from codesift.sql.model import Schema, Table
from codesift.sql.sqlite_quotes import strings_for_quoted_names
from codesift.sql.statement import parse_statement, refuse_writes, strip_sql

__all__ = ["CheckedSql", "check_sql"]

# sqlglot's schema wants one depth for every table; tables in the connection's default
# schema (Table.schema None) sit under this name, which no real schema is called.
_DEFAULT_DB = "codesift_default_schema"
_CULPRIT = re.compile(r"Column '(?P<a>[^']+)' could not be resolved(?: for table: '(?P<t>[^']+)')?"
                      r"|Unknown column: (?P<b>\S+)|Ambiguous column '(?P<c>[^']+)'")
_MAX_LISTED = 40
_ROWIDS = frozenset({"rowid", "oid", "_rowid_"})


@dataclass(frozen=True, slots=True)
class CheckedSql:
    sql: str  # as given, without markdown fences and a trailing ';'
    tables: tuple[str, ...]  # Table.key of each table it reads, first use first
    columns: tuple[tuple[str, str], ...]  # (Table.key, Column.name) it reads


def check_sql(sql: str, schema: Schema, *,
              explain: Callable[[str], None] | None = None) -> CheckedSql:
    """The statement if it passes every check, else SqlCheckError with one line to show the model.

    `explain` (e.g. guard.explain bound to a URL) asks the database itself last; its failures
    become "EXPLAIN failed: ...", except DatabaseError (unreachable, timed out), which is no
    fault of the SQL and propagates as it is."""
    text = strip_sql(sql)
    tree = parse_statement(text, schema.dialect)
    refuse_writes(tree)
    work = tree.copy()
    tables = _resolve_tables(work, schema)
    if schema.dialect == "sqlite":
        strings_for_quoted_names(work, text, tables)
        _set_rowids_aside(work, tables)
    columns = _check_columns(work, schema)
    if explain is not None:
        _explain(explain, text)
    return CheckedSql(sql=text, tables=tuple(dict.fromkeys(t.key for t in tables)),
                      columns=tuple(dict.fromkeys(columns)))


def _explain(explain: Callable[[str], None], sql: str) -> None:
    try:
        explain(sql)
    except DatabaseError:
        raise
    except Exception as exc:  # whatever the driver raises is feedback for the model
        first = str(exc).strip().splitlines()
        raise SqlCheckError(f"EXPLAIN failed: {first[0] if first else type(exc).__name__}") \
            from exc


# --- tables -------------------------------------------------------------------------------

def _resolve_tables(tree: exp.Expression, schema: Schema) -> list[Table]:
    """Each table the statement reads, in the schema; CTE names and table functions aside.

    qualify() does not reject unknown tables, so they are checked here. Each Table node is
    rewritten to its schema spelling under its schema's name, keeping what the SQL calls it
    as an alias, so qualify() finds it however the SQL spelt or qualified it."""
    ctes = {cte.alias.lower() for cte in tree.find_all(exp.CTE)}
    found = []
    for node in list(tree.find_all(exp.Table)):
        if not isinstance(node.this, exp.Identifier):  # generate_series(...), dblink(...)
            continue
        if not node.text("db") and node.name.lower() in ctes:
            continue
        table = _lookup_table(node, schema)
        if table is None:
            raise _unknown_table(node, schema)
        _canonical(node, table)
        found.append(table)
    return found


def _lookup_table(node: exp.Table, schema: Schema) -> Table | None:
    db = node.text("db")
    if not db:
        return schema.table(node.name)
    table = schema.table(f"{db}.{node.name}")
    if table is None:
        # the default schema has a name (public, main) that the Schema does not record
        table = schema.table(node.name)
        table = table if table is not None and table.schema is None else None
    return table


def _canonical(node: exp.Table, table: Table) -> None:
    if not node.alias:
        node.set("alias", exp.TableAlias(this=node.this.copy()))
    node.set("this", exp.Identifier(this=table.name, quoted=True))
    node.set("db", exp.Identifier(this=table.schema or _DEFAULT_DB, quoted=True))
    node.set("catalog", None)


def _unknown_table(node: exp.Table, schema: Schema) -> SqlCheckError:
    name = ".".join(p for p in (node.text("db"), node.name) if p)
    keys = [t.key for t in schema.tables]
    return SqlCheckError(f"unknown table {name}; tables: {_listing(keys, name)}")


def _set_rowids_aside(tree: exp.Expression, tables: list[Table]) -> None:
    """SQLite's implicit rowid (also oid, _rowid_) is a column of every ordinary table that
    no Schema lists: stand a constant in for it; EXPLAIN still catches WITHOUT ROWID tables."""
    real = {c.name.lower() for t in tables for c in t.columns}
    for column in list(tree.find_all(exp.Column)):
        if column.name.lower() in _ROWIDS - real:
            column.replace(exp.Literal.number(0))


# --- columns ------------------------------------------------------------------------------

def _check_columns(tree: exp.Expression, schema: Schema) -> list[tuple[str, str]]:
    """The (table, column) pairs it reads; an unknown or ambiguous column is an error."""
    mapping = MappingSchema(_mapping(schema), dialect=schema.dialect, normalize=False)
    try:
        qualified = qualify(tree.copy(), schema=mapping, dialect=schema.dialect,
                            validate_qualify_columns=True, quote_identifiers=False,
                            identify=False)
    except OptimizeError as exc:
        raise _column_error(tree, schema, str(exc)) from exc
    except SqlglotError as exc:
        raise SqlCheckError(f"could not check the column names: {_first_line(exc)}") from exc
    stray = _unresolved_in_having(qualified)
    if stray is not None:
        raise _having_error(tree, stray, schema)
    return _columns_read(qualified, schema)


def _unresolved_in_having(qualified: exp.Expression) -> exp.Column | None:
    """A HAVING column qualify() left bare: it resolved to nothing.

    sqlglot leaves bare HAVING names out of its validation, since they may be select
    aliases; qualify() has by then expanded those, so a bare one that is no alias is unknown."""
    for column in qualified.find_all(exp.Column):
        if column.table or not isinstance(column.this, exp.Identifier):
            continue
        clause = column.find_ancestor(exp.Having, exp.Select)
        if isinstance(clause, exp.Having):
            select = clause.find_ancestor(exp.Select)
            if select is None or column.name not in select.named_selects:
                return column
    return None


def _having_error(tree: exp.Expression, stray: exp.Column, schema: Schema) -> SqlCheckError:
    # The qualified copy has normalized names; the original node (same offset) has the SQL's.
    start = stray.this.meta.get("start")
    for scope in traverse_scope(tree):
        for column in scope.expression.find_all(exp.Column):
            if column.this.meta.get("start") == start and start is not None \
                    and column.find_ancestor(exp.Select) is scope.expression:
                return _describe(column, scope, schema, ambiguous=False)
    return SqlCheckError(f"unknown column {stray.name}")


def _mapping(schema: Schema) -> dict[str, dict[str, dict[str, str]]]:
    """{schema: {table: {column: type}}}, names normalized as qualify() normalizes the SQL's."""
    def norm(name: str) -> str:
        return _norm(name, schema.dialect)

    out: dict[str, dict[str, dict[str, str]]] = {}
    for t in schema.tables:
        # The type plays no part in name checks; a fixed one spares parsing the database's.
        cols = {norm(c.name): "UNKNOWN" for c in t.columns}
        out.setdefault(norm(t.schema or _DEFAULT_DB), {})[norm(t.name)] = cols
    return out


def _columns_read(tree: exp.Expression, schema: Schema) -> list[tuple[str, str]]:
    out = []
    for scope in traverse_scope(tree):
        for column in scope.columns:
            source = _source(scope, column.table)
            table = _schema_table(source, schema) if isinstance(source, exp.Table) else None
            col = table.column(column.name) if table else None
            if col is not None:
                out.append((table.key, col.name))
    return out


def _source(scope: Scope | None, alias: str) -> exp.Table | Scope | None:
    """What an alias names, looking outwards for correlated subqueries."""
    while scope is not None and alias:
        if alias in scope.sources:
            return scope.sources[alias]
        scope = scope.parent
    return None


def _schema_table(node: exp.Table, schema: Schema) -> Table | None:
    db = node.text("db")
    return schema.table(node.name if db.lower() == _DEFAULT_DB else f"{db}.{node.name}")


# --- column error messages ------------------------------------------------------------------

def _column_error(tree: exp.Expression, schema: Schema, message: str) -> SqlCheckError:
    """Name the column and what its tables have, from sqlglot's message and the scopes."""
    using = re.search(r"Cannot automatically join: (\S+)", message)
    if using:
        return SqlCheckError(f"unknown column {using[1]} in JOIN ... USING: "
                             f"both tables must have it")
    found = _CULPRIT.search(message)
    if not found:
        return SqlCheckError(f"unknown column: {message.splitlines()[0]}")
    name = (found["a"] or found["b"] or found["c"]).lower()
    qualifier = (found["t"] or "").lower()
    for scope in traverse_scope(tree):
        for column in scope.columns:
            if column.name.lower() == name and (not qualifier or
                                                column.table.lower() == qualifier):
                return _describe(column, scope, schema, ambiguous=bool(found["c"]))
    return SqlCheckError(f"unknown column {name}")


def _describe(column: exp.Column, scope: Scope, schema: Schema, *,
              ambiguous: bool) -> SqlCheckError:
    name = column.name
    if column.table:
        source = _source(scope, column.table)
        if source is None:
            return SqlCheckError(f"unknown table or alias {column.table} in {column.sql()}")
        label, names = _source_columns(column.table, source, schema)
        return _unknown(f"{column.table}.{name}", [(label, names)], column, schema.dialect)
    sources = {alias: _source_columns(alias, src, schema)
               for alias, (_, src) in scope.selected_sources.items()}
    wanted = normalize_identifiers(column.this.copy(), dialect=schema.dialect).name
    holders = [label for label, names in sources.values()
               if any(_norm(n, schema.dialect) == wanted for n in names)]
    # sqlglot reports an ambiguous name as one it "could not resolve"
    if ambiguous or len(holders) > 1:
        return SqlCheckError(f"ambiguous column {name}: {' and '.join(holders)} both have it",
                             hint=f"qualify it: alias.{name}")
    ref = f"{next(iter(sources))}.{name}" if len(sources) == 1 else name
    return _unknown(ref, list(sources.values()), column, schema.dialect)


def _unknown(ref: str, sources: list[tuple[str, list[str]]], column: exp.Column,
             dialect: str) -> SqlCheckError:
    """"unknown column singer.nam; singer has: id, name", saying so when only case differs
    in a dialect that folds unquoted names (PostgreSQL's Name is name)."""
    name = column.name
    have = "; ".join(f"{label} has: {_listing(names, name)}" for label, names in sources)
    exact = next((n for _, names in sources for n in names if n.lower() == name.lower()), None)
    if exact is not None and not column.this.quoted:
        folded = normalize_identifiers(column.this.copy(), dialect=dialect).name
        return SqlCheckError(f'unknown column {ref}: unquoted it reads as {folded}, write '
                             f'"{exact}"; {have}')
    return SqlCheckError(f"unknown column {ref}; {have or 'no table is in scope'}")


def _norm(name: str, dialect: str) -> str:
    """A schema name as qualify() compares it: exact, unless the dialect ignores case."""
    return normalize_identifiers(exp.Identifier(this=name, quoted=True), dialect=dialect).name


def _source_columns(alias: str, source: exp.Table | Scope | None,
                    schema: Schema) -> tuple[str, list[str]]:
    """How to call a source in a message, and its column names."""
    if isinstance(source, exp.Table):
        table = _schema_table(source, schema)
        if table is not None:
            label = table.key if alias.lower() == table.name.lower() else f"{alias} ({table.key})"
            return label, [c.name for c in table.columns]
    if isinstance(source, Scope) and isinstance(source.expression, exp.Query):
        return alias, list(source.expression.named_selects)
    return alias, []


def _listing(names: list[str], wanted: str) -> str:
    """All the names when few, else the closest ones: the line goes back to a model."""
    if len(names) <= _MAX_LISTED:
        return ", ".join(names) or "(nothing)"
    close = difflib.get_close_matches(wanted, names, n=10, cutoff=0.0)
    return f"{', '.join(close)} (closest of {len(names)})"


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
