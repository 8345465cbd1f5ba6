"""`codesift sql`: questions in plain words -> checked SQL on your own databases.

    codesift sql add NAME URL          a SQLite file or a SQLAlchemy URL (${VAR} placeholders)
    codesift sql learn NAME            tables, keys, comments, sample values; --docs, --examples
    codesift sql link NAME --repo PATH where an indexed repository's code uses each table
    codesift sql context "Q" [--db]    exactly what the model would be sent
    codesift sql ask "Q" --db NAME     SQL from the LLM, checked and corrected; --run executes it
    codesift sql add-example NAME Q SQL / examples NAME / evaluate NAME / list / remove NAME
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import click

from .common import emit_json, friendly_errors, index_dir_option

home_option = click.option("--home", type=click.Path(file_okay=False), default=None,
                           help="The codesift home holding the catalog "
                                "(default: $CODESIFT_HOME or ~/.codesift-server).")


def _catalog(home):
    from ..sql.catalog import Catalog
    return Catalog(home)


def _workspace(home, *, dense: bool = True):
    from ..config import load_settings
    from ..embed import make_embedder
    from ..sql.service import SqlWorkspace

    settings = load_settings(Path.cwd())
    embedder = None
    if dense and settings.dense:
        from ..embed.base import split_spec
        opts = {"backend": "onnx", "threads": 1} if split_spec(settings.embedder)[0] == "local" \
            else {}
        embedder = make_embedder(settings.embedder, **opts)
    return SqlWorkspace(_catalog(home), embedder), settings


@click.group("sql")
def sql_group() -> None:
    """Text-to-SQL grounded in your schema, docs and example queries."""
    import logging
    # sqlglot warns on stderr when it falls back to a generic parse (VACUUM, REPLACE): the
    # checks report those statements themselves, in one line.
    logging.getLogger("sqlglot").setLevel(logging.ERROR)


@sql_group.command("add")
@click.argument("name")
@click.argument("url")
@home_option
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def add_cmd(name, url, home, as_json):
    """Add a database: a SQLite file path, or a SQLAlchemy URL such as
    postgresql://user:${PGPASSWORD}@host/db (placeholders are expanded at connect time,
    never stored)."""
    from ..sql.connect import redact
    with _catalog(home) as cat:
        entry = cat.add(name, url)
    if as_json:
        return emit_json(_entry(entry))
    click.echo(f"added {entry.name}: {redact(entry.url)} ({entry.dialect})")
    click.echo(f"next: codesift sql learn {entry.name}", err=True)


@sql_group.command("list")
@home_option
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def list_cmd(home, as_json):
    """The databases in the catalog, with what is learned about each."""
    from ..sql.connect import redact
    with _catalog(home) as cat:
        entries = cat.list()
    if as_json:
        return emit_json([_entry(e) for e in entries])
    if not entries:
        click.echo("no databases yet: codesift sql add NAME URL", err=True)
    for e in entries:
        learned = f"{e.tables} tables, {e.examples} examples, {e.docs} doc sections" \
            if e.learned_at else "not learned yet"
        click.echo(f"{e.name}\t{e.dialect}\t{redact(e.url)}\t{learned}")


@sql_group.command("remove")
@click.argument("name")
@home_option
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def remove_cmd(name, home, as_json):
    """Forget a database and everything learned about it (the database is not touched)."""
    with _catalog(home) as cat:
        entry = cat.remove(name)
    if as_json:
        return emit_json(_entry(entry))
    click.echo(f"removed {entry.name}")


@sql_group.command("learn")
@click.argument("name")
@home_option
@click.option("--no-samples", is_flag=True,
              help="Read no row of any table (for databases holding personal data).")
@click.option("--docs", "docs", multiple=True, type=click.Path(exists=True),
              help="Documentation: Markdown, a data-dictionary CSV, or a folder (repeatable).")
@click.option("--examples", "examples", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Question->SQL pairs: .json, .jsonl, .csv, or .sql with the question in "
                   "comments (repeatable). Each is checked before it is stored.")
@click.option("--execute", is_flag=True, help="Also run each example (read-only, 1 row).")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def learn_cmd(name, home, no_samples, docs, examples, execute, as_json):
    """Read NAME's tables, columns, keys, comments and sample values; add docs and examples.
    Learning again updates only what changed."""
    ws, _ = _workspace(home, dense=False)
    say = (lambda *_: None) if as_json else _stage_printer()
    with ws.catalog:
        report = ws.learn(name, samples=not no_samples, docs=[Path(p) for p in docs],
                          examples=[Path(p) for p in examples], execute=execute, progress=say)
    if as_json:
        return emit_json(_learn_dict(report))
    d = report.delta
    click.echo(f"{report.database}: {report.tables} tables, {report.columns} columns "
               f"({report.samples} with sample values); {len(d.added)} added, "
               f"{len(d.changed)} changed, {len(d.removed)} removed, {d.unchanged} unchanged "
               f"[{report.seconds:.1f}s]")
    if report.docs or report.notes:
        click.echo(f"docs: {report.docs} sections, {report.notes} descriptions from dictionaries")
    if examples:
        click.echo(f"examples: {report.examples_added} stored, {len(report.rejected)} rejected")
    for r in report.rejected:
        click.echo(f"  rejected: {r.example.question[:70]!r}: {r.reason}", err=True)


@sql_group.command("link")
@click.argument("name")
@click.option("--repo", type=click.Path(file_okay=False), default=".", show_default=True,
              help="An indexed repository (codesift index PATH first).")
@index_dir_option
@home_option
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def link_cmd(name, repo, index_dir, home, as_json):
    """Link NAME's tables to the code that uses them in an indexed repository: ORM models
    (SQLAlchemy, Django), migrations and raw SQL strings. Linking the same repository again
    replaces its links; `codesift sql context` then cites them."""
    ws, _ = _workspace(home, dense=False)
    with ws.catalog:
        report = ws.link_code(name, repo, index_dir=index_dir)
    if as_json:
        return emit_json(_link_dict(report))
    by_table: dict[str, list] = {}
    for k in report.links:
        by_table.setdefault(k.table, []).append(k)
    for table, links in by_table.items():
        click.echo(table)
        for k in links:
            where = f"{k.path}:{k.start_line}" + (f"-{k.end_line}" if k.end_line > k.start_line
                                                 else "")
            what = k.kind + (" writes" if k.writes else "")
            click.echo(f"  {where}\t{k.symbol or '-'}\t{what}")
    s = report.scan
    click.echo(f"{report.database}: {len(report.links)} places for {len(by_table)} tables in "
               f"{report.repo} ({s.files} files, {s.units} units read) [{s.seconds:.1f}s]",
               err=True)


@sql_group.command("context")
@click.argument("question")
@click.option("--db", "database", default=None, help="The database (default: the best match "
              "among all learned ones).")
@click.option("--budget", type=click.IntRange(100), default=None,
              help="Token budget for schema + examples + docs (default 2000).")
@home_option
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def context_cmd(question, database, budget, home, as_json):
    """Print exactly what would be sent to the model for QUESTION."""
    from ..sql.generate import messages_for
    from ..sql.service import DEFAULT_BUDGET
    from ..tokenizer import make_tokenizer

    ws, settings = _workspace(home)
    with ws.catalog:
        ctx = ws.context(question, database=database, budget=budget or DEFAULT_BUDGET,
                         count=make_tokenizer(settings.tokenizer, settings.llm_model).count)
    messages = messages_for(ctx)
    if as_json:
        return emit_json({**ctx.to_dict(), "messages": messages})
    from ..sql.generate import format_messages
    click.echo(format_messages(messages))
    click.echo(f"\n[{ctx.database}: {len(ctx.shown_tables)} tables, {len(ctx.examples)} "
               f"examples, {len(ctx.docs)} doc sections, {ctx.tokens} tokens of {ctx.budget}]",
               err=True)


@sql_group.command("ask")
@click.argument("question")
@click.option("--db", "database", default=None, help="The database (default: the best match).")
@click.option("--run", "run_it", is_flag=True, help="Execute the SQL (read-only) and print rows.")
@click.option("--max-rounds", type=click.IntRange(1, 10), default=3, show_default=True,
              help="Replies from the model at most: a failed check goes back with its error.")
@click.option("--budget", type=click.IntRange(100), default=None)
@click.option("--row-limit", type=click.IntRange(1), default=1000, show_default=True)
@click.option("--timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="Seconds a query (and EXPLAIN) may run.")
@click.option("--model", default=None, help="LLM model (default: llm_model setting).")
@home_option
@click.option("--json", "as_json", is_flag=True)
@click.option("--csv", "as_csv", is_flag=True, help="With --run: the rows as CSV on stdout.")
@friendly_errors
def ask_cmd(question, database, run_it, max_rounds, budget, row_limit, timeout, model, home,
            as_json, as_csv):
    """SQL for QUESTION from the configured LLM, checked (parse, names, read-only, EXPLAIN)
    and corrected; with --run, executed read-only with a row limit and a timeout."""
    from ..errors import LLMNotConfiguredError
    from ..llm import client_from_settings
    from ..sql.service import DEFAULT_BUDGET
    from ..tokenizer import make_tokenizer

    ws, settings = _workspace(home)
    settings = settings.with_overrides(llm_model=model)
    with ws.catalog:
        ctx = ws.context(question, database=database, budget=budget or DEFAULT_BUDGET,
                         count=make_tokenizer(settings.tokenizer, settings.llm_model).count)
        try:
            client = client_from_settings(settings)
        except LLMNotConfiguredError as exc:
            return _no_llm(ctx, as_json, exc)
        quiet = as_json or as_csv
        stream = None if quiet else (lambda d: click.echo(d, nl=False, err=True))
        note = None if quiet else (lambda a: click.echo(f"\n[check failed: {a.error}; asking "
                                                        "again]", err=True))
        with client:
            answer = ws.ask(ctx, client, max_rounds=max_rounds, run=run_it, row_limit=row_limit,
                            timeout_s=timeout, on_delta=stream, on_round=note)
    if as_json:
        return emit_json(_answer_dict(answer))
    if not quiet:
        click.echo(err=True)
    g = answer.generated
    if not g.ok:
        last = g.attempts[-1].error if g.attempts else "no reply"
        click.echo(f"error: no SQL passed the checks in {len(g.attempts)} rounds: {last}",
                   err=True)
        sys.exit(1)
    if as_csv and answer.rows is not None:
        return _write_csv(answer.rows)
    click.echo(g.checked.sql)
    if answer.rows is not None:
        _print_rows(answer.rows)
    _print_sources(answer.context)


@sql_group.command("add-example")
@click.argument("name")
@click.argument("question")
@click.argument("sql")
@click.option("--execute", is_flag=True, help="Also run it (read-only, 1 row) before storing.")
@home_option
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def add_example_cmd(name, question, sql, execute, home, as_json):
    """Store a question->SQL pair you confirmed, after the same checks as generated SQL."""
    ws, _ = _workspace(home, dense=False)
    with ws.catalog:
        ex = ws.add_example(name, question, sql, execute=execute)
    if as_json:
        return emit_json({"id": ex.id, "question": ex.question, "sql": ex.sql})
    click.echo(f"stored example {ex.id} for {name}")


@sql_group.command("examples")
@click.argument("name")
@home_option
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def examples_cmd(name, home, as_json):
    """The stored question->SQL pairs of NAME."""
    with _catalog(home) as cat:
        got = cat.examples(name)
    if as_json:
        return emit_json([{"id": e.id, "question": e.question, "sql": e.sql, "source": e.source}
                          for e in got])
    for e in got:
        click.echo(f"[{e.id}] {e.question}\n    {e.sql}")


@sql_group.command("evaluate")
@click.argument("name")
@click.option("--max-rounds", type=click.IntRange(1, 10), default=3, show_default=True)
@click.option("--budget", type=click.IntRange(100), default=None)
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N examples.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True)
@click.option("--model", default=None, help="LLM model (default: llm_model setting).")
@home_option
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def evaluate_cmd(name, max_rounds, budget, limit, timeout, model, home, as_json):
    """Run every stored example of NAME through the pipeline, leave-one-out, and report
    execution match against its stored SQL: a regression test for your own questions."""
    from ..llm import client_from_settings
    from ..sql.service import DEFAULT_BUDGET
    from ..tokenizer import make_tokenizer

    ws, settings = _workspace(home)
    settings = settings.with_overrides(llm_model=model)
    client = client_from_settings(settings)  # no LLM: a one-line error with the settings hint

    def show(done, total, case):
        if not as_json:
            mark = "ok  " if case.match else "FAIL"
            why = f"  ({case.error})" if case.error else ""
            click.echo(f"[{done}/{total}] {mark} {case.example.question[:70]}{why}", err=True)

    with ws.catalog, client:
        report = ws.evaluate(name, client, count=make_tokenizer(settings.tokenizer,
                                                                settings.llm_model).count,
                             budget=budget or DEFAULT_BUDGET, max_rounds=max_rounds,
                             timeout_s=timeout, limit=limit, progress=show)
    if as_json:
        return emit_json({"database": report.database, "examples": len(report.cases),
                          "execution_match": round(report.accuracy, 4),
                          "seconds": round(report.seconds, 1),
                          "cases": [{"id": c.example.id, "question": c.example.question,
                                     "expected": c.example.sql, "generated": c.sql,
                                     "match": c.match, "error": c.error or None}
                                    for c in report.cases]})
    n = len(report.cases)
    click.echo(f"{report.database}: execution match {sum(c.match for c in report.cases)}/{n} "
               f"({report.accuracy:.1%}) in {report.seconds:.1f}s")


def _stage_printer():
    def say(stage: str, done: int, total: int) -> None:
        if total and (done == total or done % 50 == 0):
            click.echo(f"\r{stage}: {done}/{total}", nl=done == total, err=True)
    return say


def _entry(e) -> dict:
    from ..sql.shapes import entry_dict
    return entry_dict(e)


def _learn_dict(r) -> dict:
    d = r.delta
    return {"database": r.database, "tables": r.tables, "columns": r.columns,
            "columns_with_samples": r.samples,
            "changes": {"added": list(d.added), "changed": list(d.changed),
                        "removed": list(d.removed), "unchanged": d.unchanged,
                        "examples_removed": d.examples_removed, "docs_unlinked": d.docs_unlinked},
            "docs": r.docs, "notes": r.notes, "examples_added": r.examples_added,
            "rejected": [{"question": x.example.question, "sql": x.example.sql,
                          "reason": x.reason} for x in r.rejected],
            "seconds": round(r.seconds, 2)}


def _link_dict(r) -> dict:
    from ..sql.context import code_link_dict
    s = r.scan
    return {"database": r.database, "repo": r.repo,
            "tables": len({k.table for k in r.links}),
            "links": [code_link_dict(k) for k in r.links],
            "files": s.files, "units": s.units, "statements": s.statements,
            "seconds": round(s.seconds, 3)}


def _answer_dict(a) -> dict:
    from ..sql.shapes import answer_dict  # the HTTP API and MCP return the same shape
    return answer_dict(a)


def _no_llm(ctx, as_json, exc) -> None:
    from ..sql.generate import messages_for
    hint = ("No LLM is configured, so this is the context SQL would be written from. Set "
            "llm_base_url and llm_model (codesift.toml, or CODESIFT_LLM_BASE_URL and "
            "CODESIFT_LLM_MODEL).")
    if as_json:
        return emit_json({"sql": None, "ok": False, "llm": hint, "error": str(exc),
                          "context": ctx.to_dict(), "messages": messages_for(ctx)})
    from ..sql.generate import format_messages
    click.echo(format_messages(messages_for(ctx)))
    click.echo(f"\n{hint}", err=True)


def _print_rows(rows) -> None:
    cols = list(rows.columns)
    widths = [min(40, max([len(str(c))] + [len(str(r[i])) for r in rows.rows[:50]]))
              for i, c in enumerate(cols)]
    click.echo("\n" + "  ".join(str(c).ljust(w) for c, w in zip(cols, widths)))
    for r in rows.rows:
        click.echo("  ".join(str(v)[:40].ljust(w) for v, w in zip(r, widths)))
    more = " (row limit reached: more rows exist)" if rows.truncated else ""
    click.echo(f"[{len(rows.rows)} rows in {rows.seconds * 1000:.0f} ms{more}]", err=True)


def _write_csv(rows) -> None:
    out = csv.writer(sys.stdout)
    out.writerow(rows.columns)
    out.writerows(rows.rows)


def _print_sources(ctx) -> None:
    tables = ", ".join(ctx.shown_tables)
    click.echo(f"— from {ctx.database}: tables {tables}", err=True)
    for s in ctx.examples:
        click.echo(f"  example {s.example.id}: {s.example.question}", err=True)
    for d in ctx.docs:
        click.echo(f"  doc: {d.title} ({d.path})", err=True)
