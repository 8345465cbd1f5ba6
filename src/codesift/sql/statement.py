"""One generated SQL statement, parsed and screened: a single read-only query that calls no
denylisted function. Shared by validate.py (static checks) and guard.py (before running)."""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from codesift.errors import SqlCheckError
from codesift.sql.denylist import is_denied

__all__ = ["strip_sql", "parse_statement", "refuse_writes", "screen"]

_FENCE = re.compile(r"^\s*```[\w+-]*[ \t]*\n?(.*?)\n?[ \t]*```\s*$", re.DOTALL)
_TOKEN_REPR = re.compile(r"<Token token_type: [\w.]+, text: (.*?), line: .*?>")

# Nodes that write, change the session, or are statements no parser here understands
# (Command is sqlglot's catch-all: VACUUM, REPLACE, EXPLAIN, DO, CALL, ...). Some names are
# missing from some sqlglot releases, hence getattr.
_WRITES = tuple(getattr(exp, name) for name in (
    "Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "TruncateTable",
    "Command", "Pragma", "Attach", "Detach", "Set", "Use", "Transaction", "Commit",
    "Rollback", "Copy", "Into", "Lock", "Grant", "Revoke", "Kill", "Analyze", "Cache",
    "Uncache", "Refresh", "LoadData", "Comment", "Declare", "Execute")
    if hasattr(exp, name))
_KEYWORD = {"TruncateTable": "TRUNCATE", "Transaction": "BEGIN", "Into": "SELECT INTO",
            "LoadData": "LOAD DATA"}
_HINT = "only one SELECT query may run (WITH ... SELECT and UNION/INTERSECT/EXCEPT included)"


def strip_sql(sql: str) -> str:
    """The statement as an LLM tends to wrap it: fenced in ```sql ... ```, ending in `;`."""
    fenced = _FENCE.match(sql)
    text = fenced.group(1) if fenced else sql
    text = text.strip()
    while text.endswith(";"):
        text = text[:-1].rstrip()
    return text


def parse_statement(sql: str, dialect: str) -> exp.Expression:
    """Exactly one statement, parsed in the dialect."""
    try:
        found = sqlglot.parse(sql, read=dialect)
    except ParseError as exc:
        raise SqlCheckError(_parse_message(exc)) from exc
    except TokenError as exc:
        raise SqlCheckError(f"does not parse: {_one_line(str(exc))}") from exc
    # None and Semicolon are what empty statements and trailing comments parse to
    statements = [s for s in found if s is not None and not isinstance(s, exp.Semicolon)]
    if len(statements) != 1:
        raise SqlCheckError(f"only one SELECT statement may run: found {len(statements)}",
                            hint=_HINT)
    return statements[0]


def refuse_writes(tree: exp.Expression) -> None:
    """A query at the root, and nowhere a write (a DELETE in a CTE counts) or a denylisted call."""
    for node in tree.walk():
        if isinstance(node, _WRITES):
            raise SqlCheckError(f"not read-only: {_keyword(node)}", hint=_HINT)
    if not isinstance(tree, exp.Query):
        raise SqlCheckError(f"not a query: {_keyword(tree)}", hint=_HINT)
    for func in tree.find_all(exp.Func):
        # A known function's class stands for all its spellings; the original is lost.
        names = [func.name] if isinstance(func, exp.Anonymous) else func.sql_names()
        denied = next((n for n in names if is_denied(n)), None)
        if denied:
            raise SqlCheckError(f"function not allowed: {denied.lower()}",
                                hint="it acts outside the query (files, sessions, settings)")


def screen(sql: str, dialect: str) -> exp.Expression:
    """Parse and refuse in one step: what guard.py runs before a statement reaches a server."""
    tree = parse_statement(sql, dialect)
    refuse_writes(tree)
    return tree


def _keyword(node: exp.Expression) -> str:
    name = type(node).__name__
    if isinstance(node, exp.Command):
        return str(node.this).upper()
    if isinstance(node, exp.Lock):
        return "FOR UPDATE" if node.args.get("update") else "FOR SHARE"
    return _KEYWORD.get(name, name.upper())


def _parse_message(exc: ParseError) -> str:
    if not exc.errors:
        return f"does not parse: {_one_line(str(exc))}"
    err = exc.errors[0]
    what = _TOKEN_REPR.sub(r"'\1'", _one_line(err.get("description") or "syntax error"))
    near = f" near '{err['highlight']}'" if err.get("highlight") else ""
    return f"does not parse: {what}{near} (line {err.get('line')}, col {err.get('col')})"


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "syntax error"
