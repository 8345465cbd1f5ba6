"""`codesift sql` end to end through the CLI: real SQLite files (and a real PostgreSQL from
pgserver), the catalog in a temporary codesift home, and a scripted OpenAI-compatible server
on 127.0.0.1 standing in for the LLM provider."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import pg_database
from llm_server import Answer, llm_server  # noqa: F401  (the fixture)

from codesift.cli import main

SHOP = """
CREATE TABLE customers (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL, -- full name as printed on invoices
  city TEXT
);
CREATE TABLE products (id INTEGER PRIMARY KEY, title TEXT, price REAL);
CREATE TABLE orders (
  id INTEGER PRIMARY KEY,
  customer_id INTEGER REFERENCES customers(id),
  placed_at TEXT, -- ISO date the order was placed
  status TEXT
);
CREATE TABLE order_items (
  order_id INTEGER REFERENCES orders(id),
  product_id INTEGER REFERENCES products(id),
  quantity INTEGER,
  PRIMARY KEY (order_id, product_id)
);
"""
WIDE_COLUMNS = [f"metric_{i:02d}" for i in range(44)] + ["warehouse_temperature"]


def _shop(path: Path) -> Path:
    db = sqlite3.connect(path)
    db.executescript(SHOP)
    db.executemany("INSERT INTO customers VALUES (?, ?, ?)",
                   [(1, "Ada Lovelace", "London"), (2, "Grace Hopper", "Berlin"),
                    (3, "Alan Turing", "London")])
    db.executemany("INSERT INTO products VALUES (?, ?, ?)", [(1, "lamp", 20.0), (2, "desk", 150.0)])
    db.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)",
                   [(i, 1 + i % 3, f"2026-0{1 + i % 9}-01", "shipped" if i % 2 else "open")
                    for i in range(1, 31)])
    db.executemany("INSERT INTO order_items VALUES (?, ?, ?)",
                   [(i, 1 + i % 2, i % 4 + 1) for i in range(1, 31)])
    cols = ", ".join(f"{c} REAL" for c in WIDE_COLUMNS)
    db.execute(f"CREATE TABLE sensor_readings (id INTEGER PRIMARY KEY, {cols})")
    db.commit()
    db.close()
    return path


def _school(path: Path) -> Path:
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE students (id INTEGER PRIMARY KEY, name TEXT, grade INTEGER);
        CREATE TABLE teachers (id INTEGER PRIMARY KEY, name TEXT, subject TEXT);
        CREATE TABLE classes (id INTEGER PRIMARY KEY, teacher_id INTEGER REFERENCES teachers(id),
                              room TEXT);
        INSERT INTO students VALUES (1, 'Kyle', 10), (2, 'Mia', 11);
        INSERT INTO teachers VALUES (1, 'Mr Smith', 'physics');
    """)
    db.commit()
    db.close()
    return path


@pytest.fixture()
def home(tmp_path) -> Path:
    return tmp_path / "home"


@pytest.fixture()
def shop(tmp_path) -> Path:
    return _shop(tmp_path / "shop.db")


def run(home: Path, *args: str, server=None, dense: bool = False, input: str | None = None):
    env = {"CODESIFT_HOME": str(home), "CODESIFT_DENSE": "1" if dense else "0",
           "CODESIFT_LLM_CACHE": "0"}
    if server is not None:
        env.update(CODESIFT_LLM_BASE_URL=server.base_url, CODESIFT_LLM_MODEL="test-model")
    else:
        env.update(CODESIFT_LLM_BASE_URL="", CODESIFT_LLM_MODEL="", OPENAI_BASE_URL="",
                   OPENAI_API_KEY="")
    return CliRunner().invoke(main, ["sql", *args], env=env, input=input,
                              catch_exceptions=False)


def learned(home: Path, shop: Path, tmp_path: Path) -> None:
    docs = tmp_path / "shop.md"
    docs.write_text("# Orders\n\nAn order is open until it ships; `status` is 'open' or "
                    "'shipped'. Revenue counts shipped orders only.\n\n# Customers\n\n"
                    "Customers are billed in their city's currency.\n")
    examples = tmp_path / "examples.jsonl"
    examples.write_text(
        json.dumps({"question": "How many orders has each customer placed?",
                    "sql": "SELECT c.name, count(*) FROM orders o JOIN customers c "
                           "ON o.customer_id = c.id GROUP BY c.name"}) + "\n"
        + json.dumps({"question": "List product titles", "sql": "SELECT titel FROM products"})
        + "\n")
    assert run(home, "add", "shop", str(shop)).exit_code == 0
    got = run(home, "learn", "shop", "--docs", str(docs), "--examples", str(examples), "--json")
    assert got.exit_code == 0, got.output
    report = json.loads(got.stdout)
    assert report["tables"] == 5 and report["examples_added"] == 1
    (bad,) = report["rejected"]
    assert "titel" in bad["reason"] and bad["question"] == "List product titles"


def test_learn_then_context_names_the_tables_examples_and_docs(home, shop, tmp_path):
    learned(home, shop, tmp_path)
    listed = json.loads(run(home, "list", "--json").stdout)
    assert [(d["name"], d["tables"], d["examples"]) for d in listed] == [("shop", 5, 1)]
    got = run(home, "context", "Which customers in London placed open orders?", "--db", "shop",
              "--budget", "600", "--json")
    assert got.exit_code == 0, got.output
    ctx = json.loads(got.stdout)
    assert {"tables", "columns", "examples", "docs", "tokens"} <= set(ctx)
    names = [t["name"] for t in ctx["tables"]]
    assert set(names[:2]) == {"customers", "orders"}
    assert all({"name", "score"} <= set(t) for t in ctx["tables"])
    assert {"table", "column", "score"} <= set(ctx["columns"][0])
    cols = {(c["table"], c["column"]) for c in ctx["columns"][:8]}
    assert ("customers", "city") in cols and ("orders", "status") in cols
    assert ctx["examples"][0]["question"] == "How many orders has each customer placed?"
    assert ctx["docs"] and ctx["docs"][0]["title"].startswith("Orders")
    assert 0 < ctx["tokens"] <= 600
    prompt = "\n".join(m["content"] for m in ctx["messages"])
    assert ctx["messages"][-1] == {"role": "user",
                                   "content": "Which customers in London placed open orders?"}
    assert [m["role"] for m in ctx["messages"]] == ["system", "user", "assistant", "user"]
    assert "'London'" in prompt  # a sample value, so the model knows how the data is written
    assert "full name as printed on invoices" in prompt  # a SQLite -- comment


def test_a_wide_table_is_found_by_one_column_and_shown_cut_to_it(home, shop, tmp_path):
    learned(home, shop, tmp_path)
    ctx = json.loads(run(home, "context", "average warehouse temperature", "--db", "shop",
                         "--json").stdout)
    assert ctx["tables"][0]["name"] == "sensor_readings"
    assert ctx["columns"][0]["column"] == "warehouse_temperature"
    assert "warehouse_temperature REAL" in ctx["schema"]
    assert "metric_07 REAL" not in ctx["schema"] and "more columns: metric_00" in ctx["schema"]


def test_without_db_the_question_picks_the_database(home, shop, tmp_path):
    learned(home, shop, tmp_path)
    run(home, "add", "school", str(_school(tmp_path / "school.db")))
    assert run(home, "learn", "school").exit_code == 0
    ctx = json.loads(run(home, "context", "which teacher teaches physics?", "--json").stdout)
    assert ctx["database"] == "school" and ctx["databases"][0]["name"] == "school"
    ctx = json.loads(run(home, "context", "total quantity of lamps ordered", "--json").stdout)
    assert ctx["database"] == "shop"


def test_ask_corrects_a_wrong_column_then_runs_read_only(home, shop, tmp_path, llm_server):
    learned(home, shop, tmp_path)
    llm_server.push(Answer("```sql\nSELECT nam FROM customers WHERE city = 'London'\n```"),
                    Answer("Sorry.\n```sql\nSELECT name FROM customers WHERE city = 'London' "
                           "ORDER BY name\n```"))
    got = run(home, "ask", "customers in London", "--db", "shop", "--run", "--json",
              server=llm_server)
    assert got.exit_code == 0, got.output
    out = json.loads(got.stdout)
    assert out["ok"] and out["sql"].startswith("SELECT name FROM customers")
    assert [r["error"] is None for r in out["rounds"]] == [False, True]
    assert "nam" in out["rounds"][0]["error"]
    assert out["rows"]["rows"] == [["Ada Lovelace"], ["Alan Turing"]]
    retry = llm_server.chat_requests[1].body["messages"]
    assert retry[-1]["role"] == "user" and out["rounds"][0]["error"] in retry[-1]["content"]


def test_ask_never_runs_a_write_and_gives_up_after_max_rounds(home, shop, tmp_path, llm_server):
    learned(home, shop, tmp_path)
    llm_server.push(Answer("```sql\nDELETE FROM orders\n```"),
                    Answer("```sql\nWITH gone AS (DELETE FROM orders RETURNING *) "
                           "SELECT count(*) FROM gone\n```"))
    got = run(home, "ask", "remove all orders", "--db", "shop", "--run", "--max-rounds", "2",
              server=llm_server)
    assert got.exit_code == 1
    assert "no SQL passed the checks in 2 rounds" in got.stderr
    assert sqlite3.connect(shop).execute("SELECT count(*) FROM orders").fetchone() == (30,)


def test_only_the_first_statement_of_a_reply_is_taken():
    from codesift.sql.generate import extract_sql
    assert extract_sql("```sql\nSELECT 1; DROP TABLE orders\n```") == "SELECT 1"
    assert extract_sql("Here it is:\nSELECT name FROM t WHERE x = 'a;b';\nQuestion: more") == \
        "SELECT name FROM t WHERE x = 'a;b'"
    assert extract_sql("-- q\nSELECT count(*) FROM orders\n\nQuestion: next\nSELECT 2") == \
        "SELECT count(*) FROM orders"
    assert extract_sql("I cannot answer that.") == ""


def test_ask_prints_csv_rows(home, shop, tmp_path, llm_server):
    learned(home, shop, tmp_path)
    llm_server.push(Answer("SELECT status, count(*) AS n FROM orders GROUP BY status "
                           "ORDER BY status"))
    got = run(home, "ask", "orders per status", "--db", "shop", "--run", "--csv",
              server=llm_server)
    assert got.exit_code == 0, got.output
    assert got.stdout.splitlines() == ["status,n", "open,15", "shipped,15"]


def test_without_an_llm_ask_prints_the_context_and_how_to_configure(home, shop, tmp_path):
    learned(home, shop, tmp_path)
    got = run(home, "ask", "customers in London", "--db", "shop")
    assert got.exit_code == 0, got.output
    assert "CREATE TABLE customers" in got.stdout and "[user]\ncustomers in London" in got.stdout
    assert "No LLM is configured" in got.stderr


def test_add_example_checks_before_storing(home, shop, tmp_path):
    learned(home, shop, tmp_path)
    ok = run(home, "add-example", "shop", "Open orders", "SELECT id FROM orders WHERE "
             "status = 'open'", "--execute", "--json")
    assert ok.exit_code == 0, ok.output
    bad = run(home, "add-example", "shop", "Drop it", "DROP TABLE orders")
    assert bad.exit_code == 2 and len(bad.stderr.strip().splitlines()) <= 2
    assert "not stored" in bad.stderr
    stored = json.loads(run(home, "examples", "shop", "--json").stdout)
    assert [e["question"] for e in stored] == ["How many orders has each customer placed?",
                                               "Open orders"]


@pytest.mark.parametrize("args, message", [
    (("context", "   ", "--db", "shop"), "the question is empty"),
    (("context", "anything", "--db", "nope"), "no database named 'nope'"),
    (("learn", "nope"), "no database named 'nope'"),
])
def test_bad_input_is_one_line(home, shop, tmp_path, args, message):
    learned(home, shop, tmp_path)
    got = run(home, *args)
    assert got.exit_code == 2
    assert message in got.stderr and "Traceback" not in got.output


def test_a_database_without_tables_and_an_unreachable_one(home, tmp_path):
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    run(home, "add", "empty", str(empty))
    got = run(home, "learn", "empty")
    assert got.exit_code == 2 and "has no tables" in got.stderr
    run(home, "add", "far", "postgresql://u:secret@127.0.0.1:9/db")
    got = run(home, "learn", "far")
    assert got.exit_code == 1 and "secret" not in got.output
    assert len(got.stderr.strip().splitlines()) <= 2


def test_context_with_the_packaged_embedder(home, shop, tmp_path):
    """Dense linking on: the model's vectors of the schema are cached in the home."""
    learned(home, shop, tmp_path)
    got = run(home, "context", "Which buyers live in London?", "--db", "shop", "--json",
              dense=True)
    assert got.exit_code == 0, got.output
    assert json.loads(got.stdout)["tables"][0]["name"] == "customers"
    assert list((home / "sql-vectors").glob("*.npz"))


def test_postgres_end_to_end_with_a_password_placeholder(home, pg_server, llm_server):
    """A real PostgreSQL: learned with sample values, asked, run read-only."""
    url = pg_database(pg_server, "sql_ask", """
        CREATE TABLE customers (id serial PRIMARY KEY, name text, city text,
                                balance numeric(10, 2), joined date);
        COMMENT ON COLUMN customers.city IS 'Where they live';
        INSERT INTO customers (name, city, balance, joined)
            VALUES ('Ada', 'London', 3.10, '2025-05-01'), ('Grace', 'Berlin', 12.5, '2026-01-02');
    """)
    # pgserver trusts local connections; the placeholder is expanded at connect time.
    assert run(home, "add", "pg", url.replace("postgres:@", "postgres:${PG_TEST_PW}@")
               ).exit_code == 0
    stored = (home / "sql.db").read_bytes()
    assert b"${PG_TEST_PW}" in stored
    env_run = lambda *a, **kw: CliRunner().invoke(  # noqa: E731
        main, ["sql", *a], env={"CODESIFT_HOME": str(home), "CODESIFT_DENSE": "0",
                                "PG_TEST_PW": "", "CODESIFT_LLM_CACHE": "0",
                                "CODESIFT_LLM_BASE_URL": llm_server.base_url,
                                "CODESIFT_LLM_MODEL": "test-model"}, catch_exceptions=False)
    got = env_run("learn", "pg", "--json")
    assert got.exit_code == 0, got.output
    llm_server.push(Answer("```sql\nSELECT name, balance, joined FROM customers "
                           "WHERE city = 'Berlin'\n```"))
    got = env_run("ask", "who lives in Berlin?", "--db", "pg", "--run", "--json")
    assert got.exit_code == 0, got.output
    out = json.loads(got.stdout)
    assert out["rows"]["rows"] == [["Grace", 12.5, "2026-01-02"]]  # numeric and date as JSON
    system = llm_server.chat_requests[0].body["messages"][0]["content"]
    assert "'Berlin'" in system and "Where they live" in system


def test_evaluate_runs_every_example_leave_one_out(home, shop, tmp_path, llm_server):
    learned(home, shop, tmp_path)
    assert run(home, "add-example", "shop", "Open orders",
               "SELECT id FROM orders WHERE status = 'open'").exit_code == 0
    llm_server.push(
        Answer("```sql\nSELECT c.name, count(*) FROM customers c JOIN orders o "
               "ON o.customer_id = c.id GROUP BY c.name\n```"),  # the same rows, other SQL
        Answer("```sql\nSELECT id FROM orders WHERE status = 'shipped'\n```"))  # wrong rows
    got = run(home, "evaluate", "shop", "--json", server=llm_server)
    assert got.exit_code == 0, got.output
    out = json.loads(got.stdout)
    assert out["examples"] == 2 and out["execution_match"] == 0.5
    assert [c["match"] for c in out["cases"]] == [True, False]
    first, second = ("\n".join(m["content"] for m in r.body["messages"])
                     for r in llm_server.chat_requests)
    assert "GROUP BY c.name" not in first  # its own pair is hidden from retrieval
    assert "How many orders has each customer placed?" in second  # the other one is shown


def test_evaluate_without_an_llm_says_how_to_configure(home, shop, tmp_path):
    learned(home, shop, tmp_path)
    got = run(home, "evaluate", "shop")
    assert got.exit_code == 2 and "hint:" in got.stderr


def test_the_schema_index_is_built_once_while_the_schemas_stay_the_same(home, shop, tmp_path,
                                                                         monkeypatch):
    from codesift.sql import service
    from codesift.sql.catalog import Catalog
    from codesift.tokenizer import make_tokenizer
    learned(home, shop, tmp_path)
    built = []
    real = service.SchemaIndex
    monkeypatch.setattr(service, "SchemaIndex", lambda *a, **kw: built.append(1) or real(*a, **kw))
    ws = service.SqlWorkspace(Catalog(home))
    count = make_tokenizer().count
    for question in ("open orders", "customers in London"):
        ws.context(question, database="shop", count=count)
    assert len(built) == 1
    db = sqlite3.connect(shop)
    db.execute("ALTER TABLE products ADD COLUMN colour TEXT")
    db.commit()
    db.close()
    ws.learn("shop")
    ctx = ws.context("product colour", database="shop", count=count)
    assert len(built) == 2 and ("products", "colour") in {(c.table, c.column) for c in ctx.columns}
