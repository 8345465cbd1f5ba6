"""The SQL agent tools as plain functions over a `SqlCall` (the service, who calls, the output
cap): sql_schema, sql_context and sql_query. Each returns compact text plus the same facts
as data, like the code tools of tools.py.
"""

# Text is what an agent reads: a schema as one line per column with its type, keys, comment
# and sample values (how the data is written: 'London', not 'london'); SQL as it will run;
# rows tab-separated under their column names. The data mirrors what the text shows.

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from .bounds import Bounds, fit
from .sql_service import Caller, SqlService
from .tools import ToolOutput

DEFAULT_BUDGET = 2000
MAX_CELL = 200  # characters of one value in the text (the data keeps it whole)


@dataclass(frozen=True, slots=True)
class SqlCall:
    """What one SQL tool call works with."""

    service: SqlService
    caller: Caller
    bounds: Bounds = field(default_factory=Bounds)


# -- sql_schema ------------------------------------------------------------------------------

def sql_schema(call: SqlCall, database: str) -> ToolOutput:
    from ..sql.shapes import schema_dict
    schema = call.service.schema(call.caller, database)
    tables = schema.tables
    header = f"{database} ({schema.dialect}): {len(tables)} tables and views"
    blocks = [_table_block(t) for t in tables]

    def note(shown: int) -> str:
        return (f"[truncated: {len(tables) - shown} of {len(tables)} tables left out by the "
                "output cap; sql_context with your question shows the ones it needs]")
    out = fit(header, blocks, call.bounds, note)
    data = schema_dict(schema)
    data["tables"] = data["tables"][:out.shown]
    data.update(total=len(tables), truncated=out.truncated)
    return ToolOutput(out.text, data)


def _table_block(table) -> str:
    single = {fk.columns[0]: fk for fk in table.foreign_keys if len(fk.columns) == 1}
    head = f"\n{table.key}" + (f" ({table.kind})" if table.kind != "table" else "") + \
        (f"  -- {table.comment}" if table.comment else "")
    lines = [head]
    for c in table.columns:
        code = f"  {c.name} {c.type}".rstrip()
        code += " PK" if c.primary_key else ("" if c.nullable else " NOT NULL")
        if c.name in single:
            fk = single[c.name]
            code += f" -> {fk.ref_table}.{fk.ref_columns[0]}"
        notes = [c.comment] if c.comment else []
        if c.samples:
            notes.append("e.g. " + ", ".join(repr(s) for s in c.samples))
        lines.append(code + (f"  -- {'; '.join(notes)}" if notes else ""))
    for fk in table.foreign_keys:
        if len(fk.columns) > 1:
            lines.append(f"  ({', '.join(fk.columns)}) -> {fk.ref_table} "
                         f"({', '.join(fk.ref_columns)})")
    return "\n".join(lines)


# -- sql_context -----------------------------------------------------------------------------

def sql_context(call: SqlCall, question: str, database: str | None = None,
                budget: int = DEFAULT_BUDGET) -> ToolOutput:
    from ..sql.generate import format_messages, messages_for
    # The packer never exceeds its budget; under the cap (less the header) it arrives whole.
    budget = max(100, min(budget, call.bounds.max_tokens - 200))
    ctx = call.service.context(call.caller, question, database=database, budget=budget)
    header = (f"context for {question[:80]!r} on {ctx.database} ({ctx.dialect}): "
              f"{len(ctx.shown_tables)} tables, {len(ctx.examples)} examples, "
              f"{len(ctx.docs)} doc sections, {ctx.tokens} of {ctx.budget} tokens")
    messages = messages_for(ctx)
    out = fit(header, [format_messages(messages)], call.bounds,
              lambda shown: "[truncated by the output cap]")
    return ToolOutput(out.text, {**ctx.to_dict(), "messages": messages})


# -- sql_query -------------------------------------------------------------------------------

def sql_query(call: SqlCall, question: str, database: str, run: bool = False,
              row_limit: int | None = None) -> ToolOutput:
    served = call.service.query(call.caller, question, database=database, run=run,
                                row_limit=row_limit)
    data = served.to_dict()
    g = served.answer.generated
    if not g.ok:
        last = g.attempts[-1].error if g.attempts else "no reply"
        tried = "\n".join(f"round {i}: {a.sql or '(no SQL)'}\n  refused: {a.error}"
                          for i, a in enumerate(g.attempts, start=1))
        text = (f"no SQL passed the checks in {len(g.attempts)} rounds: {last}\n{tried}\n"
                "[nothing was run; rephrase the question, or see sql_schema for the tables "
                "and columns that exist]")
        return ToolOutput(fit("", [text], call.bounds, lambda s: "").text, data)
    header = (f"SQL for {question[:80]!r} on {database} (checked: parses, names exist, "
              f"read-only, EXPLAIN; {len(g.attempts)} round(s)):\n{g.checked.sql}")
    rows = served.answer.rows
    if served.run_error is not None:
        header += f"\n[not run: {served.run_error}" + \
            (f"; {served.run_error.hint}]" if served.run_error.hint else "]")
    if rows is None:
        if not run:
            header += "\n[not run: call again with run=true to execute it read-only]"
        return ToolOutput(fit(header, [], call.bounds, lambda s: "").text, data)
    return _with_rows(call, header, rows, data)


def _with_rows(call: SqlCall, header: str, rows, data: dict) -> ToolOutput:
    more = " (row limit reached: more rows exist)" if rows.truncated else ""
    header += f"\n{len(rows.rows)} rows in {rows.seconds * 1000:.0f} ms{more}:\n" + \
        "\t".join(rows.columns)
    blocks = ["\t".join(_short(v) for v in r) for r in rows.rows]

    def note(shown: int) -> str:
        return (f"[truncated: rows {shown + 1}-{len(rows.rows)} left out by the output cap; "
                "ask for fewer columns or rows (row_limit)]")
    out = fit(header, blocks, call.bounds, note)
    data["rows"]["rows"] = data["rows"]["rows"][:out.shown]
    data["rows"]["shown"] = out.shown
    return ToolOutput(out.text, data)


def _short(value) -> str:
    text = "NULL" if value is None else str(value).replace("\t", " ").replace("\n", " ")
    return text if len(text) <= MAX_CELL else text[:MAX_CELL - 1] + "…"


# -- where calls get their service and caller ------------------------------------------------

class SqlTools:
    """The SQL tools' backend: one service, and the caller of each call taken from its MCP
    request context (`caller_of(ctx)`: the token of the HTTP request that carried it, or
    the fixed local user of a stdio server)."""

    def __init__(self, service: SqlService, caller_of: Callable[[Any], Caller],
                 bounds: Bounds | None = None,
                 observe: Callable[[str], AbstractContextManager] | None = None) -> None:
        self.service = service
        self.caller_of = caller_of
        self.bounds = bounds or Bounds()
        self._observe = observe or (lambda name: nullcontext())

    def run(self, tool: Callable[..., ToolOutput], /, ctx: Any = None,
            **arguments) -> ToolOutput:
        with self._observe(tool.__name__):
            return tool(SqlCall(self.service, self.caller_of(ctx), self.bounds), **arguments)


def local_tools(service: SqlService, bounds: Bounds | None = None) -> SqlTools:
    """For a local stdio server: every database in the catalog, nothing audited (as the
    code tools of `codesift mcp` are unrestricted)."""
    from .auth import ANONYMOUS
    local = Caller(ANONYMOUS)
    return SqlTools(service, lambda ctx: local, bounds)
