"""Schema linking on Spider dev, pooled (issue 17): all 166 databases of tables.json as one
catalog (SpiderUnion, CRUSH4SQL's harder setting), the 1,034 dev questions.

For each question: is the right database identified, what share of the gold SQL's tables is
in the top 5 tables and of its columns in the top 10 columns, and how many tokens the packed
schema takes — for codesift's linker (lexical + dense + foreign keys), its lexical half
alone, and plain BM25 over the same schema text (each table / column document, no stemming,
no fusion, no join paths); and codesift with the database named, as `--db` does; "whole
schema" sends every table of the right database, or of
the whole catalog.

    python bench/sql_linking.py [--json] [--no-dense] [--limit N]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import spider_data  # noqa: E402

from codesift.evaluate.baselines import BM25Index, Doc  # noqa: E402
from codesift.sql.link import SchemaIndex, column_text, table_text  # noqa: E402
from codesift.sql.model import Schema  # noqa: E402

CACHE = Path("/work/cache/sql-link")


def gold_names(sql: str, schema: Schema) -> tuple[set[str], set[tuple[str, str]]]:
    """The tables and (table, column) pairs the gold SQL reads, resolved through aliases and
    subqueries with sqlglot's scopes; `*` is no column."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.optimizer.scope import traverse_scope

    mapping = {t.name: {c.name: "TEXT" for c in t.columns} for t in schema.tables}
    tree = qualify(sqlglot.parse_one(sql, read="sqlite"), schema=mapping, dialect="sqlite",
                   quote_identifiers=False, validate_qualify_columns=False)
    tables = {t.name.lower() for t in tree.find_all(exp.Table)}
    columns: set[tuple[str, str]] = set()
    for scope in traverse_scope(tree):
        for col in scope.columns:
            source = scope.sources.get(col.table)
            if isinstance(source, exp.Table) and col.name != "*":
                columns.add((source.name.lower(), col.name.lower()))
    real = {t.name.lower() for t in schema.tables}
    return tables & real, {c for c in columns if c[0] in real}


def embed_fn():
    from codesift.embed import make_embedder

    model = make_embedder("local", backend="onnx", threads=1)
    return lambda texts: np.asarray(model.embed_documents(list(texts)), dtype=np.float32), model.id


def cached_vectors(texts: list[str], embed, model_id: str) -> np.ndarray:
    key = hashlib.sha256((model_id + "\x00" + "\x00".join(texts)).encode()).hexdigest()[:16]
    path = CACHE / f"vectors-{key}.npy"
    if path.exists():
        return np.load(path)
    CACHE.mkdir(parents=True, exist_ok=True)
    vectors = embed(texts)
    np.save(path, vectors)
    return vectors


def schema_tokens(schema: Schema, tables: set[str] | None = None) -> int:
    from codesift.tokenizer import count_tokens

    stmts = [s for s, t in zip(spider_data.ddl(schema), schema.tables)
             if tables is None or t.name.lower() in tables]
    return count_tokens("\n".join(stmts))


class PlainBM25:
    """The floor: BM25 over the same table and column texts with the history floors'
    tokenizer (no stemming), database = the top table's."""

    def __init__(self, schemas: list[Schema]) -> None:
        self.tables, self.columns, tdocs, cdocs = [], [], [], []
        for s in schemas:
            for t in s.tables:
                self.tables.append((s.database, t.name.lower()))
                tdocs.append(Doc(str(len(tdocs)), 0, 0, "", "", table_text(t)))
                for i, c in enumerate(t.columns):
                    self.columns.append((s.database, t.name.lower(), c.name.lower()))
                    cdocs.append(Doc(str(len(cdocs)), 0, 0, "", "", column_text(t, i)))
        self.t_index, self.c_index = BM25Index(tdocs), BM25Index(cdocs)

    def link(self, question: str, _db: str):
        ts = self.t_index.scores(question)
        order = np.argsort(-ts, kind="stable")
        db = self.tables[order[0]][0]
        tables = [self.tables[i][1] for i in order if self.tables[i][0] == db][:5]
        cs = self.c_index.scores(question)
        corder = np.argsort(-cs, kind="stable")
        cols = [self.columns[i][1:] for i in corder if self.columns[i][0] == db][:10]
        return db, tables, cols


def evaluate(questions, schemas, link) -> dict:
    n = len(questions)
    db_ok = t_rec = c_rec = t_all = c_all = tok = 0.0
    started = time.perf_counter()
    for q, (gt, gc) in questions:
        db, tables, cols = link(q.question, q.db_id)
        db_ok += db == q.db_id
        got_t = set(tables[:5]) if db == q.db_id else set()
        got_c = set(cols[:10]) if db == q.db_id else set()
        t_rec += len(gt & got_t) / len(gt) if gt else 1.0
        c_rec += len(gc & got_c) / len(gc) if gc else 1.0
        t_all += gt <= got_t
        c_all += gc <= got_c
        tok += schema_tokens(schemas[db], set(tables[:5]))
    ms = (time.perf_counter() - started) * 1000 / n
    return {"db_accuracy": round(db_ok / n, 4), "table_recall@5": round(t_rec / n, 4),
            "all_tables@5": round(t_all / n, 4), "column_recall@10": round(c_rec / n, 4),
            "all_columns@10": round(c_all / n, 4), "tokens_mean": round(tok / n, 1),
            "ms_per_question": round(ms, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-dense", action="store_true")
    ap.add_argument("--limit", type=int)
    args = ap.parse_args()
    if not spider_data.available():
        sys.exit("Spider is not in ../shared/eval/spider")
    schemas = spider_data.load_schemas()
    questions = [(q, gold_names(q.sql, schemas[q.db_id]))
                 for q in spider_data.dev_questions()[:args.limit]]
    pooled = list(schemas.values())

    results: dict[str, dict] = {}
    variants = {"bm25 (same schema text)": PlainBM25(pooled).link}
    lexical = SchemaIndex(pooled)
    variants["codesift lexical"] = _adapter(lexical)
    if not args.no_dense:
        embed, model_id = embed_fn()
        vectors = cached_vectors(lexical.texts(), embed, model_id)
        dense = SchemaIndex(pooled, embed, vectors)
        variants["codesift lexical + dense"] = _adapter(dense)
        variants["codesift lexical + dense, database given (--db)"] = _adapter(dense, given=True)
    for name, link in variants.items():
        results[name] = evaluate(questions, schemas, link)
        print(f"{name}: {results[name]}", file=sys.stderr, flush=True)
    whole_db = sum(schema_tokens(schemas[q.db_id]) for q, _ in questions) / len(questions)
    whole_catalog = sum(schema_tokens(s) for s in pooled)
    out = {"questions": len(questions), "databases": len(schemas),
           "tables": sum(len(s.tables) for s in pooled), "variants": results,
           "whole_schema_tokens": {"right database": round(whole_db, 1),
                                   "whole catalog": whole_catalog}}
    if args.json:
        print(json.dumps(out, indent=1))
        return
    cols = ["db_accuracy", "table_recall@5", "all_tables@5", "column_recall@10",
            "all_columns@10", "tokens_mean", "ms_per_question"]
    print("| variant | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for name, r in results.items():
        print(f"| {name} | " + " | ".join(str(r[c]) for c in cols) + " |")
    print(f"whole schema: {out['whole_schema_tokens']}  ({out['questions']} questions, "
          f"{out['databases']} databases, {out['tables']} tables)")


def _adapter(index: SchemaIndex, given: bool = False):
    def link(question: str, db: str):
        got = index.link(question, database=db if given else None, max_tables=5, max_columns=10)
        return (got.database, [t.table.lower() for t in got.tables],
                [(c.table.lower(), c.column.lower()) for c in got.columns])
    return link


if __name__ == "__main__":
    main()
