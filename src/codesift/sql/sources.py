"""Reading what `codesift sql learn` is given: example question -> SQL files (.json, .jsonl,
.csv, .sql) and documentation (Markdown, data-dictionary CSV, or a folder of them)."""

# Malformed input fails as one line naming the file and the record or line, before
# anything is stored: a learn either takes a whole file or none of it.

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from .model import DocSection, Example, Schema, Table
from .sql_files import UnclosedError, split_statements

EXAMPLE_SUFFIXES = (".json", ".jsonl", ".csv", ".sql")
DOC_SUFFIXES = (".md", ".markdown", ".csv")
SQL_KEYS = ("sql", "query")
_QUESTION_PREFIX = re.compile(r"^(?:q|question)\s*:\s*", re.IGNORECASE)


# -- examples -----------------------------------------------------------------------------

def read_examples(path: Path) -> list[Example]:
    """The question -> SQL pairs in `path`, each with `source` = the path."""
    path = Path(path)
    readers = {".json": _json_examples, ".jsonl": _jsonl_examples, ".csv": _csv_examples,
               ".sql": _sql_examples}
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise UsageError(f"cannot read examples from {path}",
                         hint="give a .json, .jsonl, .csv or .sql file")
    return reader(path, _read_text(path))


def _json_examples(path: Path, text: str) -> list[Example]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad(path, f"line {exc.lineno}", f"not valid JSON ({exc.msg})") from None
    if isinstance(data, dict) and isinstance(data.get("examples"), list):
        data = data["examples"]
    if not isinstance(data, list):
        raise _bad(path, "", "expected a list of {\"question\", \"sql\"} objects")
    return [_example(path, f"record {n}", item) for n, item in enumerate(data, start=1)]


def _jsonl_examples(path: Path, text: str) -> list[Example]:
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _bad(path, f"line {n}", f"not valid JSON ({exc.msg})") from None
        out.append(_example(path, f"line {n}", item))
    return out


def _csv_examples(path: Path, text: str) -> list[Example]:
    rows = csv.DictReader(io.StringIO(text, newline=""))
    fields = {_header(f): f for f in rows.fieldnames or () if f}
    sql_field = next((fields[k] for k in SQL_KEYS if k in fields), None)
    if "question" not in fields or sql_field is None:
        raise _bad(path, "line 1", "the header needs a question column and a sql (or query) "
                                   f"column, found: {', '.join(fields.values()) or 'nothing'}")
    out = []
    try:
        for row in rows:
            where = f"line {rows.line_num}"
            if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                continue
            out.append(_example(path, where, {"question": row.get(fields["question"]),
                                              "sql": row.get(sql_field)}))
    except csv.Error as exc:
        raise _bad(path, f"line {rows.line_num}", f"not valid CSV ({exc})") from None
    return out


def _sql_examples(path: Path, text: str) -> list[Example]:
    try:
        statements = split_statements(text)
    except UnclosedError as exc:
        raise _bad(path, f"line {exc.line}", str(exc)) from None
    out = []
    for st in statements:
        question = _QUESTION_PREFIX.sub("", " ".join(c for c in st.comments if c)).strip()
        if not question:
            raise _bad(path, f"line {st.line}", "a statement without a `-- question` "
                                                "comment right above it")
        out.append(Example(question=question, sql=st.sql, source=str(path)))
    return out


def _example(path: Path, where: str, item: object) -> Example:
    if not isinstance(item, dict):
        raise _bad(path, where, "expected an object with \"question\" and \"sql\"")
    question = item.get("question")
    sql = next((item[k] for k in SQL_KEYS if item.get(k) not in (None, "")), None)
    if not isinstance(question, str) or not question.strip():
        raise _bad(path, where, "no \"question\" text")
    if not isinstance(sql, str) or not sql.strip():
        raise _bad(path, where, "no \"sql\" (or \"query\") text")
    return Example(question=question.strip(), sql=sql.strip().rstrip(";").strip(),
                   source=str(path))


# -- documentation ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class DocsRead:
    """Documentation sections, and what a data dictionary said about single columns and
    tables (by the schema's names) for the caller to use where the database has no comment."""
    sections: tuple[DocSection, ...]
    column_notes: dict[tuple[str, str], str] = field(default_factory=dict)  # (table key, column)
    table_notes: dict[str, str] = field(default_factory=dict)  # table key -> description
    unmatched: tuple[str, ...] = ()  # dictionary entries naming no table/column in the schema


def read_docs(path: Path, schema: Schema) -> DocsRead:
    """Markdown split into sections by heading, or a data-dictionary CSV (one section per
    table); a folder: every .md, .markdown and .csv file under it, in path order."""
    path = Path(path)
    files = _doc_files(path)
    sections: list[DocSection] = []
    columns: dict[tuple[str, str], str] = {}
    tables: dict[str, str] = {}
    unmatched: list[str] = []
    for file in files:
        if file.suffix.lower() == ".csv":
            read = _dictionary(file, schema)
            columns.update(read.column_notes)
            tables.update(read.table_notes)
            unmatched += read.unmatched
            sections += read.sections
        else:
            sections += _markdown(file, _read_text(file), schema)
    return DocsRead(tuple(sections), columns, tables, tuple(unmatched))


def _doc_files(path: Path) -> list[Path]:
    if not path.exists():
        raise UsageError(f"no such file or folder: {path}")
    if path.is_dir():
        # Hidden folders (.git, .venv) hold no documentation of the database.
        files = sorted(p for p in path.rglob("*") if p.is_file()
                       and p.suffix.lower() in DOC_SUFFIXES
                       and not any(part.startswith(".") for part in p.relative_to(path).parts))
        if not files:
            raise UsageError(f"no documentation in {path}",
                             hint="it is read for .md, .markdown and .csv files")
        return files
    if path.suffix.lower() not in DOC_SUFFIXES:
        raise UsageError(f"cannot read documentation from {path}",
                         hint="give a Markdown (.md) file, a data-dictionary .csv, or a folder")
    return [path]


_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def _markdown(path: Path, text: str, schema: Schema) -> list[DocSection]:
    """One section per heading (titled by the headings above it too: "Orders > Status"),
    plus the text before the first heading, titled by the file's name."""
    out = []
    for title, body in _markdown_parts(text, path.stem):
        body = body.strip()
        if body:
            out.append(DocSection(title=title, text=body, path=str(path),
                                  tables=tables_named(f"{title}\n{body}", schema)))
    return out


def _markdown_parts(text: str, first_title: str) -> Iterator[tuple[str, str]]:
    stack: list[tuple[int, str]] = []
    title, lines, fence = first_title, [], None
    for line in text.splitlines():
        fence_mark = _FENCE.match(line)
        if fence_mark and (fence is None or fence_mark.group(1) == fence):
            fence = fence_mark.group(1) if fence is None else None
        heading = _HEADING.match(line) if fence is None and not fence_mark else None
        if heading is None:
            lines.append(line)
            continue
        yield title, "\n".join(lines)
        level = len(heading.group(1))
        stack = [(lv, t) for lv, t in stack if lv < level] + [(level, heading.group(2))]
        title, lines = " > ".join(t for _, t in stack), []
    yield title, "\n".join(lines)


def tables_named(text: str, schema: Schema) -> tuple[str, ...]:
    """The keys of the schema's tables whose name (or key) appears in `text` as a word,
    case-insensitively."""
    found = []
    for table in schema.tables:
        names = {table.name, table.key}
        if any(re.search(rf"(?<!\w){re.escape(n)}(?!\w)", text, re.IGNORECASE) for n in names):
            found.append(table.key)
    return tuple(found)


# -- data dictionary ----------------------------------------------------------------------

_TABLE_HEADERS = ("table", "table_name", "tablename", "entity")
_COLUMN_HEADERS = ("column", "column_name", "columnname", "field", "field_name", "attribute")
_DESC_HEADERS = ("description", "comment", "meaning", "definition", "notes", "desc")


def _dictionary(path: Path, schema: Schema) -> DocsRead:
    """Rows of (table, column, description); a row without a column describes the table."""
    rows = csv.DictReader(io.StringIO(_read_text(path), newline=""))
    fields = {_header(f): f for f in rows.fieldnames or () if f}
    table_f, column_f, desc_f = (next((fields[h] for h in names if h in fields), None)
                                 for names in (_TABLE_HEADERS, _COLUMN_HEADERS, _DESC_HEADERS))
    if table_f is None or desc_f is None:
        raise _bad(path, "line 1", "a data dictionary needs table and description columns, "
                                   f"found: {', '.join(fields.values()) or 'nothing'}")
    entries: dict[str, list[tuple[str, str]]] = {}  # table as written -> (column, text)
    try:
        for row in rows:
            table = (row.get(table_f) or "").strip()
            text = (row.get(desc_f) or "").strip()
            if table and text:
                column = (row.get(column_f) or "").strip() if column_f else ""
                entries.setdefault(table, []).append((column, text))
    except csv.Error as exc:
        raise _bad(path, f"line {rows.line_num}", f"not valid CSV ({exc})") from None
    return _dictionary_read(path, schema, entries)


def _dictionary_read(path: Path, schema: Schema,
                     entries: dict[str, list[tuple[str, str]]]) -> DocsRead:
    sections, columns, tables, unmatched = [], {}, {}, []
    for written, rows in entries.items():
        table = schema.table(written)
        key = table.key if table else written
        if table is None:
            unmatched.append(written)
        for column, text in rows:
            name = _column_name(table, column)
            if table and not column:
                tables[key] = f"{tables.get(key, '')} {text}".strip()
            elif name:
                columns[(key, name)] = text
            elif table:
                unmatched.append(f"{written}.{column}")
        body = "\n".join(f"{c}: {t}" if c else t for c, t in rows)
        sections.append(DocSection(title=key, text=body, path=str(path),
                                   tables=(key,) if table else ()))
    return DocsRead(tuple(sections), columns, tables, tuple(unmatched))


def _column_name(table: Table | None, column: str) -> str:
    found = table.column(column) if table and column else None
    return found.name if found else ""


# -- shared -------------------------------------------------------------------------------

def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")  # -sig: spreadsheets write a BOM
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path} is not UTF-8 text (byte {exc.start})",
                         hint="save it as UTF-8") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None


def _header(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def _bad(path: Path, where: str, what: str) -> UsageError:
    return UsageError(f"{path}{', ' + where if where else ''}: {what}",
                      hint="fix that record and learn the file again")
