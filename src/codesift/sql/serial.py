"""Tables as JSON for the catalog: one row per table, so a re-learned schema rewrites only
the tables that changed (the JSON text is what is compared)."""

from __future__ import annotations

import json

from .model import Column, ForeignKey, Table


def table_to_json(table: Table) -> str:
    # Keys sorted and defaults written out: equal tables give byte-equal text.
    return json.dumps({
        "name": table.name, "schema": table.schema, "kind": table.kind,
        "comment": table.comment,
        "columns": [column_to_dict(c) for c in table.columns],
        "foreign_keys": [foreign_key_to_dict(fk) for fk in table.foreign_keys],
    }, sort_keys=True, ensure_ascii=False)


def table_from_json(text: str) -> Table:
    d = json.loads(text)
    return Table(name=d["name"], schema=d.get("schema"), kind=d.get("kind", "table"),
                 comment=d.get("comment", ""),
                 columns=tuple(column_from_dict(c) for c in d.get("columns", ())),
                 foreign_keys=tuple(foreign_key_from_dict(f) for f in d.get("foreign_keys", ())))


def column_to_dict(column: Column) -> dict:
    return {"name": column.name, "type": column.type, "nullable": column.nullable,
            "primary_key": column.primary_key, "comment": column.comment,
            "samples": list(column.samples)}


def column_from_dict(d: dict) -> Column:
    return Column(name=d["name"], type=d.get("type", ""), nullable=d.get("nullable", True),
                  primary_key=d.get("primary_key", False), comment=d.get("comment", ""),
                  samples=tuple(d.get("samples", ())))


def foreign_key_to_dict(fk: ForeignKey) -> dict:
    return {"columns": list(fk.columns), "ref_table": fk.ref_table,
            "ref_columns": list(fk.ref_columns)}


def foreign_key_from_dict(d: dict) -> ForeignKey:
    return ForeignKey(columns=tuple(d["columns"]), ref_table=d["ref_table"],
                      ref_columns=tuple(d["ref_columns"]))
