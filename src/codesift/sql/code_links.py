"""Link a database's tables to the code of an indexed repository that uses them: ORM models
mapped to a table, migrations that shape it, and raw SQL strings that read or write it.

Everything is read from the code index, never from the repository: the file-level FTS
index picks the files that name a table (plus the models and migrations modules, whose
tables are derived rather than written), their text is rebuilt from the stored units
(code_text.py), Python files that may map tables are read with `ast` (code_orm.py), every
file's strings with a small lexer (code_strings.py), and a string becomes a link only when
it starts like a SQL statement, names a table of the schema, and sqlglot parses it and
finds the table there. ORM models are not known to write (writes is False for them).
"""

from __future__ import annotations

import ast
import re
import time
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import groupby
from typing import TYPE_CHECKING

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from ..store.sqlite_units import all_files, file_units, files_naming
from ..tokens import word_tokens
from .code_orm import may_map_tables, orm_uses
from .code_strings import PLACEHOLDER, SYNTAX, Literal, lexed_literals
from .code_text import IndexedFile, Unit, rebuild
from .model import CodeLink, Schema
from .sql_files import UnclosedError, split_statements

if TYPE_CHECKING:
    from ..api import Index

SQL = "sql"
# The order links are shown in: what defines a table first, then what writes it.
KIND_ORDER = {"sqlalchemy-model": 0, "django-model": 0, SQL: 1, "migration": 2}
# Where models and migrations live: their tables are derived, not written in the text.
ORM_PATHS = ("%models.py", "%/models/%.py", "models/%.py", "%/migrations/%.py",
             "migrations/%.py")
_TEXT_LANGUAGES = {"kt": "kotlin", "kts": "kotlin", "scala": "scala", "swift": "swift",
                   "dart": "dart"}
MAX_SQL_CHARS = 50_000  # a longer "string" is data (a fixture, a dump), not a query

# DDL only on a table, view, index or trigger: "Create a new session key." is prose, and
# sqlglot would log a warning for each such docstring it falls back to reading as a command.
_STATEMENT_START = re.compile(
    r"\s*(?:\(\s*)*(?:(?:--[^\n]*\n|/\*.*?\*/)\s*)*"
    r"(?:(?:SELECT|INSERT|UPDATE|DELETE|MERGE|REPLACE|UPSERT|WITH|TRUNCATE)\b"
    r"|(?:CREATE|ALTER|DROP)\s+(?:OR\s+REPLACE\s+)?"
    r"(?:(?:GLOBAL|LOCAL|TEMP|TEMPORARY|UNIQUE|UNLOGGED|MATERIALIZED|VIRTUAL)\s+)*"
    r"(?:TABLE|VIEW|INDEX|TRIGGER)\b)",
    re.IGNORECASE | re.DOTALL)
_WORD = re.compile(r"\w+")
_PYFORMAT = re.compile(r"%\(\w+\)s|%[sd]")  # DB-API paramstyles sqlglot's SQLite rejects
_BRACES = re.compile(r"\{[^{}'\"]*\}")  # str.format and f-string fields
_REPLACE_INTO = re.compile(r"\s*REPLACE\s+INTO\s+([\w.\"`\[\]]+)", re.IGNORECASE)
_WRITES = (exp.Insert, exp.Update, exp.Delete, exp.Merge)


@dataclass(frozen=True, slots=True)
class LinkScan:
    links: tuple[CodeLink, ...]  # by table, then models, SQL, migrations, then path and line
    files: int  # files rebuilt and scanned
    units: int  # stored units they are made of
    statements: int  # strings given to sqlglot
    seconds: float


class TableNames:
    """Names as code writes them -> Table.key, case-insensitively, schema-qualified or not."""

    def __init__(self, schema: Schema) -> None:
        self.by_key = {t.key.lower(): t.key for t in schema.tables}
        self.by_name: dict[str, str] = {}
        for t in schema.tables:  # the default schema's table wins a bare name
            if t.schema is None or t.name.lower() not in self.by_name:
                self.by_name[t.name.lower()] = t.key
        self.schemas = frozenset(t.schema.lower() for t in schema.tables if t.schema)
        self.words = frozenset(w for t in schema.tables for w in _WORD.findall(t.name.lower()))

    def resolve(self, schema: str | None, name: str) -> str | None:
        name = name.lower()
        if schema and schema.lower() in self.schemas:
            return self.by_key.get(f"{schema.lower()}.{name}")
        # Unqualified, or qualified with the schema the catalog leaves unnamed (public,
        # main, dbo): the default schema's table, else one of that name elsewhere.
        return self.by_key.get(name) or self.by_name.get(name)

    def named_in(self, text: str) -> bool:
        return not self.words.isdisjoint(_WORD.findall(text.lower()))


def link_code(index: Index, schema: Schema) -> LinkScan:
    """Every place in `index`'s repository that uses a table of `schema`. The index must
    exist (Index.store raises NoIndexError, with the command that builds one)."""
    started = time.perf_counter()
    store = index.store()
    names = TableNames(schema)
    links: list[CodeLink] = []
    counts = [0, 0, 0]  # files, units, statements
    with store.snapshot():
        candidates = _candidates(store.db, schema)
        for file in _rebuilt(store.db, candidates):
            counts[0] += 1
            counts[1] += len(file.units)
            found, parsed = _file_links(file, names, schema.dialect)
            links += found
            counts[2] += parsed
    return LinkScan(tuple(_merged(links)), counts[0], counts[1], counts[2],
                    time.perf_counter() - started)


def _candidates(db, schema: Schema) -> list[tuple[int, str, str]]:
    """(id, path, language to read it as) of the files worth reading: code and SQL that
    name a table, and the modules where ORM models and migrations live."""
    terms: list[str] = []
    files = None
    for t in schema.tables:
        tokens = [word_tokens(w)[:1] for w in _WORD.findall(t.name)]
        if not all(tokens):  # a name the index does not keep as a token: read every file
            files = all_files(db)
            break
        terms += [tok[0] for tok in tokens]
    if files is None:
        files = files_naming(db, sorted(set(terms)), ORM_PATHS)
    read_as = ((fid, path, _language(path, language)) for fid, path, language in files)
    return [f for f in read_as if f[2] == SQL or f[2] in SYNTAX]


def _language(path: str, language: str) -> str:
    """Kotlin, Scala, Swift and Dart are indexed as text; their strings read like Java's."""
    if language == "text":
        return _TEXT_LANGUAGES.get(path.rsplit(".", 1)[-1].lower(), language)
    return language


def _rebuilt(db, candidates: Sequence[tuple[int, str, str]]) -> Iterator[IndexedFile]:
    info = {fid: (path, language) for fid, path, language in candidates}
    rows = file_units(db, [fid for fid, _, _ in candidates])
    for fid, group in groupby(rows, key=lambda r: r[0]):
        path, language = info[fid]
        yield rebuild(path, language, [Unit(*r[1:]) for r in group])


def _file_links(file: IndexedFile, names: TableNames, dialect: str) -> tuple[list[CodeLink], int]:
    links: list[CodeLink] = []
    text = file.text
    if file.language == "python" and may_map_tables(file.path, text):
        tree = _python_tree(text)
        links += _orm_links(file, tree, names) if tree is not None else []
    literals: Iterable[Literal] = (_sql_file_statements(file) if file.language == "sql"
                                   else lexed_literals(text, file.language))
    parsed = 0
    for lit in literals:
        if not _worth_parsing(lit.text, names, whole_file=file.language == "sql"):
            continue
        parsed += 1
        for table, writes in sql_tables(lit.text, names, dialect):
            links.append(CodeLink(table, file.path, lit.start_line, lit.end_line,
                                  file.symbol_at(lit.start_line), SQL, writes))
    return links, parsed


def _python_tree(text: str) -> ast.Module | None:
    try:
        with warnings.catch_warnings():  # invalid escape sequences in old code
            warnings.simplefilter("ignore")
            return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _orm_links(file: IndexedFile, tree: ast.Module, names: TableNames) -> list[CodeLink]:
    out = []
    for use in orm_uses(tree, file.path):
        table = names.resolve(use.schema, use.name)
        if table is not None:
            out.append(CodeLink(table, file.path, use.start_line, use.end_line,
                                file.symbol_at(use.start_line), use.kind, False))
    return out


def _sql_file_statements(file: IndexedFile) -> list[Literal]:
    try:
        statements = split_statements(file.text)
    except UnclosedError:  # a broken file: its stored units, one statement each
        return [Literal(u.text, u.start_line, u.end_line) for u in file.units]
    return [Literal(s.sql, s.line, s.line + s.sql.count("\n")) for s in statements]


def _worth_parsing(text: str, names: TableNames, *, whole_file: bool) -> bool:
    """A statement of a .sql file is SQL; a string in code must also look like one."""
    if not whole_file and (len(text) > MAX_SQL_CHARS or not _STATEMENT_START.match(text)):
        return False
    return names.named_in(text)


def sql_tables(text: str, names: TableNames, dialect: str) -> list[tuple[str, bool]]:
    """(table key, written) for each schema table the statement(s) in `text` use."""
    sql = _BRACES.sub(PLACEHOLDER, _PYFORMAT.sub("?", text)).replace("%%", "%")
    statements = _parse(sql, dialect)
    found: dict[str, bool] = {}
    for stmt in statements:
        for table, writes in _statement_tables(stmt, names):
            found[table] = found.get(table, False) or writes
    return list(found.items())


def _parse(sql: str, dialect: str) -> list[exp.Expression]:
    for read in dict.fromkeys([dialect or None, None]):
        try:
            return [s for s in sqlglot.parse(sql, read=read) if s is not None]
        except (SqlglotError, ValueError, RecursionError):
            continue
    return []


def _statement_tables(stmt: exp.Expression, names: TableNames) -> Iterator[tuple[str, bool]]:
    if isinstance(stmt, exp.Command):  # REPLACE INTO, which SQLite's dialect leaves unparsed
        rest = stmt.expression.name if isinstance(stmt.expression, exp.Expression) else ""
        m = _REPLACE_INTO.match(f"{stmt.this} {rest}")
        if m:
            *schema, name = m.group(1).replace('"', "").replace("`", "").split(".")
            table = names.resolve(schema[-1] if schema else None, name)
            if table:
                yield table, True
        return
    if isinstance(stmt, exp.Update) and not stmt.expressions:
        return  # "Update the orders" is prose, not SQL
    written = {id(t) for t in _write_targets(stmt)}
    ctes = {c.alias_or_name.lower() for c in stmt.find_all(exp.CTE)}
    for t in stmt.find_all(exp.Table):
        if not t.name or (not t.db and t.name.lower() in ctes):
            continue
        table = names.resolve(t.db or None, t.name)
        if table is not None:
            yield table, id(t) in written


def _write_targets(stmt: exp.Expression) -> Iterator[exp.Table]:
    """The tables whose rows the statement changes, in data-modifying CTEs too."""
    for node in stmt.find_all(*_WRITES):
        target = node.this
        if isinstance(target, exp.Schema):  # INSERT INTO t (a, b)
            target = target.this
        if isinstance(target, exp.Table):
            yield target
    for node in stmt.find_all(exp.TruncateTable):
        yield from (t for t in node.expressions if isinstance(t, exp.Table))


def _merged(links: Sequence[CodeLink]) -> list[CodeLink]:
    """One link per (table, place, kind), written if any statement there writes it."""
    out: dict[tuple, CodeLink] = {}
    for link in links:
        key = (link.table, link.path, link.start_line, link.end_line, link.kind)
        seen = out.get(key)
        out[key] = link if seen is None else replace(seen, writes=seen.writes or link.writes)
    return sorted(out.values(), key=link_order)


def link_order(link: CodeLink) -> tuple:
    return (link.table.lower(), KIND_ORDER.get(link.kind, 9), not link.writes, link.path,
            link.start_line)
