"""check_sql on Spider: the share of dev gold SQL it passes (EXPLAIN on an empty SQLite copy
included), and how many broken or writing variants of that SQL it catches.

    cd /work/wt-sqlcheck && PYTHONPATH=src /work/main/.venv/bin/python bench/sql_validate.py

Mutations: every column reference of every gold query replaced by a name no table of its
database has, plain and in double quotes; every table reference likewise; and a fixed list
of writes built from a seeded sample of 100 gold queries, each checked by check_sql and run
through guard.run_readonly directly (the second guard, with check_sql bypassed).
Prints the figures as JSON, then as a table.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import _common  # noqa: F401  (sets the import path)
import spider_data
from sqlglot import exp, parse_one

from codesift.errors import CodesiftError, SqlCheckError
from codesift.sql import guard
from codesift.sql.model import Schema
from codesift.sql.validate import check_sql

CACHE = _common.ROOT / "bench" / ".cache" / "spider_sqlite"

# {t}: a table of the query, {c}: one of its columns, {q}: the gold query itself.
WRITES = {
    "DELETE": "DELETE FROM {t}",
    "UPDATE": "UPDATE {t} SET {c} = NULL",
    "INSERT": "INSERT INTO {t} {q}",
    "REPLACE": "REPLACE INTO {t} {q}",
    "CREATE": "CREATE TABLE copy AS {q}",
    "DROP": "DROP TABLE {t}",
    "ALTER": "ALTER TABLE {t} ADD COLUMN extra TEXT",
    "ATTACH": "ATTACH DATABASE '/tmp/elsewhere.db' AS elsewhere",
    "PRAGMA": "PRAGMA writable_schema = ON",
    "VACUUM": "VACUUM",
    "write in a CTE": "WITH gone AS (DELETE FROM {t} RETURNING *) {q}",
    "second statement": "{q}; DROP TABLE {t}",
    "denylisted function": "SELECT load_extension('/tmp/evil.so') FROM {t}",
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sample", type=int, default=100, help="gold queries the writes wrap")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if not spider_data.available():
        raise SystemExit(f"Spider is not at {spider_data.SPIDER}")
    CACHE.mkdir(parents=True, exist_ok=True)
    schemas = spider_data.load_schemas()
    questions = spider_data.dev_questions()
    started = time.perf_counter()
    result = {"gold": gold(questions, schemas)}
    result["mutations"] = mutations(questions, schemas)
    result["writes"] = writes(random.Random(args.seed).sample(questions, args.sample), schemas)
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result, indent=1))
    print_table(result)


def _url(schema: Schema) -> str:
    path = spider_data.build_sqlite(schema, CACHE / f"{schema.database}.sqlite")
    return f"sqlite:///{path.resolve()}"


def _check(sql: str, schema: Schema, *, explain: bool = True) -> str | None:
    """None when it passes, else the error line."""
    url = _url(schema)
    try:
        check_sql(sql, schema, explain=(lambda s: guard.explain(url, s)) if explain else None)
    except SqlCheckError as exc:
        return str(exc)
    return None


def gold(questions: list[spider_data.Question], schemas: dict[str, Schema]) -> dict:
    failures = [{"db": q.db_id, "sql": q.sql, "message": msg} for q in questions
                if (msg := _check(q.sql, schemas[q.db_id])) is not None]
    passed = len(questions) - len(failures)
    return {"total": len(questions), "passed": passed,
            "percent": round(100 * passed / len(questions), 2), "failures": failures}


# --- names replaced ----------------------------------------------------------------------

def mutations(questions: list[spider_data.Question], schemas: dict[str, Schema]) -> dict:
    kinds: dict[str, Callable[[str, Schema], Iterator[str]]] = {
        "column, plain": lambda sql, s: _column_variants(sql, s, quoted=False),
        "column, double-quoted": lambda sql, s: _column_variants(sql, s, quoted=True),
        "table": _table_variants,
    }
    out = {}
    for kind, variants in kinds.items():
        missed, total, static = [], 0, 0
        for q in questions:
            for sql in variants(q.sql, schemas[q.db_id]):
                total += 1
                if _check(sql, schemas[q.db_id]) is None:
                    missed.append({"db": q.db_id, "sql": sql})
                static += _check(sql, schemas[q.db_id], explain=False) is not None
        # "static": caught before EXPLAIN; SQLite's EXPLAIN cannot catch a quoted typo at all
        out[kind] = {"total": total, "caught": total - len(missed), "caught_static": static,
                     "missed": missed}
    return out


def _column_variants(sql: str, schema: Schema, *, quoted: bool) -> Iterator[str]:
    """The query once per column reference, that reference renamed to no column at all."""
    tree = parse_one(sql, read="sqlite")
    names = {c.name.lower() for t in schema.tables for c in t.columns}
    read = {t.name.lower() for t in tree.find_all(exp.Table)}
    columns = {c.name.lower() for t in schema.tables if t.name.lower() in read
               for c in t.columns}
    for col in tree.find_all(exp.Column):
        ident = col.this
        if not isinstance(ident, exp.Identifier) or ident.name.lower() not in columns:
            continue  # `*`, an alias, a double-quoted string
        wrong = _wrong_name(ident.name, names)
        yield _splice(sql, ident, f'"{wrong}"' if quoted else wrong)


def _table_variants(sql: str, schema: Schema) -> Iterator[str]:
    tree = parse_one(sql, read="sqlite")
    names = {t.name.lower() for t in schema.tables}
    for table in tree.find_all(exp.Table):
        if isinstance(table.this, exp.Identifier) and table.name.lower() in names:
            yield _splice(sql, table.this, _wrong_name(table.name, names))


def _wrong_name(name: str, taken: set[str]) -> str:
    """A likely typo (last letter dropped, an s added) that names nothing in the schema."""
    for wrong in (name[:-1], name + "s", name + "_x"):
        if len(wrong) > 1 and wrong.lower() not in taken:
            return wrong
    return name + "_nowhere"


def _splice(sql: str, ident: exp.Identifier, text: str) -> str:
    start, end = ident.meta["start"], ident.meta["end"]  # end inclusive, quotes included
    return sql[:start] + text + sql[end + 1:]


# --- writes --------------------------------------------------------------------------------

def writes(sample: list[spider_data.Question], schemas: dict[str, Schema]) -> dict:
    """Each template over each sampled query: caught by check_sql, and refused by
    run_readonly called directly."""
    out = {}
    for kind, template in WRITES.items():
        checked = guarded = 0
        missed = []
        for q in sample:
            schema = schemas[q.db_id]
            sql = _fill(template, q.sql, schema)
            checked += _check(sql, schema) is not None
            refused = _refused(sql, schema)
            guarded += refused
            if not refused:
                missed.append({"db": q.db_id, "sql": sql})
        out[kind] = {"total": len(sample), "caught": checked, "guard_refused": guarded,
                     "guard_missed": missed}
    return out


def _fill(template: str, sql: str, schema: Schema) -> str:
    tree = parse_one(sql, read="sqlite")
    table = schema.table(next(tree.find_all(exp.Table)).name)
    return template.format(t=table.name, c=table.columns[-1].name, q=sql)


def _refused(sql: str, schema: Schema) -> bool:
    """Whether the guard refuses it and the database file is unchanged."""
    path = Path(_url(schema).removeprefix("sqlite:///"))
    before = path.read_bytes()
    try:
        guard.run_readonly(_url(schema), sql, timeout_s=10)
    except CodesiftError:
        return path.read_bytes() == before
    return False


def print_table(result: dict) -> None:
    g = result["gold"]
    print(f"\nSpider dev gold SQL passing check_sql (with EXPLAIN): "
          f"{g['passed']}/{g['total']} ({g['percent']}%)")
    for f in g["failures"]:
        print(f"  FAIL {f['db']}: {f['sql']}\n       {f['message']}")
    print(f"\n{'mutation':<24}{'caught':>14}{'guard refused':>16}{'without EXPLAIN':>18}")
    for kind, m in result["mutations"].items():
        print(f"{kind:<24}{m['caught']:>7}/{m['total']:<6}{'':>16}"
              f"{m['caught_static']:>11}/{m['total']:<6}")
    for kind, m in result["writes"].items():
        print(f"{kind:<24}{m['caught']:>7}/{m['total']:<6}"
              f"{m['guard_refused']:>9}/{m['total']:<6}")
    counts = collections.Counter()
    for m in [*result["mutations"].values(), *result["writes"].values()]:
        counts["caught"] += m["caught"]
        counts["total"] += m["total"]
    print(f"{'all':<24}{counts['caught']:>7}/{counts['total']:<6}")
    print(f"({result['seconds']} s)")


if __name__ == "__main__":
    main()
