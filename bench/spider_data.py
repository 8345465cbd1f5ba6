"""Spider 1.0 (../shared/eval/spider) as codesift sql's values: every database of
tables.json as a Schema, the dev questions, and empty SQLite files built from the schemas
(the databases themselves are not shipped). Read at run time, never copied."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from codesift.sql.model import Column, ForeignKey, Schema, Table

SPIDER = Path(__file__).resolve().parents[2] / "shared" / "eval" / "spider"
SQLITE_TYPE = {"number": "INTEGER", "text": "TEXT", "time": "DATETIME", "boolean": "BOOLEAN",
               "others": "TEXT"}


@dataclass(frozen=True, slots=True)
class Question:
    db_id: str
    question: str
    sql: str


def available(root: Path = SPIDER) -> bool:
    return (root / "tables.json").is_file() and (root / "dev.json").is_file()


def _schema(entry: dict) -> Schema:
    names = entry["table_names_original"]
    cols = entry["column_names_original"]
    types = entry["column_types"]
    pks = set(entry["primary_keys"] if all(isinstance(p, int) for p in entry["primary_keys"])
              else [c for p in entry["primary_keys"] for c in p])
    fks: dict[int, list[ForeignKey]] = {}
    for src, dst in entry["foreign_keys"]:
        fks.setdefault(cols[src][0], []).append(
            ForeignKey((cols[src][1],), names[cols[dst][0]], (cols[dst][1],)))
    tables = []
    for t, name in enumerate(names):
        if name.lower().startswith("sqlite_"):  # SQLite's own (AUTOINCREMENT): not creatable
            continue
        columns = tuple(Column(name=c[1], type=SQLITE_TYPE.get(types[i], "TEXT"),
                               primary_key=i in pks)
                        for i, c in enumerate(cols) if c[0] == t)
        tables.append(Table(name=name, columns=columns, foreign_keys=tuple(fks.get(t, ()))))
    return Schema(database=entry["db_id"], dialect="sqlite", tables=tuple(tables))


def load_schemas(root: Path = SPIDER) -> dict[str, Schema]:
    """Every database of tables.json (166), by db_id."""
    return {e["db_id"]: _schema(e) for e in json.loads((root / "tables.json").read_text())}


def dev_questions(root: Path = SPIDER) -> list[Question]:
    return [Question(q["db_id"], q["question"], q["query"])
            for q in json.loads((root / "dev.json").read_text())]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def ddl(schema: Schema) -> list[str]:
    """CREATE TABLE statements for an empty copy of the schema."""
    out = []
    for t in schema.tables:
        parts = [f"{_q(c.name)} {c.type}" for c in t.columns]
        pk = [c.name for c in t.columns if c.primary_key]
        if pk:
            parts.append(f"PRIMARY KEY ({', '.join(map(_q, pk))})")
        parts += [f"FOREIGN KEY ({', '.join(map(_q, fk.columns))}) REFERENCES "
                  f"{_q(fk.ref_table)} ({', '.join(map(_q, fk.ref_columns))})"
                  for fk in t.foreign_keys]
        out.append(f"CREATE TABLE {_q(t.name)} ({', '.join(parts)})")
    return out


def build_sqlite(schema: Schema, path: Path) -> Path:
    """An empty SQLite database with the schema's tables, written once."""
    if not path.exists():
        tmp = path.with_name(path.name + ".tmp")
        tmp.unlink(missing_ok=True)
        with sqlite3.connect(tmp) as db:
            for stmt in ddl(schema):
                db.execute(stmt)
        db.close()
        tmp.rename(path)
    return path
