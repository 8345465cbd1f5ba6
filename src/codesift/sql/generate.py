"""SQL from the model, checked, and sent back with the check's error until it passes.

The model sees the packed context (context.py) and answers with one statement; the reply's
SQL goes through check_sql (parse, names, read-only, EXPLAIN). A failure is returned to the
model as the next user turn, with the error, up to `max_rounds` replies in all: the error
message names what is wrong and what exists, which is what a model needs to fix it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import SqlCheckError
from .context import SqlContext, render_schema
from .model import Schema
from .validate import CheckedSql, check_sql

SYSTEM = ("You write SQL for the {dialect} database described below. Answer with exactly one "
          "read-only SELECT statement (WITH is allowed) in a ```sql code block, using only the "
          "tables and columns shown, and nothing else.")
RETRY = ("That SQL failed a check: {error}\nWrite the corrected statement: one SELECT in a "
         "```sql code block, using only the tables and columns shown.")

_FENCE = re.compile(r"```(?:sql|SQL|sqlite|postgresql|postgres)?\s*\n(.*?)(?:```|\Z)", re.DOTALL)
_CLOSED = re.compile(r"```[a-zA-Z]*\s*\n.*?```", re.DOTALL)
_START = re.compile(r"^\s*(WITH|SELECT)\b", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Attempt:
    reply: str  # the model's whole reply
    sql: str  # the SQL taken from it ("" when none was found)
    error: str  # the check's message; "" when it passed


@dataclass(frozen=True, slots=True)
class Generated:
    checked: CheckedSql | None  # None: no round produced SQL that passed
    attempts: tuple[Attempt, ...]
    model: str | None = None

    @property
    def ok(self) -> bool:
        return self.checked is not None


def messages_for(ctx: SqlContext) -> list[dict]:
    """The schema and docs in the system message, each example as a question the user asked
    and the SQL the assistant answered (few-shot turns: a model follows a demonstrated
    exchange more reliably than a list it may continue), then the question."""
    messages = [{"role": "system",
                 "content": SYSTEM.format(dialect=ctx.dialect) + "\n\n" + render_schema(ctx)}]
    for s in ctx.examples:
        messages += [{"role": "user", "content": s.example.question},
                     {"role": "assistant", "content": f"```sql\n{s.example.sql.strip()}\n```"}]
    messages.append({"role": "user", "content": ctx.question})
    return messages


def _endpoint_model(client, stream) -> str | None:
    """The model of the endpoint that answered, when the stream was left before its end
    (the reply's own model name arrives with the last chunk)."""
    name = getattr(stream, "endpoint", None)
    return next((e.model for e in getattr(client, "endpoints", ()) if e.name == name), None)


def format_messages(messages: list[dict]) -> str:
    """The chat as it would be sent, one headed block per message (for people to read)."""
    return "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in messages)


def extract_sql(reply: str) -> str:
    """The SQL of a reply: its first fenced block, else its first statement (from the first
    SELECT/WITH line to the first `;` outside quotes, or a blank line); prose dropped."""
    fenced = _FENCE.search(reply)
    if fenced:
        return first_statement(fenced.group(1))
    start = _START.search(reply)
    return first_statement(reply[start.start():]) if start else ""


def first_statement(text: str) -> str:
    """Up to the first `;` outside quotes, or the first blank line when there is none."""
    quote = ""
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"`":
            quote = ch
        elif ch == ";":
            return text[:i].strip()
    return text.split("\n\n", 1)[0].strip()


def generate(ctx: SqlContext, schema: Schema, client, *, max_rounds: int = 3,
             explain: Callable[[str], None] | None = None,
             on_delta: Callable[[str], None] | None = None,
             on_round: Callable[[Attempt], None] | None = None) -> Generated:
    """Ask, check, and ask again with the error, at most `max_rounds` times."""
    messages = messages_for(ctx)
    attempts: list[Attempt] = []
    model = None
    for _ in range(max(1, max_rounds)):
        stream = client.stream(list(messages))
        parts: list[str] = []
        try:
            for delta in stream:
                parts.append(delta)
                if on_delta is not None:
                    on_delta(delta)
                if "```" in delta and _CLOSED.search("".join(parts)):
                    break  # the SQL block is complete: what a model adds after it is not read
        finally:
            stream.close()
        model = getattr(stream.completion, "model", None) or _endpoint_model(client, stream) \
            or model
        reply = "".join(parts)
        sql = extract_sql(reply)
        try:
            if not sql:
                raise SqlCheckError("no SQL statement found in the reply")
            checked = check_sql(sql, schema, explain=explain)
        except SqlCheckError as exc:
            attempt = Attempt(reply, sql, str(exc))
            attempts.append(attempt)
            if on_round is not None:
                on_round(attempt)
            messages += [{"role": "assistant", "content": reply},
                         {"role": "user", "content": RETRY.format(error=exc)}]
            continue
        attempts.append(Attempt(reply, checked.sql, ""))
        return Generated(checked, tuple(attempts), model)
    return Generated(None, tuple(attempts), model)
