"""codesift sql's catalog, connections, introspection and learn sources, against real
SQLite files and a real PostgreSQL (pgserver)."""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import stat
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import pg_database
import sqlalchemy

from codesift.errors import CodesiftError, DatabaseError, UsageError
from codesift.sql import catalog as catalog_module
from codesift.sql.catalog import Catalog, normalise_sql
from codesift.sql.connect import (check_reachable, dialect_of, expand_url, normalise_url,
                                  open_engine, redact)
from codesift.sql.introspect import introspect
from codesift.sql.model import Column, DocSection, Example, ForeignKey, Schema, Table
from codesift.sql.serial import table_from_json, table_to_json
from codesift.sql.sources import read_docs, read_examples
from codesift.sql.sqlite_comments import parse_comments
from codesift.sql.sql_files import split_statements

SHOP_DDL = """
CREATE TABLE customers (  -- people who bought something
    id INTEGER PRIMARY KEY,  -- row id
    name TEXT NOT NULL,
    -- where they live
    city TEXT,
    email TEXT UNIQUE
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    status VARCHAR(20) -- open, shipped or returned
);
CREATE TABLE order_items (
    order_id INTEGER NOT NULL REFERENCES orders(id),
    line_no INTEGER NOT NULL,
    sku TEXT,
    PRIMARY KEY (order_id, line_no)
);
CREATE TABLE shipments (
    id INTEGER PRIMARY KEY,
    order_id INTEGER,
    line_no INTEGER,
    FOREIGN KEY (order_id, line_no) REFERENCES order_items(order_id, line_no)
);
CREATE VIEW berlin_customers AS SELECT id, name FROM customers WHERE city = 'Berlin';
"""


def make_shop(path: Path) -> Path:
    db = sqlite3.connect(path)
    db.executescript(SHOP_DDL)
    cities = ["Berlin", "Paris", "Rome"]
    db.executemany("INSERT INTO customers (name, city, email) VALUES (?, ?, ?)",
                   [(f"c{i}", cities[i % 3], f"c{i}@example.com") for i in range(60)])
    db.executemany("INSERT INTO orders (customer_id, status) VALUES (?, ?)",
                   [(i % 60 + 1, ["open", "shipped"][i % 2]) for i in range(30)])
    db.commit()
    db.close()
    return path


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return make_shop(tmp_path / "shop.db")


@pytest.fixture
def cat(tmp_path: Path):
    with Catalog(tmp_path / "home") as c:
        yield c


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def data_reads(statements: list[str], tables: tuple[str, ...]) -> list[str]:
    """The statements that read from one of `tables` (not the catalog about them)."""
    names = "|".join(tables)
    pattern = re.compile(rf'\bFROM\s+(?:"?\w+"?\.)?"?(?:{names})"?(?:\s|$)', re.IGNORECASE)
    return [s for s in statements if pattern.search(s)]


def statements_of(engine: sqlalchemy.Engine) -> list[str]:
    seen: list[str] = []
    sqlalchemy.event.listen(engine, "before_cursor_execute",
                            lambda conn, cur, statement, *a: seen.append(statement))
    return seen


# -- URLs ---------------------------------------------------------------------------------

def test_normalise_url_makes_paths_absolute_against_the_add_folder(tmp_path: Path):
    assert normalise_url("shop.db", tmp_path) == f"sqlite:///{tmp_path}/shop.db"
    assert normalise_url("/data/x.sqlite", tmp_path) == "sqlite:////data/x.sqlite"
    assert normalise_url("sqlite:///rel.db", tmp_path) == f"sqlite:///{tmp_path}/rel.db"
    assert normalise_url("sqlite:////abs/x.db", tmp_path) == "sqlite:////abs/x.db"
    assert normalise_url("${DATA}/shop.db", tmp_path) == "sqlite:///${DATA}/shop.db"
    assert normalise_url("${DATABASE_URL}", tmp_path) == "${DATABASE_URL}"
    pg = "postgres://app:${PGPASSWORD}@db.internal:5432/shop"
    assert normalise_url(pg, tmp_path) == pg  # kept as written
    with pytest.raises(UsageError):
        normalise_url("sqlite://", tmp_path)
    with pytest.raises(UsageError):
        normalise_url("  ", tmp_path)


def test_expand_url_fills_placeholders_at_connect_time(tmp_path: Path):
    env = {"PGPASSWORD": "p@ss/w:rd", "DATA": str(tmp_path)}
    assert (expand_url("postgres://app:${PGPASSWORD}@db:5432/shop", env)
            == "postgresql+psycopg://app:p%40ss%2Fw%3Ard@db:5432/shop")
    assert expand_url("postgresql://app@db/shop", env) == "postgresql+psycopg://app@db/shop"
    assert expand_url("postgresql+psycopg2://a@b/c", env) == "postgresql+psycopg2://a@b/c"
    assert expand_url("${DATA}/shop.db", env) == f"sqlite:///{tmp_path}/shop.db"
    assert expand_url("${URL}", {"URL": "postgres://a:b@h/d"}) == "postgresql+psycopg://a:b@h/d"
    with pytest.raises(UsageError) as err:
        expand_url("postgres://app:${PGPASSWORD}@db/shop", {})
    assert "PGPASSWORD" in str(err.value) and "export PGPASSWORD" in err.value.hint


def test_redact_hides_literal_passwords_only():
    assert redact("postgresql://app:s3cret@db/shop") == "postgresql://app:***@db/shop"
    assert redact("postgresql://app:${PW}@db/shop") == "postgresql://app:${PW}@db/shop"
    assert redact("postgresql://app:p@ss@db/shop") == "postgresql://app:***@db/shop"
    assert redact("mysql://app@db/shop?password=zz&x=1") == "mysql://app@db/shop?password=***&x=1"
    assert redact("postgresql://app@db:5432/shop") == "postgresql://app@db:5432/shop"
    assert redact("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_dialect_of_names_sqlglot_dialects():
    cases = {"shop.db": "sqlite", "sqlite:////x.db": "sqlite", "postgres://h/d": "postgres",
             "postgresql+psycopg://h/d": "postgres", "mysql+pymysql://h/d": "mysql",
             "mariadb://h/d": "mysql", "mssql+pyodbc://h/d": "tsql", "duckdb:///x": "duckdb",
             "snowflake://a/b": "snowflake", "${DATABASE_URL}": ""}
    assert {url: dialect_of(url) for url in cases} == cases
    with pytest.raises(UsageError):
        dialect_of("nosuchdb://h/d")


def test_a_missing_sqlite_file_is_an_error_and_is_not_created(tmp_path: Path):
    path = tmp_path / "typo.db"
    with pytest.raises(DatabaseError) as err:
        check_reachable(open_engine(expand_url(str(path))))
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_a_file_that_is_not_a_database_is_an_error(tmp_path: Path):
    path = tmp_path / "notes.db"
    path.write_text("just some text, not SQLite\n" * 20)
    with pytest.raises(DatabaseError, match="is not a SQLite database"):
        check_reachable(open_engine(expand_url(str(path))))


def test_sqlite_is_opened_read_only(shop: Path):
    engine = open_engine(expand_url(str(shop)))
    check_reachable(engine)
    with engine.connect() as conn, pytest.raises(sqlalchemy.exc.OperationalError,
                                                 match="readonly"):
        conn.exec_driver_sql("DELETE FROM orders")


def test_an_unreachable_server_is_one_line_without_the_password():
    url = f"postgresql://app:hunter2secret@127.0.0.1:{closed_port()}/shop"
    with pytest.raises(DatabaseError) as err:
        check_reachable(open_engine(expand_url(url)))
    message = str(err.value)
    assert "\n" not in message and "hunter2secret" not in message + err.value.hint
    assert "nothing answers at 127.0.0.1" in message and "app:***@" in message
    assert "running" in err.value.hint


# -- the catalog ---------------------------------------------------------------------------

def test_add_list_get_remove(cat: Catalog, shop: Path, tmp_path: Path):
    added = cat.add("shop", "shop.db", cwd=tmp_path)
    assert added.url == f"sqlite:///{shop}" and added.dialect == "sqlite"
    assert added.learned_at is None and (added.tables, added.examples, added.docs) == (0, 0, 0)
    cat.add("other", "postgres://app@db/other")
    assert [e.name for e in cat.list()] == ["other", "shop"]
    assert cat.get("other").dialect == "postgres"
    assert cat.remove("other").name == "other"
    assert [e.name for e in cat.list()] == ["shop"]
    # The catalog outlives the object: a new one over the same home sees the same.
    with Catalog(tmp_path / "home") as again:
        assert again.get("shop") == cat.get("shop")
    mode = stat.S_IMODE(os.stat(tmp_path / "home" / "sql.db").st_mode)
    assert mode == 0o600


def test_unknown_names_and_duplicates_are_usage_errors(cat: Catalog):
    with pytest.raises(UsageError, match="no database named 'shop'") as err:
        cat.get("shop")
    assert "codesift sql add" in err.value.hint
    cat.add("shop", "/data/shop.db")
    with pytest.raises(UsageError, match="no database named 'shpo'") as err:
        cat.examples("shpo")
    assert "shop" in err.value.hint
    with pytest.raises(UsageError, match="already") as err:
        cat.add("shop", "/data/other.db")
    assert "remove" in err.value.hint
    assert cat.get("shop").url == "sqlite:////data/shop.db"
    for bad in ("", "has space", "-dash", "x" * 65, "a/b"):
        with pytest.raises(UsageError, match="bad database name"):
            cat.add(bad, "/data/shop.db")
    with pytest.raises(UsageError):
        cat.remove("nope")


def test_placeholders_are_stored_as_written_and_expanded_at_connect(cat: Catalog, shop: Path,
                                                                    tmp_path: Path):
    cat.add("shop", "${SHOP_DIR}/shop.db")
    cat.add("pg", "postgresql://app:${PG_PW}@db.internal/shop")
    assert cat.get("pg").url == "postgresql://app:${PG_PW}@db.internal/shop"
    engine = open_engine(expand_url(cat.get("shop").url, {"SHOP_DIR": str(shop.parent)}))
    check_reachable(engine)
    expanded = expand_url(cat.get("pg").url, {"PG_PW": "topsecret"})
    assert "topsecret" in expanded
    cat.close()
    assert b"topsecret" not in (tmp_path / "home" / "sql.db").read_bytes()


def test_the_catalog_lives_in_the_codesift_home(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CODESIFT_HOME", str(tmp_path / "from-env"))
    with Catalog() as cat:
        cat.add("shop", "/data/shop.db")
    assert (tmp_path / "from-env" / "sql.db").is_file()


def test_a_catalog_from_a_newer_codesift_is_refused(tmp_path: Path):
    Catalog(tmp_path).close()
    db = sqlite3.connect(tmp_path / "sql.db")
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(CodesiftError, match="newer codesift"):
        Catalog(tmp_path)


def _table(name: str, *columns: str, fks=()) -> Table:
    return Table(name=name, columns=tuple(Column(c, "TEXT") for c in columns),
                 foreign_keys=tuple(fks))


def _schema(*tables: Table) -> Schema:
    return Schema(database="shop", dialect="sqlite", tables=tables)


def _state(cat: Catalog) -> tuple:
    return cat.load_schema("shop"), cat.examples("shop"), cat.docs("shop"), cat.get("shop")


def test_save_schema_is_incremental(cat: Catalog):
    cat.add("shop", "/data/shop.db")
    with pytest.raises(UsageError, match="nothing has been learned"):
        cat.load_schema("shop")
    first = _schema(_table("customers", "id", "city"), _table("orders", "id"),
                    _table("items", "order_id", fks=[ForeignKey(("order_id",), "orders",
                                                                ("id",))]))
    delta = cat.save_schema("shop", first)
    assert delta.added == ("customers", "orders", "items") and delta.unchanged == 0
    assert cat.load_schema("shop") == first
    assert cat.get("shop").tables == 3 and cat.get("shop").learned_at is not None

    again = cat.save_schema("shop", first)
    assert (again.added, again.changed, again.removed, again.unchanged) == ((), (), (), 3)

    wider = _schema(_table("customers", "id", "city", "email"), *first.tables[1:])
    delta = cat.save_schema("shop", wider)
    assert delta.changed == ("customers",) and delta.unchanged == 2 and not delta.added
    assert cat.load_schema("shop").table("customers").column("email") is not None


def test_a_removed_table_takes_its_examples_and_doc_links(cat: Catalog):
    cat.add("shop", "/data/shop.db")
    schema = _schema(_table("customers", "id"), _table("orders", "id", "customer_id"))
    cat.save_schema("shop", schema)
    cat.add_examples("shop", [
        (Example("How many orders?", "SELECT count(*) FROM orders"), ("orders",)),
        (Example("How many customers?", "SELECT count(*) FROM customers"), ("customers",)),
        (Example("Orders per customer", "SELECT c.id, count(*) FROM customers c JOIN Orders o "
                 "ON o.customer_id = c.id GROUP BY c.id"), ("customers", "Orders"))])
    cat.replace_docs("shop", "docs/shop.md", [
        DocSection("Orders", "All orders.", "docs/shop.md", ("orders",)),
        DocSection("Both", "Customers place orders.", "docs/shop.md", ("customers", "orders")),
        DocSection("General", "Amounts are in EUR.", "docs/shop.md", ())])

    delta = cat.save_schema("shop", _schema(schema.tables[0]))
    assert delta.removed == ("orders",) and delta.unchanged == 1
    assert (delta.examples_removed, delta.docs_unlinked) == (2, 2)
    assert [e.question for e in cat.examples("shop")] == ["How many customers?"]
    docs = {d.title: d.tables for d in cat.docs("shop")}
    assert docs == {"Orders": (), "Both": ("customers",), "General": ()}


def test_save_schema_is_one_transaction(cat: Catalog, monkeypatch):
    cat.add("shop", "/data/shop.db")
    cat.save_schema("shop", _schema(_table("customers", "id"), _table("orders", "id")))
    cat.add_examples("shop", [(Example("n orders", "SELECT count(*) FROM orders"),
                               ("orders",))])
    cat.replace_docs("shop", "d.md", [DocSection("Orders", "x", "d.md", ("orders",))])
    before = _state(cat)

    def fail(*args):
        raise RuntimeError("interrupted mid-way")

    # By the time examples and doc links are dropped, tables are already rewritten.
    monkeypatch.setattr(catalog_module, "_forget_tables", fail)
    with pytest.raises(RuntimeError):
        cat.save_schema("shop", _schema(_table("customers", "id", "name")))
    assert _state(cat) == before
    monkeypatch.undo()
    cat.save_schema("shop", _schema(_table("customers", "id", "name")))
    assert cat.get("shop").examples == 0


def test_examples_are_deduplicated_and_removable(cat: Catalog):
    cat.add("shop", "/data/shop.db")
    stored = cat.add_examples("shop", [
        (Example("How many orders?", "SELECT count(*) FROM orders;", "a.sql"), ("orders",)),
        (Example("how many  orders?", "select COUNT(*)\n  from orders", "b.sql"), ("orders",)),
        (Example("Open orders", "SELECT * FROM orders WHERE status = 'open'"), ("orders",)),
        (Example("Open orders", "SELECT * FROM orders WHERE status = 'OPEN'"), ("orders",))])
    assert [e.question for e in stored] == ["How many orders?", "Open orders", "Open orders"]
    assert all(e.id is not None for e in stored) and stored[0].source == "a.sql"
    assert cat.add_examples("shop", [(Example("How many orders?", "select count(*) from "
                                              "orders"), ("orders",))]) == []
    assert cat.examples("shop") == stored
    assert cat.remove_example("shop", stored[1].id) == stored[1]
    assert [e.id for e in cat.examples("shop")] == [stored[0].id, stored[2].id]
    with pytest.raises(UsageError, match="no example with id"):
        cat.remove_example("shop", stored[1].id)
    assert normalise_sql("SELECT a FROM t WHERE x='It''s';") == \
        normalise_sql("select  A from T where x = 'It''s'")
    assert normalise_sql("SELECT 'A'") != normalise_sql("SELECT 'a'")


def test_docs_are_replaced_per_source(cat: Catalog):
    cat.add("shop", "/data/shop.db")
    cat.replace_docs("shop", "a.md", [DocSection("One", "1", "a.md"), DocSection("Two", "2",
                                                                                   "a.md")])
    cat.replace_docs("shop", "b.md", [DocSection("B", "b", "b.md", ("orders",))])
    assert cat.replace_docs("shop", "a.md", [DocSection("Three", "3", "a.md")]) == 1
    assert [d.title for d in cat.docs("shop")] == ["Three", "B"]
    assert cat.docs("shop")[1] == DocSection("B", "b", "b.md", ("orders",))
    assert cat.get("shop").docs == 2


def test_remove_forgets_everything_learned(cat: Catalog, tmp_path: Path):
    cat.add("shop", "/data/shop.db")
    cat.save_schema("shop", _schema(_table("orders", "id")))
    cat.add_examples("shop", [(Example("n", "SELECT 1 FROM orders"), ("orders",))])
    cat.replace_docs("shop", "a.md", [DocSection("A", "a", "a.md")])
    cat.remove("shop")
    cat.add("shop", "/data/shop.db")
    entry = cat.get("shop")
    assert (entry.tables, entry.examples, entry.docs, entry.learned_at) == (0, 0, 0, None)
    db = sqlite3.connect(tmp_path / "home" / "sql.db")
    for table in ("learned_tables", "examples", "doc_sections"):
        assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
    db.close()


# -- introspection: SQLite ---------------------------------------------------------------

def test_introspect_sqlite(shop: Path):
    engine = open_engine(expand_url(str(shop)))
    seen = statements_of(engine)
    steps: list[tuple[str, int, int]] = []
    schema = introspect(engine, "shop", progress=lambda *step: steps.append(step))
    assert schema.database == "shop" and schema.dialect == "sqlite"
    assert steps[0] == ("schemas", 1, 1) and steps[-1] == ("samples", 5, 5)
    assert [(t.key, t.kind) for t in schema.tables] == [
        ("customers", "table"), ("order_items", "table"), ("orders", "table"),
        ("shipments", "table"), ("berlin_customers", "view")]
    customers = schema.table("customers")
    assert customers.comment == "people who bought something"
    assert customers.column("id").primary_key and customers.column("id").comment == "row id"
    assert customers.column("city").comment == "where they live"
    assert not customers.column("name").nullable
    assert customers.column("city").samples == ("Berlin", "Paris", "Rome")
    assert customers.column("email").samples == ()  # 60 distinct values > max_distinct
    assert customers.column("name").type == "TEXT"
    orders = schema.table("orders")
    assert orders.column("status").samples == ("open", "shipped")
    assert orders.column("status").comment == "open, shipped or returned"
    assert orders.foreign_keys == (ForeignKey(("customer_id",), "customers", ("id",)),)
    items = schema.table("order_items")
    assert [c.name for c in items.columns if c.primary_key] == ["order_id", "line_no"]
    assert schema.table("shipments").foreign_keys == (
        ForeignKey(("order_id", "line_no"), "order_items", ("order_id", "line_no")),)
    assert all(c.samples == () for c in schema.table("berlin_customers").columns)
    assert data_reads(seen, ("customers",))  # the pattern finds the sample queries
    for table in schema.tables:
        assert table_from_json(table_to_json(table)) == table


def test_samples_false_reads_no_data(shop: Path):
    engine = open_engine(expand_url(str(shop)))
    seen = statements_of(engine)
    schema = introspect(engine, "shop", samples=False)
    assert schema.table("customers").column("city").samples == ()
    assert seen and not any("DISTINCT" in s.upper() for s in seen)
    assert data_reads(seen, ("customers", "orders", "order_items", "shipments")) == []
    assert schema.table("customers").column("city").comment == "where they live"


def test_sample_limits_and_time_bound(tmp_path: Path):
    path = tmp_path / "big.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE events (kind TEXT, note TEXT)")
    db.executemany("INSERT INTO events VALUES (?, ?)",
                   [(f"kind{i % 4}", "x" * 100 + str(i % 3)) for i in range(20000)])
    db.commit()
    db.close()
    engine = open_engine(expand_url(str(path)))
    events = introspect(engine, "big", max_samples=2, timeout_s=60).table("events")
    assert events.column("kind").samples == ("kind0", "kind1")
    assert all(len(s) == 80 for s in events.column("note").samples)
    # A deadline already passed: SQLite's progress handler stops the scan of 20000 rows.
    bounded = introspect(engine, "big", timeout_s=0).table("events")
    assert bounded.column("kind").samples == () and bounded.column("note").samples == ()
    assert introspect(engine, "big", max_distinct=3).table("events").column("kind").samples == ()


def test_an_empty_database_has_no_tables(tmp_path: Path):
    path = tmp_path / "empty.db"
    sqlite3.connect(path).execute("PRAGMA user_version = 1").connection.close()
    with pytest.raises(UsageError, match="has no tables"):
        introspect(open_engine(expand_url(str(path))), "empty")


def test_sqlite_comment_parsing_edge_cases():
    notes = parse_comments(textwrap.dedent("""
        CREATE TABLE t (
          "Full Name" TEXT DEFAULT 'a, -- b',  -- quoted name
          status TEXT CHECK (status IN ('x', 'y'))
             , -- after a continued line
          /* block */ note TEXT,
          amount NUMERIC(10, 2) -- in EUR
          , CONSTRAINT c FOREIGN KEY (amount) REFERENCES x(id) -- not a column
        )"""))
    assert notes.table == ""
    assert notes.columns == {"Full Name": "quoted name", "status": "after a continued line",
                             "amount": "in EUR"}


# -- sources: examples ---------------------------------------------------------------------

def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def test_read_examples_in_every_format(tmp_path: Path):
    js = write(tmp_path / "a.json", """
        [{"question": "How many orders?", "sql": "SELECT count(*) FROM orders;"},
         {"question": "Cities", "query": "SELECT DISTINCT city FROM customers"}]""")
    wrapped = write(tmp_path / "w.json", '{"examples": [{"question": "q", "sql": "SELECT 1"}]}')
    jsonl = write(tmp_path / "a.jsonl", """
        {"question": "How many orders?", "sql": "SELECT count(*) FROM orders"}

        {"question": "Cities", "query": "SELECT city FROM customers"}
        """)
    csv_file = write(tmp_path / "a.csv", '''
        Question,Query
        How many orders?,SELECT count(*) FROM orders
        "Orders, open","SELECT * FROM orders
        WHERE status = 'open'"
        ''')
    sql = write(tmp_path / "a.sql", """
        -- Examples for the shop database.

        -- How many customers
        -- live in Berlin?
        SELECT count(*) FROM customers WHERE city = 'Berlin; -- no';
        -- Q: Open orders
        SELECT * -- every column
        FROM orders WHERE status = 'open'
        ;
        -- A PL/pgSQL body
        SELECT $$a;b$$ AS x
        """)
    assert [(e.question, e.sql) for e in read_examples(js)] == [
        ("How many orders?", "SELECT count(*) FROM orders"),
        ("Cities", "SELECT DISTINCT city FROM customers")]
    assert read_examples(js)[0].source == str(js)
    assert len(read_examples(wrapped)) == 1
    assert [e.sql for e in read_examples(jsonl)][1] == "SELECT city FROM customers"
    assert [(e.question, e.sql) for e in read_examples(csv_file)] == [
        ("How many orders?", "SELECT count(*) FROM orders"),
        ("Orders, open", "SELECT * FROM orders\nWHERE status = 'open'")]
    assert [(e.question, e.sql) for e in read_examples(sql)] == [
        ("How many customers live in Berlin?",
         "SELECT count(*) FROM customers WHERE city = 'Berlin; -- no'"),
        ("Open orders", "SELECT * -- every column\nFROM orders WHERE status = 'open'"),
        ("A PL/pgSQL body", "SELECT $$a;b$$ AS x")]
    assert all(e.source == str(sql) for e in read_examples(sql))


@pytest.mark.parametrize("name, text, where", [
    ("bad.json", '[{"question": "q", "sql": "SELECT 1"},\n {"question": }]', "line 2"),
    ("bad.json", '{"question": "q"}', "expected a list"),
    ("bad.json", '[{"question": "q", "sql": "SELECT 1"}, {"question": "q2"}]', "record 2"),
    ("bad.json", '[{"question": "", "sql": "SELECT 1"}]', "record 1: no \"question\""),
    ("bad.json", '["SELECT 1"]', "record 1"),
    ("bad.jsonl", '{"question": "q", "sql": "s"}\n{"question": "q"\n', "line 2"),
    ("bad.jsonl", '{"question": "q", "sql": "s"}\n\n{"question": "q", "sql": ""}', "line 3"),
    ("bad.csv", "question,answer\nq,a\n", "line 1"),
    ("bad.csv", "question,sql\nq,SELECT 1\nq2,\n", "line 3"),
    ("bad.sql", "-- q\nSELECT 1;\n\nSELECT 2;\n", "line 4"),
    ("bad.sql", "-- q\nSELECT 'unclosed;\n", "line 2"),
    ("bad.txt", "whatever", "cannot read examples"),
])
def test_malformed_examples_name_the_file_and_place(tmp_path: Path, name, text, where):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError) as err:
        read_examples(path)
    assert str(path) in str(err.value) and where in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_and_non_utf8_example_files(tmp_path: Path):
    with pytest.raises(UsageError, match="no such file"):
        read_examples(tmp_path / "nope.json")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("question,sql\nStädte,SELECT 1\n".encode("latin-1"))
    with pytest.raises(UsageError, match="not UTF-8"):
        read_examples(latin)


def test_split_statements_keeps_only_the_comment_block_right_above():
    found = split_statements("-- header\n\n-- q1\nSELECT 1;\nSELECT 2; -- trailing\n"
                             "/* x; */ SELECT [a;b] FROM \"t;\";")
    assert [(s.sql, s.line, s.comments) for s in found] == [
        ("SELECT 1", 4, ("q1",)), ("SELECT 2", 5, ()),
        ('/* x; */ SELECT [a;b] FROM "t;"', 6, ("trailing",))]


# -- sources: documentation -----------------------------------------------------------------

SHOP_SCHEMA = Schema("shop", "sqlite", (
    Table("customers", (Column("id"), Column("city"))),
    Table("orders", (Column("id"), Column("status"))),
    Table("order_items", (Column("order_id"), Column("sku"))),
    Table("invoices", (Column("id"),), schema="billing")))


def test_read_markdown_sections(tmp_path: Path):
    md = write(tmp_path / "shop.md", """
        The shop's database. Amounts are in EUR.

        # Orders
        Every ORDERS row is one checkout by a customer (see Customers).

        ## Status
        ```sql
        # not a heading
        SELECT status FROM orders
        ```

        ## Lines
        Kept in order_items; billing.invoices bills them.
        # Empty

        # Preorders
        Not the orders_archive either.
        """)
    read = read_docs(md, SHOP_SCHEMA)
    assert [s.title for s in read.sections] == ["shop", "Orders", "Orders > Status",
                                                "Orders > Lines", "Preorders"]
    by_title = {s.title: s for s in read.sections}
    assert by_title["shop"].tables == ()
    assert by_title["Orders"].tables == ("customers", "orders")
    assert "# not a heading" in by_title["Orders > Status"].text
    assert by_title["Orders > Status"].tables == ("orders",)
    # The title holds the headings above it: "Orders > Lines" names orders too.
    assert by_title["Orders > Lines"].tables == ("orders", "order_items", "billing.invoices")
    assert by_title["Preorders"].tables == ()  # 'Preorders', 'orders_archive': not the word
    assert all(s.path == str(md) for s in read.sections)
    assert read.column_notes == {} and read.unmatched == ()


def test_read_a_data_dictionary(tmp_path: Path):
    csv_file = write(tmp_path / "dictionary.csv", """
        Table Name,Field,Meaning
        customers,,People who bought something
        customers,CITY,Where they live
        Orders,status,"open, shipped or returned"
        orders,discount,No such column
        returns,id,No such table
        invoices,id,the invoice number
        """)
    read = read_docs(csv_file, SHOP_SCHEMA)
    assert read.column_notes == {("customers", "city"): "Where they live",
                                 ("orders", "status"): "open, shipped or returned",
                                 ("billing.invoices", "id"): "the invoice number"}
    assert read.table_notes == {"customers": "People who bought something"}
    assert read.unmatched == ("orders.discount", "returns")
    sections = {s.title: s for s in read.sections}
    assert sections["customers"].text == "People who bought something\nCITY: Where they live"
    assert sections["orders"].tables == ("orders",) and sections["returns"].tables == ()
    bad = write(tmp_path / "bad.csv", "name,text\nx,y\n")
    with pytest.raises(UsageError, match="needs table and description columns"):
        read_docs(bad, SHOP_SCHEMA)


def test_read_a_docs_folder(tmp_path: Path):
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / ".hidden").mkdir()
    write(folder / "b.md", "# B\nabout orders\n")
    write(folder / "a.markdown", "# A\nabout customers\n")
    write(folder / "sub" / "dict.csv", "table,column,description\norders,id,the id\n")
    write(folder / ".hidden" / "x.md", "# Hidden\nx\n")
    write(folder / "notes.txt", "ignored")
    read = read_docs(folder, SHOP_SCHEMA)
    assert [s.title for s in read.sections] == ["A", "B", "orders"]
    assert read.column_notes == {("orders", "id"): "the id"}
    with pytest.raises(UsageError, match="no documentation"):
        read_docs(_empty(tmp_path), SHOP_SCHEMA)
    with pytest.raises(UsageError, match="no such file"):
        read_docs(tmp_path / "missing", SHOP_SCHEMA)
    with pytest.raises(UsageError, match="cannot read documentation"):
        read_docs(folder / "notes.txt", SHOP_SCHEMA)


def _empty(tmp_path: Path) -> Path:
    path = tmp_path / "empty"
    path.mkdir()
    return path


# -- PostgreSQL ------------------------------------------------------------------------------

@dataclass(frozen=True)
class PgDatabase:
    url: str
    pgdata: str

    def get_uri(self) -> str:
        return self.url


@pytest.fixture(scope="module")
def pg(pg_server):
    """A database of its own in the session's PostgreSQL."""
    return PgDatabase(pg_database(pg_server, "sql_catalog", PG_DDL), str(pg_server.pgdata))


PG_DDL = """
CREATE TABLE customers (
    id serial PRIMARY KEY,
    name varchar(40) NOT NULL,
    city text,
    email text
);
COMMENT ON TABLE customers IS 'People who bought something';
COMMENT ON COLUMN customers.city IS 'Where they live';
CREATE TYPE order_status AS ENUM ('open', 'shipped');
CREATE TABLE orders (
    id serial PRIMARY KEY,
    customer_id int NOT NULL REFERENCES customers(id),
    status order_status
);
CREATE TABLE order_items (
    order_id int REFERENCES orders(id),
    line_no int,
    PRIMARY KEY (order_id, line_no)
);
CREATE SCHEMA sales;
CREATE TABLE sales.shipments (
    id serial PRIMARY KEY,
    order_id int,
    line_no int,
    carrier text,
    FOREIGN KEY (order_id, line_no) REFERENCES public.order_items(order_id, line_no)
);
CREATE VIEW berlin AS SELECT id, name FROM customers WHERE city = 'Berlin';
COMMENT ON VIEW berlin IS 'Customers in Berlin';
CREATE MATERIALIZED VIEW city_counts AS SELECT city, count(*) AS n FROM customers GROUP BY city;
CREATE TABLE locked_notes (note text);
INSERT INTO customers (name, city, email)
    SELECT 'c' || i, (ARRAY['Berlin', 'Paris', 'Rome'])[i % 3 + 1], 'c' || i || '@example.com'
    FROM generate_series(1, 60) AS i;
INSERT INTO orders (customer_id, status) SELECT i, 'open' FROM generate_series(1, 5) AS i;
INSERT INTO sales.shipments (carrier) VALUES ('DHL'), ('UPS');
INSERT INTO locked_notes VALUES ('a'), ('b');
"""


def pg_engine(srv) -> sqlalchemy.Engine:
    engine = open_engine(expand_url(srv.get_uri()))
    check_reachable(engine)
    return engine


def test_introspect_postgres(pg):
    engine = pg_engine(pg)
    seen = statements_of(engine)
    schema = introspect(engine, "pg", schemas=["sales"])
    assert schema.dialect == "postgres"
    kinds = {t.key: t.kind for t in schema.tables}
    assert kinds == {"customers": "table", "orders": "table", "order_items": "table",
                     "locked_notes": "table", "berlin": "view", "city_counts": "view",
                     "sales.shipments": "table"}
    customers = schema.table("customers")
    assert customers.comment == "People who bought something"
    assert customers.column("city").comment == "Where they live"
    assert customers.column("id").primary_key and not customers.column("name").nullable
    assert customers.column("name").type == "VARCHAR(40)"
    assert customers.column("city").samples == ("Berlin", "Paris", "Rome")
    assert customers.column("email").samples == ()
    assert schema.table("orders").column("status").samples == ("open",)
    assert schema.table("berlin").comment == "Customers in Berlin"
    assert [c.name for c in schema.table("order_items").columns if c.primary_key] == [
        "order_id", "line_no"]
    shipments = schema.table("sales.shipments")
    assert shipments.schema == "sales"
    assert shipments.foreign_keys == (
        ForeignKey(("order_id", "line_no"), "order_items", ("order_id", "line_no")),)
    assert shipments.column("carrier").samples == ("DHL", "UPS")
    assert data_reads(seen, ("customers", "shipments"))
    assert "sales.shipments" not in {t.key for t in introspect(engine, "pg",
                                                                 samples=False).tables}
    with pytest.raises(UsageError, match="no schema named 'nope'"):
        introspect(engine, "pg", schemas=["nope"])


def test_postgres_samples_false_reads_no_data(pg):
    engine = pg_engine(pg)
    seen = statements_of(engine)
    schema = introspect(engine, "pg", samples=False)
    assert schema.table("customers").column("city").samples == ()
    assert seen and data_reads(seen, ("customers", "orders", "locked_notes")) == []


def test_postgres_sample_queries_are_bounded_in_time(pg):
    psycopg = pytest.importorskip("psycopg")
    engine = pg_engine(pg)
    # Another session holds the table: the sample query waits for it until the statement
    # timeout cancels it; the columns of other tables still get theirs.
    with psycopg.connect(pg.get_uri()) as locker:
        locker.execute("LOCK TABLE locked_notes IN ACCESS EXCLUSIVE MODE")
        schema = introspect(engine, "pg", timeout_s=2)
        locker.rollback()
    assert schema.table("locked_notes").column("note").samples == ()
    assert schema.table("customers").column("city").samples == ("Berlin", "Paris", "Rome")
    assert introspect(engine, "pg").table("locked_notes").column("note").samples == ("a", "b")


def test_postgres_auth_failure_never_shows_the_password(pg, cat: Catalog):
    psycopg = pytest.importorskip("psycopg")
    hba = Path(pg.pgdata) / "pg_hba.conf"
    rules = hba.read_text()
    if "codesift_app" not in rules:
        # pgserver trusts every local connection: ask this one role for its password.
        hba.write_text("local all codesift_app scram-sha-256\n"
                       "host all codesift_app 127.0.0.1/32 scram-sha-256\n" + rules)
        with psycopg.connect(pg.get_uri(), autocommit=True) as conn:
            conn.execute("CREATE ROLE codesift_app LOGIN PASSWORD 'right-horse-battery'")
            conn.execute("SELECT pg_reload_conf()")
    socket_dir = sqlalchemy.make_url(pg.get_uri()).query["host"]
    cat.add("pg", f"postgresql://codesift_app:${{APP_PW}}@/postgres?host={socket_dir}")
    url = cat.get("pg").url
    assert "${APP_PW}" in url

    check_reachable(open_engine(expand_url(url, {"APP_PW": "right-horse-battery"})))
    with pytest.raises(DatabaseError) as err:
        check_reachable(open_engine(expand_url(url, {"APP_PW": "wrong-staple-9"})))
    message, hint = str(err.value), err.value.hint
    assert "login was refused" in message and "\n" not in message
    assert "wrong-staple-9" not in message + hint and "codesift_app:***@" in message
    literal = f"postgresql://codesift_app:wrong-staple-9@/postgres?host={socket_dir}"
    with pytest.raises(DatabaseError) as err:
        check_reachable(open_engine(expand_url(literal)))
    assert "wrong-staple-9" not in str(err.value) + err.value.hint
