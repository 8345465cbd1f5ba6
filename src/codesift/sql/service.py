"""`codesift sql`'s operations over the catalog, for the CLI, the HTTP API and MCP alike:
learn a database, link it to the code that uses it, build a question's context, ask the
model, store a confirmed example, and run every stored example as a regression test."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import BadQueryError, SqlCheckError, UsageError
from .catalog import Catalog, SchemaDelta
from .code_links import LinkScan, link_code
from .connect import expand_url, open_engine
from .context import SqlContext, build_context
from .examples import ExampleIndex
from .generate import Attempt, Generated, generate
from .guard import Rows, explain, run_readonly
from .introspect import introspect
from .link import SchemaIndex
from .model import CodeLink, Example, Schema, Table
from .sources import read_docs, read_examples
from .validate import CheckedSql, check_sql

DEFAULT_BUDGET = 2000
MAX_QUESTION_CHARS = 4000


@dataclass(frozen=True, slots=True)
class Rejected:
    example: Example
    reason: str


@dataclass(frozen=True, slots=True)
class LearnReport:
    database: str
    delta: SchemaDelta
    tables: int
    columns: int
    samples: int  # columns with sample values
    docs: int  # sections stored
    notes: int  # column / table descriptions taken from a data dictionary
    examples_added: int
    rejected: tuple[Rejected, ...]
    seconds: float


@dataclass(frozen=True, slots=True)
class EvalCase:
    example: Example
    sql: str | None  # what the pipeline generated; None when no round passed the checks
    match: bool  # the generated SQL's rows equal the stored SQL's
    error: str = ""  # why not: the last check's message, or the run's error


@dataclass(frozen=True, slots=True)
class EvalReport:
    database: str
    cases: tuple[EvalCase, ...]
    seconds: float

    @property
    def accuracy(self) -> float:
        return sum(c.match for c in self.cases) / len(self.cases) if self.cases else 0.0


@dataclass(frozen=True, slots=True)
class CodeReport:
    database: str
    repo: str  # the repository's resolved root
    links: tuple[CodeLink, ...]  # as stored: by table, models first, then writes
    scan: LinkScan


@dataclass(frozen=True, slots=True)
class Answer:
    context: SqlContext
    generated: Generated
    rows: Rows | None = None


def check_question(question: str) -> str:
    q = (question or "").strip()
    if not q:
        raise BadQueryError("the question is empty", hint='ask something, e.g. '
                            'codesift sql ask "how many orders were placed last month?" --db shop')
    if len(q) > MAX_QUESTION_CHARS:
        raise BadQueryError(f"the question is {len(q):,} characters; at most "
                            f"{MAX_QUESTION_CHARS:,}", hint="ask a shorter question")
    return q


class SqlWorkspace:
    """The catalog with an embedder: what every `codesift sql` command works on.
    `embedder` None: lexical retrieval only (no model is loaded)."""

    def __init__(self, catalog: Catalog, embedder=None, *,
                 env: Mapping[str, str] | None = None) -> None:
        self.catalog = catalog
        self.env = env
        self._embed = None
        self._index: tuple[tuple[Schema, ...], SchemaIndex] | None = None  # the last one built
        if embedder is not None:
            from .vectors import VectorCache
            self._embed = VectorCache(catalog.home / "sql-vectors", embedder)

    # -- learning ----------------------------------------------------------------------

    def url(self, name: str) -> str:
        return expand_url(self.catalog.get(name).url, self.env)

    def learn(self, name: str, *, samples: bool = True, docs: Sequence[Path] = (),
              examples: Sequence[Path] = (), execute: bool = False,
              progress: Callable[[str, int, int], None] | None = None) -> LearnReport:
        """Introspect the database, merge what the docs say, validate and store the examples.
        Every file is read before anything is stored: a bad file changes nothing."""
        started = time.perf_counter()
        url = self.url(name)
        engine = open_engine(url)
        try:
            schema = introspect(engine, name, samples=samples, progress=progress)
        finally:
            engine.dispose()
        read = [read_docs(Path(p), schema) for p in docs]
        schema, notes = _with_notes(schema, read)
        pairs = [e for p in examples for e in read_examples(Path(p))]
        accepted, rejected = self.validate_examples(schema, url, pairs, execute=execute)
        delta = self.catalog.save_schema(name, schema)
        for path, got in zip(docs, read):
            self.catalog.replace_docs(name, str(Path(path).resolve()), got.sections)
        stored = self.catalog.add_examples(name, accepted) if accepted else []
        cols = sum(len(t.columns) for t in schema.tables)
        return LearnReport(name, delta, len(schema.tables), cols,
                           sum(bool(c.samples) for t in schema.tables for c in t.columns),
                           sum(len(r.sections) for r in read), notes, len(stored),
                           tuple(rejected), time.perf_counter() - started)

    def validate_examples(self, schema: Schema, url: str, pairs: Sequence[Example], *,
                          execute: bool = False
                          ) -> tuple[list[tuple[Example, tuple[str, ...]]], list[Rejected]]:
        """Each pair checked as generated SQL is (parse, names, read-only, EXPLAIN), and
        run under the guard with `execute`; the ones that fail are reported, not stored."""
        ok: list[tuple[Example, tuple[str, ...]]] = []
        bad: list[Rejected] = []
        for ex in pairs:
            try:
                checked = check_sql(ex.sql, schema, explain=lambda s: explain(url, s))
                if execute:
                    run_readonly(url, checked.sql, row_limit=1)
            except SqlCheckError as exc:
                bad.append(Rejected(ex, str(exc)))
                continue
            ok.append((replace(ex, sql=checked.sql), checked.tables))
        return ok, bad

    def add_example(self, name: str, question: str, sql: str, *, execute: bool = False
                    ) -> Example:
        """A pair the user confirmed: checked like a learned one, then stored."""
        question = check_question(question)
        schema = self.schema(name)
        ok, bad = self.validate_examples(schema, self.url(name),
                                         [Example(question, sql, "add-example")], execute=execute)
        if bad:
            raise SqlCheckError(f"the example was not stored: {bad[0].reason}")
        stored = self.catalog.add_examples(name, ok)
        return stored[0] if stored else next(
            e for e in self.catalog.examples(name) if e.question == question)

    def link_code(self, name: str, repo: str | Path, *, index_dir: str | Path | None = None
                  ) -> CodeReport:
        """Find where the indexed repository at `repo` uses `name`'s tables and store it,
        replacing what an earlier link of that repository stored. The index must exist
        (NoIndexError says how to build it); it is read, never updated."""
        from ..api import open_index
        schema = self.schema(name)
        with open_index(repo, index_dir=index_dir) as index:
            scan = link_code(index, schema)
            root = str(index.root)
        self.catalog.replace_code_links(name, root, scan.links, files=scan.files)
        return CodeReport(name, root, tuple(replace(k, repo=root) for k in scan.links), scan)

    # -- retrieval ---------------------------------------------------------------------

    def schema(self, name: str) -> Schema:
        schema = self.catalog.load_schema(name)
        if not schema.tables:
            raise UsageError(f"nothing is learned about {name!r} yet",
                             hint=f"run: codesift sql learn {name}")
        return schema

    def schemas(self, among: Sequence[str] | None = None) -> list[Schema]:
        """Every learned schema, or those named in `among` (a caller's databases)."""
        out = [self.catalog.load_schema(e.name) for e in self.catalog.list()
               if among is None or e.name in among]
        out = [s for s in out if s.tables]
        if not out:
            raise UsageError("no database has been learned yet",
                             hint="codesift sql add NAME URL, then codesift sql learn NAME")
        return out

    def context(self, question: str, *, database: str | None = None,
                budget: int = DEFAULT_BUDGET, count: Callable[[str], int],
                hide: Callable[[Example], bool] | None = None,
                among: Sequence[str] | None = None) -> SqlContext:
        """What the model would be sent. No `database`: every learned one (or each named in
        `among`) is searched and the best is chosen. `hide(example)` keeps an example out
        (leave-one-out)."""
        question = check_question(question)
        if budget < 100:
            raise UsageError(f"a budget of {budget} tokens is too small", hint="use 100 or more")
        schemas = [self.schema(database)] if database else self.schemas(among)
        index = self._schema_index(tuple(schemas))
        linked = index.link(question, database=database)
        chosen = linked.database
        examples = [e for e in self.catalog.examples(chosen) if hide is None or not hide(e)]
        ex_index = ExampleIndex(examples, index.schemas[chosen], self._embed) if examples else None
        return build_context(question, index, linked, ex_index, self.catalog.docs(chosen),
                             budget=budget, count=count, chose_database=database is None,
                             code=self.catalog.code_links(chosen))

    def _schema_index(self, schemas: tuple[Schema, ...]) -> SchemaIndex:
        """The index of these schemas, kept while they stay the same: building it (BM25
        over every table and column, their vectors looked up) costs ~50x a question's
        linking (153 ms against 3 ms over Spider's 166 databases)."""
        if self._index is None or self._index[0] != schemas:
            self._index = (schemas, SchemaIndex(schemas, self._embed))
        return self._index[1]

    # -- answering ---------------------------------------------------------------------

    def ask(self, ctx: SqlContext, client, *, max_rounds: int = 3, run: bool = False,
            row_limit: int = 1000, timeout_s: float = 10.0,
            on_delta: Callable[[str], None] | None = None,
            on_round: Callable[[Attempt], None] | None = None) -> Answer:
        url = self.url(ctx.database)
        schema = self.schema(ctx.database)
        generated = generate(ctx, schema, client, max_rounds=max_rounds,
                             explain=lambda s: explain(url, s, timeout_s=timeout_s),
                             on_delta=on_delta, on_round=on_round)
        rows = None
        if run and generated.checked is not None:
            rows = run_readonly(url, generated.checked.sql, row_limit=row_limit,
                                timeout_s=timeout_s)
        return Answer(ctx, generated, rows)

    def evaluate(self, name: str, client, *, count: Callable[[str], int],
                 budget: int = DEFAULT_BUDGET, max_rounds: int = 3, row_limit: int = 10_000,
                 timeout_s: float = 10.0, limit: int | None = None,
                 progress: Callable[[int, int, EvalCase], None] | None = None) -> EvalReport:
        """Every stored example through the whole pipeline, leave-one-out: the pair itself
        and any pair with the same normalised SQL are hidden from retrieval; a case passes
        when the generated SQL returns the stored SQL's rows (execution match)."""
        from .catalog import normalise_sql

        started = time.perf_counter()
        url = self.url(name)
        examples = self.catalog.examples(name)[:limit]
        if not examples:
            raise UsageError(f"{name!r} has no stored examples to evaluate",
                             hint=f"codesift sql learn {name} --examples FILE, or "
                                  "codesift sql add-example")
        cases: list[EvalCase] = []
        for i, ex in enumerate(examples):
            key = normalise_sql(ex.sql)
            ctx = self.context(ex.question, database=name, budget=budget, count=count,
                               hide=lambda e, ex=ex, key=key: e.id == ex.id
                               or normalise_sql(e.sql) == key)
            case = self._eval_case(ex, ctx, client, url, max_rounds, row_limit, timeout_s)
            cases.append(case)
            if progress is not None:
                progress(i + 1, len(examples), case)
        return EvalReport(name, tuple(cases), time.perf_counter() - started)

    def _eval_case(self, ex: Example, ctx: SqlContext, client, url: str, max_rounds: int,
                   row_limit: int, timeout_s: float) -> EvalCase:
        from ..errors import DatabaseError

        answer = self.ask(ctx, client, max_rounds=max_rounds, timeout_s=timeout_s)
        g = answer.generated
        if g.checked is None:
            return EvalCase(ex, None, False, g.attempts[-1].error if g.attempts else "no reply")
        try:
            gold = run_readonly(url, ex.sql, row_limit=row_limit, timeout_s=timeout_s)
            got = run_readonly(url, g.checked.sql, row_limit=row_limit, timeout_s=timeout_s)
        except (SqlCheckError, DatabaseError) as exc:
            return EvalCase(ex, g.checked.sql, False, str(exc))
        ordered = "order by" in ex.sql.lower()
        return EvalCase(ex, g.checked.sql, same_rows(gold, got, ordered=ordered))

    def run(self, name: str, checked: CheckedSql, *, row_limit: int = 1000,
            timeout_s: float = 10.0) -> Rows:
        return run_readonly(self.url(name), checked.sql, row_limit=row_limit, timeout_s=timeout_s)


def same_rows(a: Rows, b: Rows, *, ordered: bool = False) -> bool:
    """Execution match: the same rows (in the same order when the gold SQL orders them),
    column order aside, numbers compared to 6 significant digits."""
    def norm(row: tuple) -> tuple:
        return tuple(sorted((_value(v) for v in row), key=repr))
    left, right = [norm(r) for r in a.rows], [norm(r) for r in b.rows]
    if a.truncated != b.truncated or len(left) != len(right):
        return False
    return left == right if ordered else sorted(left, key=repr) == sorted(right, key=repr)


def _value(v: object) -> object:
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, (int, float)):
        return float(f"{float(v):.6g}")
    return str(v)


def _with_notes(schema: Schema, read: Sequence) -> tuple[Schema, int]:
    """Descriptions from data dictionaries put where the database itself has none."""
    columns: dict[tuple[str, str], str] = {}
    tables: dict[str, str] = {}
    for r in read:
        columns.update(r.column_notes)
        tables.update(r.table_notes)
    if not columns and not tables:
        return schema, 0
    used = 0
    out: list[Table] = []
    for t in schema.tables:
        cols = []
        for c in t.columns:
            note = columns.get((t.key, c.name))
            if note and not c.comment:
                c = replace(c, comment=note)
                used += 1
            cols.append(c)
        comment = t.comment
        if not comment and tables.get(t.key):
            comment = tables[t.key]
            used += 1
        out.append(replace(t, columns=tuple(cols), comment=comment))
    return replace(schema, tables=tuple(out)), used
