"""`codesift sql`'s results as JSON: what `--json` prints, what the HTTP API returns and what
the MCP tools carry as data, one shape for all three."""

# Why cells are converted: drivers return Decimal, datetime, bytes, UUID and arrays, which
# json.dumps refuses; a reader of the JSON wants numbers as numbers where that is exact,
# and everything else as the text the database would print.

from __future__ import annotations

import datetime
import decimal
import math
from typing import Any

from .connect import redact
from .serial import column_to_dict, foreign_key_to_dict


def entry_dict(e) -> dict:
    """A catalog entry (catalog.DatabaseEntry); the URL redacted."""
    return {"name": e.name, "url": redact(e.url), "dialect": e.dialect,
            "learned_at": e.learned_at, "tables": e.tables, "examples": e.examples,
            "docs": e.docs}


def schema_dict(s) -> dict:
    """A learned schema (model.Schema): tables, columns with comments and sample values,
    keys."""
    return {"database": s.database, "dialect": s.dialect,
            "tables": [{"name": t.name, "schema": t.schema, "key": t.key, "kind": t.kind,
                        "comment": t.comment, "columns": [column_to_dict(c) for c in t.columns],
                        "foreign_keys": [foreign_key_to_dict(fk) for fk in t.foreign_keys]}
                       for t in s.tables]}


def answer_dict(a) -> dict:
    """`codesift sql ask --json`: the SQL (None when no round passed the checks), each
    round's SQL and error, the context it was written from, and the rows when it ran."""
    g = a.generated
    out = {"database": a.context.database, "question": a.context.question,
           "sql": g.checked.sql if g.ok else None, "ok": g.ok, "model": g.model,
           "tables": list(g.checked.tables) if g.ok else [],
           "rounds": [{"sql": x.sql, "error": x.error or None} for x in g.attempts],
           "context": a.context.to_dict()}
    if a.rows is not None:
        out["rows"] = rows_dict(a.rows)
    return out


def rows_dict(rows) -> dict:
    return {"columns": list(rows.columns), "rows": [[cell(v) for v in r] for r in rows.rows],
            "truncated": rows.truncated, "seconds": round(rows.seconds, 4)}


def cell(value: Any) -> Any:
    """One value as JSON can hold it."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, decimal.Decimal):
        as_float = float(value)
        exact = math.isfinite(as_float) and decimal.Decimal(repr(as_float)) == value
        return as_float if exact else str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (datetime.date, datetime.time)):  # datetime is a date
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [cell(v) for v in value]
    if isinstance(value, dict):
        return {str(k): cell(v) for k, v in value.items()}
    return str(value)
