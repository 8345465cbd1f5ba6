"""What the model is shown for a question: the linked tables (as CREATE TABLE text), the
selected examples and the relevant documentation, packed into a token budget.

The schema comes first and takes what it needs up to SCHEMA_SHARE of the budget, then the
examples, then the docs; a part's unused share passes to the next. A wide table is shown
with its linked columns and its keys, the rest named in one comment line, so a 40-column
table costs what its useful columns cost and is never left out for being wide — nor is a
large schema ever sent whole. A table linked to code (`codesift sql link`) carries a
one-line note of where the code uses it, so the model can name what the code calls it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..evaluate.baselines import BM25Index, Doc
from .code_links import link_order
from .examples import ExampleIndex, Selected
from .link import ColumnHit, Linked, SchemaIndex, TableHit, terms
from .model import CodeLink, DocSection, Schema, Table

SCHEMA_SHARE, EXAMPLES_SHARE = 0.6, 0.25  # the docs get the rest, and what is left over
WIDE_TABLE = 12  # more columns than this: only the linked ones and the keys are written out
WIDE_SHOWN = 8  # of a wide table's columns, this many of the best linked ones
MAX_EXAMPLES = 3
MAX_DOCS = 3
MAX_CODE_LINKS = 5  # per shown table, in the JSON: models, then writes, then reads
NOTE_PLACES = 3  # per table, in the prompt's "-- used in:" line

Count = Callable[[str], int]


@dataclass(frozen=True, slots=True)
class SqlContext:
    database: str
    dialect: str
    question: str
    tables: tuple[TableHit, ...]  # ranked; those written into `schema` are `shown_tables`
    columns: tuple[ColumnHit, ...]
    examples: tuple[Selected, ...]
    docs: tuple[DocSection, ...]
    schema: str  # CREATE TABLE text of the shown tables
    shown_tables: tuple[str, ...]
    tokens: int  # of schema + examples + docs as packed, by the budget's counter
    budget: int
    databases: tuple[tuple[str, float], ...] = ()  # when no database was named: the ranking
    code: tuple[CodeLink, ...] = ()  # where linked repositories use the shown tables

    def to_dict(self) -> dict:
        return {
            "database": self.database, "dialect": self.dialect, "question": self.question,
            "tables": [{"name": t.table, "score": round(t.score, 4), "bridge": t.bridge,
                        "shown": t.table in self.shown_tables} for t in self.tables],
            "columns": [{"table": c.table, "column": c.column, "score": round(c.score, 4)}
                        for c in self.columns],
            "examples": [{"question": s.example.question, "sql": s.example.sql,
                          "id": s.example.id, "source": s.example.source,
                          "score": round(s.score, 4)} for s in self.examples],
            "docs": [{"title": d.title, "path": d.path, "text": d.text, "tables": list(d.tables)}
                     for d in self.docs],
            "schema": self.schema, "tokens": self.tokens, "budget": self.budget,
            "databases": [{"name": n, "score": round(s, 4)} for n, s in self.databases],
            "code": [code_link_dict(k) for k in self.code],
        }


def code_link_dict(k: CodeLink) -> dict:
    return {"table": k.table, "repo": k.repo, "path": k.path, "start_line": k.start_line,
            "end_line": k.end_line, "symbol": k.symbol, "kind": k.kind, "writes": k.writes}


def build_context(question: str, index: SchemaIndex, linked: Linked,
                  examples: ExampleIndex | None, docs: Sequence[DocSection], *, budget: int,
                  count: Count, chose_database: bool = False,
                  code: Sequence[CodeLink] = ()) -> SqlContext:
    """`linked` is index.link(question); `chose_database` when no database was named, so
    the ranking of databases is part of what is shown; `code` the database's code links."""
    schema = index.schemas[linked.database]
    by_table = links_by_table(code)
    notes = {key: code_note(links) for key, links in by_table.items()}
    schema_text, shown = pack_schema(schema, linked, int(budget * SCHEMA_SHARE), count, notes)
    used = count(schema_text)
    left = budget - used
    docs_share = int(budget * (1 - SCHEMA_SHARE - EXAMPLES_SHARE))
    chosen_examples = _pack_examples(examples, question, max(left - docs_share, 0), count)
    used += sum(count(example_text(s)) for s in chosen_examples)
    chosen_docs = _pack_docs(rank_docs(question, docs, shown), budget - used, count)
    used += sum(count(doc_text(d)) for d in chosen_docs)
    shown_code = tuple(k for key in shown for k in by_table.get(key.lower(), [])[:MAX_CODE_LINKS])
    return SqlContext(linked.database, schema.dialect, question, linked.tables, linked.columns,
                      tuple(chosen_examples), tuple(chosen_docs), schema_text, tuple(shown),
                      used, budget, linked.databases if chose_database else (), shown_code)


def links_by_table(code: Sequence[CodeLink]) -> dict[str, list[CodeLink]]:
    """Lowercased table key -> its links, best first (link_order)."""
    out: dict[str, list[CodeLink]] = {}
    for k in sorted(code, key=link_order):
        out.setdefault(k.table.lower(), []).append(k)
    return out


def code_note(links: Sequence[CodeLink]) -> str:
    """`-- used in: shop/models.py:9 (model Order), shop/db.py:40 (add_order, writes)`."""
    places = []
    for k in links[:NOTE_PLACES]:
        name = k.symbol.rsplit(".", 1)[-1]
        if k.kind.endswith("-model"):
            what = f"model {name}"
        else:
            what = ", ".join(p for p in (name, "writes" if k.writes else "",
                                         "migration" if k.kind == "migration" else "") if p)
        places.append(f"{k.path}:{k.start_line}" + (f" ({what})" if what else ""))
    return "-- used in: " + ", ".join(places) if places else ""


def pack_schema(schema: Schema, linked: Linked, budget: int, count: Count,
                notes: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """CREATE TABLE text for the linked tables in rank order while it fits the budget (the
    first table always, cut to its linked columns if need be); `notes` (lowercased table
    key -> a comment line) go under their tables and count against the budget."""
    notes = notes or {}
    wanted: dict[str, set[str]] = {}
    for c in linked.columns:  # best first: a wide table shows its WIDE_SHOWN best matches
        names = wanted.setdefault(c.table, set())
        if c.own > 0 and len(names) < WIDE_SHOWN:
            names.add(c.column.lower())
    parts: list[str] = []
    shown: list[str] = []
    used = 0
    for hit in linked.tables:
        table = schema.table(hit.table)
        if table is None:
            continue
        text = table_ddl(table, wanted.get(table.key, set()))
        if notes.get(table.key.lower()):
            text += "\n" + notes[table.key.lower()]
        cost = count(text)
        if shown and used + cost > budget:
            continue  # a smaller table further down may still fit
        parts.append(text)
        shown.append(table.key)
        used += cost
    return "\n\n".join(parts), shown


def table_ddl(table: Table, linked_columns: set[str]) -> str:
    """The table as CREATE TABLE with comments, sample values and foreign keys; a wide one
    with its linked columns and keys only, the others named in a comment."""
    keys = {c for fk in table.foreign_keys for c in fk.columns}
    wide = len(table.columns) > WIDE_TABLE
    single_pk = sum(c.primary_key for c in table.columns) == 1
    lines: list[tuple[str, str]] = []  # (definition, comment)
    hidden: list[str] = []
    for col in table.columns:
        if wide and not (col.primary_key or col.name in keys or col.name.lower() in linked_columns):
            hidden.append(col.name)
            continue
        code = f"  {_quote(col.name)} {col.type}".rstrip()
        if col.primary_key and single_pk:
            code += " PRIMARY KEY"
        notes = [col.comment] if col.comment else []
        if col.samples:
            notes.append("e.g. " + ", ".join(repr(s) for s in col.samples))
        lines.append((code, "; ".join(notes)))
    pk = [c.name for c in table.columns if c.primary_key]
    if len(pk) > 1:
        lines.append((f"  PRIMARY KEY ({', '.join(map(_quote, pk))})", ""))
    for fk in table.foreign_keys:
        lines.append((f"  FOREIGN KEY ({', '.join(map(_quote, fk.columns))}) REFERENCES "
                      f"{fk.ref_table} ({', '.join(map(_quote, fk.ref_columns))})", ""))
    body = "\n".join(code + ("," if i < len(lines) - 1 else "") + (f" -- {note}" if note else "")
                     for i, (code, note) in enumerate(lines))
    head = f"-- {table.comment}\n" if table.comment else ""
    more = f"\n-- {len(hidden)} more columns: {', '.join(hidden)}" if hidden else ""
    return f"{head}CREATE TABLE {_quote_key(table.key)} (\n{body}\n);{more}"


def _quote(name: str) -> str:
    simple = name.replace("_", "a").isalnum() and not name[:1].isdigit()
    return name if simple else '"' + name.replace('"', '""') + '"'


def _quote_key(key: str) -> str:
    return ".".join(_quote(p) for p in key.split("."))


def example_text(s: Selected) -> str:
    return f"-- {s.example.question}\n{s.example.sql.strip().rstrip(';')};"


def doc_text(d: DocSection) -> str:
    return f"## {d.title}\n{d.text.strip()}"


def _pack_examples(examples: ExampleIndex | None, question: str, budget: int,
                   count: Count) -> list[Selected]:
    if examples is None:
        return []
    out, used = [], 0
    for s in examples.select(question, MAX_EXAMPLES):
        cost = count(example_text(s))
        if used + cost <= budget:
            out.append(s)
            used += cost
    return out


def rank_docs(question: str, docs: Sequence[DocSection], tables: Sequence[str]) -> list[DocSection]:
    """Sections that share words with the question, those about a shown table first."""
    if not docs:
        return []
    index = BM25Index([Doc(str(i), 0, 0, "", "", f"{d.title}\n{d.text}") for i, d in enumerate(docs)],
                      tokenizer=terms, lucene_norms=False)
    scores = index.scores(question)
    shown = {t.lower() for t in tables}
    ranked = sorted(range(len(docs)), key=lambda i: -(scores[i] * (
        2.0 if shown & {t.lower() for t in docs[i].tables} else 1.0)))
    return [docs[i] for i in ranked if scores[i] > 0][:MAX_DOCS]


def _pack_docs(docs: Sequence[DocSection], budget: int, count: Count) -> list[DocSection]:
    out, used = [], 0
    for d in docs:
        cost = count(doc_text(d))
        if used + cost <= budget:
            out.append(d)
            used += cost
    return out


def render_schema(ctx: SqlContext) -> str:
    """The tables and the documentation, as the system message shows them."""
    parts = [f"Database {ctx.database} ({ctx.dialect}). Tables:\n\n{ctx.schema}"]
    if ctx.docs:
        parts.append("Documentation:\n\n" + "\n\n".join(doc_text(d) for d in ctx.docs))
    return "\n\n".join(parts)
