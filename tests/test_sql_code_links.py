"""`codesift sql link`: a database's tables linked to the code of an indexed repository that
uses them (SQLAlchemy and Django models, migrations, raw SQL in Python, JavaScript, Go and
.sql files), stored in the catalog and cited by `codesift sql context`; and code search
answering "where is the orders table written". Real files, a real index, a real SQLite."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_tree

import codesift
from codesift.cli import main
from codesift.errors import NoIndexError
from codesift.sql.catalog import Catalog
from codesift.sql.code_links import TableNames, link_code, sql_tables
from codesift.sql.code_strings import PLACEHOLDER, lexed_literals
from codesift.sql.code_text import Unit, rebuild
from codesift.sql.model import Column, Schema, Table
from codesift.sql.service import SqlWorkspace

REPO = {
    "shop/models.py": '''
        """The shop's tables, mapped with SQLAlchemy."""
        from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table
        from sqlalchemy.orm import declarative_base

        Base = declarative_base()
        metadata = MetaData()


        class Order(Base):
            """An order a customer placed."""

            __tablename__ = "orders"

            id = Column(Integer, primary_key=True)
            customer_id = Column(Integer, ForeignKey("customers.id"))
            status = Column(String(20))

            def is_open(self):
                return self.status == "open"


        order_items = Table(
            "order_items", metadata,
            Column("order_id", Integer, ForeignKey("orders.id")),
            Column("sku", String),
        )
    ''',
    "billing/models.py": '''
        from django.db import models


        class Stamped(models.Model):
            created = models.DateTimeField(auto_now_add=True)

            class Meta:
                abstract = True


        class Invoice(Stamped):
            number = models.CharField(max_length=20)
            total = models.DecimalField(max_digits=10, decimal_places=2)


        class Payment(models.Model):
            invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE)
            amount = models.DecimalField(max_digits=10, decimal_places=2)

            class Meta:
                db_table = "payments"
                ordering = ["-id"]
    ''',
    "shop/queries.py": '''
        """Hand-written SQL for the reports the ORM makes slow."""


        def open_orders(db, customer):
            """Select the open orders of one customer."""
            # DELETE FROM orders is never run from here.
            return db.execute("""
                SELECT o.id, c.name
                FROM orders AS o
                JOIN customers AS c ON c.id = o.customer_id
                WHERE o.status = 'open' AND c.id = ?
            """, (customer,)).fetchall()


        def place_order(db, customer_id):
            db.execute(
                "INSERT INTO orders (customer_id, status) "
                "VALUES (?, 'open')",
                (customer_id,),
            )


        def label(order):
            """Create the orders' label: not SQL, and never given to sqlglot."""
            return "orders: %s" % order
    ''',
    "web/orders.js": '''
        // Order status changes from the web front end.
        export async function shipOrder(db, id) {
          const sql = `UPDATE orders
            SET status = 'shipped'
            WHERE id = ${id}`;
          return db.run(sql);
        }

        export function countOrders(db) {
          return db.get("SELECT count(*) AS n " +
            "FROM orders");
        }
    ''',
    "store/orders.go": '''
        package store

        import "database/sql"

        // PurgeCancelled removes cancelled orders; it's run nightly.
        func PurgeCancelled(db *sql.DB) error {
        \t_, err := db.Exec(`DELETE FROM orders
        \t\tWHERE status = 'cancelled'`)
        \treturn err
        }
    ''',
    "db/schema.sql": '''
        -- The shop's schema.
        CREATE TABLE customers (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL
        );

        INSERT INTO customers (id, name) VALUES (1, 'Ada');
    ''',
    "alembic/versions/0001_orders.py": '''
        from alembic import op
        import sqlalchemy as sa


        def upgrade():
            op.create_table(
                "orders",
                sa.Column("id", sa.Integer, primary_key=True),
            )
            op.create_index("ix_orders_status", "orders", ["status"])
    ''',
    "billing/migrations/0001_initial.py": '''
        from django.db import migrations, models


        class Migration(migrations.Migration):
            operations = [
                migrations.CreateModel(
                    name="Invoice",
                    fields=[("number", models.CharField(max_length=20))],
                ),
            ]
    ''',
}

SHOP_DDL = """
CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id),
                     status TEXT);
CREATE TABLE order_items (order_id INTEGER REFERENCES orders(id), sku TEXT);
CREATE TABLE billing_stamped (id INTEGER PRIMARY KEY);  -- abstract in Django: no link
CREATE TABLE billing_invoice (id INTEGER PRIMARY KEY, number TEXT, total NUMERIC);
CREATE TABLE payments (id INTEGER PRIMARY KEY, invoice_id INTEGER, amount NUMERIC);
CREATE TABLE audit_log (id INTEGER PRIMARY KEY, note TEXT);  -- no code uses it
"""

# (table, path, start, end, symbol, kind, writes), in the order links are given.
EXPECTED = [
    ("billing_invoice", "billing/models.py", 11, 13, "billing.models.Invoice",
     "django-model", False),
    ("billing_invoice", "billing/migrations/0001_initial.py", 6, 9,
     "billing.migrations.0001_initial.Migration", "migration", False),
    ("customers", "db/schema.sql", 7, 7, "", "sql", True),
    ("customers", "db/schema.sql", 2, 5, "customers", "sql", False),
    ("customers", "shop/queries.py", 7, 12, "shop.queries.open_orders", "sql", False),
    ("order_items", "shop/models.py", 22, 26, "order_items", "sqlalchemy-model", False),
    ("orders", "shop/models.py", 9, 19, "shop.models.Order", "sqlalchemy-model", False),
    ("orders", "shop/queries.py", 17, 18, "shop.queries.place_order", "sql", True),
    ("orders", "store/orders.go", 7, 8, "store.PurgeCancelled", "sql", True),
    ("orders", "web/orders.js", 3, 5, "shipOrder", "sql", True),
    ("orders", "shop/queries.py", 7, 12, "shop.queries.open_orders", "sql", False),
    ("orders", "web/orders.js", 10, 11, "countOrders", "sql", False),
    ("orders", "alembic/versions/0001_orders.py", 6, 9, "alembic.versions.0001_orders.upgrade",
     "migration", False),
    ("orders", "alembic/versions/0001_orders.py", 10, 10,
     "alembic.versions.0001_orders.upgrade", "migration", False),
    ("payments", "billing/models.py", 16, 22, "billing.models.Payment", "django-model", False),
]


def _rows(links) -> list[tuple]:
    return [(k.table, k.path, k.start_line, k.end_line, k.symbol, k.kind, k.writes)
            for k in links]


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    root = write_tree(tmp_path / "repo", REPO)
    with codesift.open_index(root, dense=False) as index:
        index.update()
    return root


@pytest.fixture()
def shop(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    db = sqlite3.connect(path)
    db.executescript(SHOP_DDL)
    db.close()
    return path


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture()
def workspace(home: Path, shop: Path):
    with Catalog(home) as catalog:
        catalog.add("shop", str(shop))
        ws = SqlWorkspace(catalog)
        ws.learn("shop", samples=False)
        yield ws


def run(home: Path, *args: str):
    env = {"CODESIFT_HOME": str(home), "CODESIFT_DENSE": "0", "CODESIFT_LLM_CACHE": "0",
           "CODESIFT_LLM_BASE_URL": "", "CODESIFT_LLM_MODEL": ""}
    return CliRunner().invoke(main, ["sql", *args], env=env, catch_exceptions=False)


# -- finding the links -------------------------------------------------------------------

def test_every_use_of_a_table_is_linked_with_its_lines_kind_and_writes(repo, workspace):
    with codesift.open_index(repo, dense=False) as index:
        scan = link_code(index, workspace.schema("shop"))
    assert _rows(scan.links) == EXPECTED
    # Not links: the abstract model, the docstring and the comment that read like SQL,
    # the "orders: %s" label, and the table no code uses.
    assert not {"billing_stamped", "audit_log"} & {k.table for k in scan.links}
    assert scan.files == 8 and scan.units >= scan.files
    # Seven SQL strings and statements, and the docstring that starts like one: sqlglot
    # turns it down.
    assert scan.statements == 8


def test_rebuilt_text_is_the_files_text(repo):
    """Skeleton classes, their members and module blocks put every line back in place."""
    with codesift.open_index(repo, dense=False) as index:
        db = index.store().db
        for rel in REPO:
            units = [Unit(*r) for r in db.execute(
                "SELECT kind, symbol, start_line, end_line, context_text FROM chunks "
                "WHERE path = ?", (rel,))]
            rebuilt = rebuild(rel, "", units)
            assert rebuilt.text == (repo / rel).read_text().rstrip("\n"), rel


def test_a_repository_without_an_index_says_how_to_build_one(workspace, tmp_path):
    bare = tmp_path / "bare"
    bare.mkdir()
    with pytest.raises(NoIndexError, match="no index") as err:
        workspace.link_code("shop", bare)
    assert "codesift index" in err.value.hint


# -- storing them ------------------------------------------------------------------------

def test_linking_again_replaces_that_repositorys_links_only(repo, workspace, tmp_path):
    other = write_tree(tmp_path / "other", {"jobs.py": '''
        def close(db):
            db.execute("UPDATE orders SET status = 'closed' WHERE status = 'shipped'")
    '''})
    with codesift.open_index(other, dense=False) as index:
        index.update()
    first = workspace.link_code("shop", repo)
    assert {k.repo for k in first.links} == {str(repo.resolve())}
    workspace.link_code("shop", other)

    (repo / "web" / "orders.js").unlink()
    with codesift.open_index(repo, dense=False) as index:
        index.update()
    workspace.link_code("shop", repo)

    stored = workspace.catalog.code_links("shop", str(repo.resolve()))
    assert _rows(stored) == [e for e in EXPECTED if e[1] != "web/orders.js"]
    elsewhere = workspace.catalog.code_links("shop", str(other.resolve()))
    assert _rows(elsewhere) == [("orders", "jobs.py", 2, 2, "jobs.close", "sql", True)]


def test_a_table_dropped_from_the_database_loses_its_links(repo, workspace, shop):
    workspace.link_code("shop", repo)
    db = sqlite3.connect(shop)
    db.execute("DROP TABLE payments")
    db.close()
    workspace.learn("shop", samples=False)
    tables = {k.table for k in workspace.catalog.code_links("shop")}
    assert "payments" not in tables and "orders" in tables


# -- the CLI and the context -------------------------------------------------------------

def test_cli_link_prints_tables_and_places_and_json(repo, home, shop):
    assert run(home, "add", "shop", str(shop)).exit_code == 0
    assert run(home, "learn", "shop", "--no-samples").exit_code == 0

    out = run(home, "link", "shop", "--repo", str(repo), "--json")
    assert out.exit_code == 0, out.output
    got = json.loads(out.stdout)
    assert got["database"] == "shop" and got["repo"] == str(repo.resolve())
    assert got["tables"] == 5 and got["files"] >= 8
    assert [(d["table"], d["path"], d["start_line"], d["end_line"], d["symbol"], d["kind"],
             d["writes"]) for d in got["links"]] == EXPECTED

    text = run(home, "link", "shop", "--repo", str(repo))
    assert text.exit_code == 0
    assert "orders\n  shop/models.py:9-19\tshop.models.Order\tsqlalchemy-model\n" in text.stdout
    assert "  web/orders.js:3-5\tshipOrder\tsql writes\n" in text.stdout


def test_cli_link_without_an_index_is_one_line_and_a_hint(home, shop, tmp_path):
    run(home, "add", "shop", str(shop))
    run(home, "learn", "shop", "--no-samples")
    (tmp_path / "plain").mkdir()
    out = run(home, "link", "shop", "--repo", str(tmp_path / "plain"))
    assert out.exit_code == 1
    assert "no index for" in out.output and "codesift index" in out.output
    assert "Traceback" not in out.output

    # An index kept elsewhere is named as `codesift index --index-dir` names it.
    write_tree(tmp_path / "plain", {"jobs.py": REPO["shop/queries.py"]})
    with codesift.open_index(tmp_path / "plain", dense=False,
                             index_dir=str(tmp_path / "idx")) as index:
        index.update()
    out = run(home, "link", "shop", "--repo", str(tmp_path / "plain"), "--index-dir",
              str(tmp_path / "idx"), "--json")
    assert out.exit_code == 0, out.output
    assert {(d["path"], d["table"], d["writes"]) for d in json.loads(out.stdout)["links"]} == {
        ("jobs.py", "orders", False), ("jobs.py", "customers", False),
        ("jobs.py", "orders", True)}


def test_context_json_lists_the_shown_tables_code_and_the_prompt_cites_it(repo, home, shop):
    run(home, "add", "shop", str(shop))
    run(home, "learn", "shop", "--no-samples")
    before = json.loads(run(home, "context", "how many open orders per customer", "--db",
                            "shop", "--json").stdout)
    assert before["code"] == [] and "-- used in" not in before["schema"]

    run(home, "link", "shop", "--repo", str(repo))
    got = json.loads(run(home, "context", "how many open orders per customer", "--db", "shop",
                         "--json").stdout)
    shown = {t.lower() for t in got["schema"].split() if t in ("orders", "customers")}
    assert {"orders", "customers"} <= shown
    by_table: dict[str, list] = {}
    for d in got["code"]:
        by_table.setdefault(d["table"], []).append(d)
    assert by_table["orders"][0] == {
        "table": "orders", "repo": str(repo.resolve()), "path": "shop/models.py",
        "start_line": 9, "end_line": 19, "symbol": "shop.models.Order",
        "kind": "sqlalchemy-model", "writes": False}
    assert [d["path"] for d in by_table["orders"][1:4]] == [
        "shop/queries.py", "store/orders.go", "web/orders.js"]  # the writers next
    assert len(by_table["orders"]) == 5  # at most MAX_CODE_LINKS a table
    assert set(by_table) <= {t["name"] for t in got["tables"] if t["shown"]}
    assert ("-- used in: shop/models.py:9 (model Order), shop/queries.py:17 "
            "(place_order, writes), store/orders.go:7 (PurgeCancelled, writes)") in got["schema"]
    assert got["schema"] in got["messages"][0]["content"]
    assert got["tokens"] > before["tokens"]


# -- code search -------------------------------------------------------------------------

def test_search_for_where_a_table_is_written_finds_the_writers(repo):
    """The SQL that writes a table says INSERT, UPDATE, DELETE, never "written": without
    those words added to the question, at most one writer made the top 10 here."""
    writers = {"shop.queries.place_order", "shipOrder", "store.PurgeCancelled"}
    with codesift.open_index(repo, dense=False) as index:
        for question in ("where is the orders table written",
                         "which code updates the orders table?",
                         "where are rows inserted into the orders table"):
            top = [h.symbol for h in index.search(question, k=6)]
            assert writers <= set(top), (question, top)


# -- the parts ---------------------------------------------------------------------------

SCHEMA = Schema("s", "postgres", (
    Table("orders", (Column("id"),)),
    Table("Orders", (Column("id"),), schema="sales"),
    Table("order_items", (Column("id"),)),
))


@pytest.mark.parametrize("sql, expected", [
    ("select * from ORDERS", [("orders", False)]),
    ("SELECT * FROM public.orders", [("orders", False)]),  # the default schema, named
    ("UPDATE Sales.ORDERS SET id = 1", [("sales.Orders", True)]),
    ("SELECT * FROM archive.orders", [("orders", False)]),  # a schema the catalog lacks
    ("INSERT INTO order_items (id) SELECT id FROM orders", [("order_items", True),
                                                             ("orders", False)]),
    ("WITH gone AS (DELETE FROM orders RETURNING id) SELECT * FROM gone", [("orders", True)]),
    ("WITH orders AS (SELECT 1) SELECT * FROM orders", []),  # a CTE, not the table
    ("MERGE INTO orders t USING order_items s ON t.id = s.id "
     "WHEN MATCHED THEN UPDATE SET id = s.id", [("orders", True), ("order_items", False)]),
    ("INSERT INTO orders (id) VALUES (%s) ON CONFLICT (id) DO NOTHING", [("orders", True)]),
    ("TRUNCATE TABLE orders", [("orders", True)]),
    ("Update the orders", []),  # prose
    ("SELECT * FROM __param__ JOIN orders ON true", [("orders", False)]),
])
def test_sql_tables_resolve_names_and_writes(sql, expected):
    assert sorted(sql_tables(sql, TableNames(SCHEMA), SCHEMA.dialect)) == sorted(expected)


def test_replace_into_is_a_write_in_sqlite():
    names = TableNames(Schema("s", "sqlite", (Table("orders", (Column("id"),)),)))
    assert sql_tables("REPLACE INTO orders (id) VALUES (1)", names, "sqlite") == [
        ("orders", True)]


def test_lexer_reads_strings_not_comments_and_joins_concatenations():
    js = ("// don't 'SELECT 1 FROM x'\n/* it's */ const a = `SELECT *\n FROM t WHERE a = "
          "${f({b: 1})}`;\nconst b = 'x' + \"y\";\n")
    got = [(x.text, x.start_line, x.end_line) for x in lexed_literals(js, "javascript")]
    assert got == [(f"SELECT *\n FROM t WHERE a = {PLACEHOLDER}", 2, 3), ("xy", 4, 4)]
    java = 'char q = \'"\'; String s = """\n  SELECT 1\n  """; String t = "a\\"b";'
    got = [(x.text, x.start_line) for x in lexed_literals(java, "java")]
    assert got == [("\n  SELECT 1\n  ", 1), ('a"b', 3)]
    go = "x := `a\nb` // `c`\ny := \"d\\n\"\n"
    assert [x.text for x in lexed_literals(go, "go")] == ["a\nb", "d\n"]
    py = "x = ('SELECT a '\n     \"FROM t\")  # 'no'\ny = f'{z}'\n"
    assert [(x.text, x.start_line, x.end_line) for x in lexed_literals(py, "python")] == [
        ("SELECT a FROM t", 1, 2), ("{z}", 3, 3)]


def test_kotlin_indexed_as_text_is_read_like_java(tmp_path, workspace):
    root = write_tree(tmp_path / "app", {"data/OrderDao.kt": '''
        // Room DAO: "DELETE FROM orders" in a comment is no link
        interface OrderDao {
            @Query("""
                DELETE FROM orders WHERE status = 'cancelled'
            """)
            fun purge()
        }
    '''})
    with codesift.open_index(root, dense=False) as index:
        index.update()
        scan = link_code(index, workspace.schema("shop"))
    assert [(k.table, k.path, k.start_line, k.end_line, k.writes) for k in scan.links] == [
        ("orders", "data/OrderDao.kt", 3, 5, True)]


def test_a_commit_message_about_tables_gets_no_sql_terms():
    from codesift.retrieve.query import analyse
    asked = analyse("where is the orders table written?").terms
    assert {"insert", "update", "delete"} <= set(asked)
    told = analyse("Update tables when rows are added").terms
    assert "insert" not in told and "delete" not in told
