"""check_sql (static checks of generated SQL) and run_readonly/explain (the database refusing
writes), on real SQLite files and a real PostgreSQL (pgserver)."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import pytest
from conftest import pg_database

from codesift.errors import CodesiftError, DatabaseError, SqlCheckError, UsageError
from codesift.sql import guard, validate
from codesift.sql.denylist import is_denied
from codesift.sql.guard import Rows, explain, run_readonly
from codesift.sql.model import Column, ForeignKey, Schema, Table
from codesift.sql.validate import CheckedSql, check_sql

# --- a Spider-like database: concert_singer, in both dialects ---------------------------

TABLES = (
    Table("stadium", (Column("Stadium_ID", "INTEGER", primary_key=True), Column("Name"),
                      Column("Location"), Column("Capacity", "INTEGER"))),
    Table("singer", (Column("Singer_ID", "INTEGER", primary_key=True), Column("Name"),
                     Column("Country"), Column("Age", "INTEGER"), Column("Is_male"))),
    Table("concert", (Column("concert_ID", "INTEGER", primary_key=True),
                      Column("concert_Name"), Column("Theme"), Column("Stadium_ID", "INTEGER"),
                      Column("Year")),
          foreign_keys=(ForeignKey(("Stadium_ID",), "stadium", ("Stadium_ID",)),)),
)
SQLITE = Schema("concert_singer", "sqlite", TABLES)


def _folded(table: Table) -> Table:
    """What PostgreSQL reports for the same DDL: unquoted names fold to lower case."""
    return Table(table.name.lower(), tuple(Column(c.name.lower(), c.type, primary_key=c.primary_key)
                                           for c in table.columns))


POSTGRES = Schema("concert_singer", "postgres", tuple(_folded(t) for t in TABLES))

DDL = [
    "CREATE TABLE stadium (Stadium_ID INTEGER PRIMARY KEY, Name TEXT, Location TEXT, "
    "Capacity INTEGER)",
    "CREATE TABLE singer (Singer_ID INTEGER PRIMARY KEY, Name TEXT, Country TEXT, "
    "Age INTEGER, Is_male TEXT)",
    "CREATE TABLE concert (concert_ID INTEGER PRIMARY KEY, concert_Name TEXT, Theme TEXT, "
    "Stadium_ID INTEGER REFERENCES stadium (Stadium_ID), Year TEXT)",
    "INSERT INTO stadium VALUES (1, 'Hampden', 'Glasgow', 52500), (2, 'Ibrox', 'Glasgow', 50987)",
    "INSERT INTO singer VALUES (1, 'Bob', 'France', 29, 'T'), (2, 'Ann', 'Netherlands', 41, 'F'),"
    " (3, 'Joe', 'France', 35, 'T'), (4, 'Tribal King', 'United States', 25, 'T')",
    "INSERT INTO concert VALUES (1, 'Auditions', 'Free choice', 1, '2014'),"
    " (2, 'Super bootcamp', 'Free choice 2', 2, '2014'), (3, 'Home Visits', 'Bleeding Love', 2,"
    " '2015')",
]
COUNTS = {"stadium": 2, "singer": 4, "concert": 3}

# Spider dev's style: aliases T1/T2, count(DISTINCT), LIKE '%a%', double-quoted strings.
GOLD = [
    "SELECT count(*) FROM singer",
    "SELECT Name, Country, Age FROM singer ORDER BY Age DESC",
    "SELECT avg(Age), min(Age), max(Age) FROM singer WHERE Country = 'France'",
    'SELECT Name FROM singer WHERE Country = "France" AND Is_male = "T"',
    'SELECT count(DISTINCT Country) FROM singer WHERE Name LIKE "%o%"',
    "SELECT Name FROM singer WHERE Name LIKE '%a%'",
    'SELECT Name FROM singer WHERE Country IN ("France", "Netherlands")',
    'SELECT concert_Name FROM concert WHERE Year BETWEEN "2014" AND "2015"',
    "SELECT T2.Name, count(*) FROM concert AS T1 JOIN stadium AS T2 "
    "ON T1.Stadium_ID = T2.Stadium_ID GROUP BY T1.Stadium_ID",
    "SELECT T2.Name, T2.Capacity FROM concert AS T1 JOIN stadium AS T2 "
    "ON T1.Stadium_ID = T2.Stadium_ID WHERE T1.Year >= 2014 GROUP BY T2.Stadium_ID "
    "ORDER BY count(*) DESC LIMIT 1",
    "SELECT Country, count(*) AS n FROM singer GROUP BY Country HAVING count(*) > 1 ORDER BY n",
    "SELECT Name FROM stadium WHERE Stadium_ID NOT IN (SELECT Stadium_ID FROM concert)",
    "SELECT Name FROM stadium EXCEPT SELECT T2.Name FROM concert AS T1 JOIN stadium AS T2 "
    "ON T1.Stadium_ID = T2.Stadium_ID WHERE T1.Year = 2014",
    "SELECT Country FROM singer WHERE Age > 40 INTERSECT SELECT Country FROM singer "
    "WHERE Age < 30",
    'SELECT Name FROM singer WHERE Age > (SELECT avg(Age) FROM singer) OR Name = "Bob"',
    "SELECT * FROM singer",
    "WITH young AS (SELECT Name, Age FROM singer WHERE Age < 30) SELECT Name FROM young",
    'SELECT "Name" FROM singer',
    "SELECT Name FROM singer AS s WHERE EXISTS "
    "(SELECT 1 FROM concert AS c WHERE c.Stadium_ID = s.Singer_ID)",
]


def _make_sqlite(path: Path) -> Path:
    with sqlite3.connect(path) as db:
        for stmt in DDL:
            db.execute(stmt)
    db.close()
    return path


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory) -> str:
    path = _make_sqlite(tmp_path_factory.mktemp("sqlite") / "concert_singer.sqlite")
    return f"sqlite:///{path}"


@pytest.fixture(scope="module")
def pg_url(pg_server):
    """A database of its own in the session's PostgreSQL, with the same tables."""
    return pg_database(pg_server, "sql_check", ";\n".join([*DDL, "CREATE SEQUENCE tickets"]))


def _sqlite_state(url: str) -> tuple:
    path = url.removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        names = tuple(r[0] for r in db.execute("SELECT name FROM sqlite_master ORDER BY name"))
        counts = tuple(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COUNTS)
    db.close()
    return names, counts


def _pg_state(url: str) -> tuple:
    import psycopg
    with psycopg.connect(url) as conn:
        names = tuple(r[0] for r in conn.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
            "ORDER BY relname"))
        counts = tuple(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COUNTS)
        seq = conn.execute("SELECT last_value, is_called FROM tickets").fetchone()
    return names, counts, seq


# --- check_sql: what passes -------------------------------------------------------------

@pytest.mark.parametrize("sql", GOLD)
def test_spider_style_gold_sql_passes_with_explain(sql, sqlite_url):
    checked = check_sql(sql, SQLITE, explain=lambda s: explain(sqlite_url, s))
    assert checked.sql == sql


# SQLite-only: "x" strings, and what PostgreSQL's stricter typing and grouping refuse
# (text compared with a number; a column neither grouped nor aggregated).
SQLITE_ONLY = {GOLD[8], GOLD[9], GOLD[12]}


@pytest.mark.parametrize("sql", [s for s in GOLD if '"' not in s and s not in SQLITE_ONLY])
def test_gold_sql_passes_in_postgres_with_explain(sql, pg_url):
    check_sql(sql, POSTGRES, explain=lambda s: explain(pg_url, s))


def test_checked_sql_names_what_it_reads_in_schema_spelling():
    checked = check_sql("```sql\nselect t2.name from CONCERT as t1 join stadium as t2 on "
                        "t1.stadium_id = t2.stadium_id where t2.capacity > 1000;\n```", SQLITE)
    assert isinstance(checked, CheckedSql)
    assert checked.sql == ("select t2.name from CONCERT as t1 join stadium as t2 on "
                           "t1.stadium_id = t2.stadium_id where t2.capacity > 1000")
    assert checked.tables == ("concert", "stadium")
    assert set(checked.columns) == {("stadium", "Name"), ("concert", "Stadium_ID"),
                                    ("stadium", "Stadium_ID"), ("stadium", "Capacity")}
    assert len(checked.columns) == 4


def test_star_expands_to_every_column_and_aliases_resolve():
    checked = check_sql("SELECT * FROM singer", SQLITE)
    assert checked.columns == tuple(("singer", c.name) for c in TABLES[1].columns)
    checked = check_sql("SELECT count(*) AS n, Country FROM singer GROUP BY Country "
                        "ORDER BY n DESC", SQLITE)
    assert checked.columns == (("singer", "Country"),)


def test_postgres_case_folding_is_explained():
    schema = Schema("shop", "postgres", (Table("customer", (Column("id"), Column("Name"))),))
    assert check_sql('SELECT "Name" FROM customer', schema).columns == (("customer", "Name"),)
    with pytest.raises(SqlCheckError) as err:
        check_sql("SELECT Name FROM customer", schema)
    assert str(err.value) == ('unknown column customer.Name: unquoted it reads as name, '
                              'write "Name"; customer has: id, Name')


SHOP = Schema("shop", "postgres", (
    Table("orders", (Column("id"), Column("customer_id"), Column("total"),
                     Column("created_at"), Column("meta"))),
    Table("customers", (Column("id"), Column("name"), Column("city")))))


@pytest.mark.parametrize("sql", [
    "SELECT id, total::numeric(10,2) FROM orders WHERE created_at >= now() - INTERVAL '30 days'",
    "SELECT date_trunc('month', created_at) AS m, sum(total) FROM orders GROUP BY 1 ORDER BY m",
    "SELECT DISTINCT ON (customer_id) customer_id, total FROM orders "
    "ORDER BY customer_id, created_at DESC",
    "SELECT c.name, count(*) FILTER (WHERE o.total > 100) FROM customers AS c "
    "JOIN orders AS o ON o.customer_id = c.id GROUP BY c.name",
    "SELECT meta->>'channel' AS channel, count(*) FROM orders GROUP BY 1",
    "SELECT id, rank() OVER (PARTITION BY customer_id ORDER BY total DESC) AS r FROM orders",
    "SELECT c.name, x.total FROM customers AS c CROSS JOIN LATERAL (SELECT total FROM orders "
    "AS o WHERE o.customer_id = c.id ORDER BY total DESC LIMIT 1) AS x",
    "SELECT d::date, count(o.id) FROM generate_series('2024-01-01'::date, '2024-01-31', "
    "'1 day') AS d LEFT JOIN orders AS o ON o.created_at::date = d::date GROUP BY 1",
    "SELECT c.city, percentile_cont(0.5) WITHIN GROUP (ORDER BY o.total) FROM customers AS c "
    "JOIN orders AS o ON o.customer_id = c.id GROUP BY c.city",
    "SELECT x FROM (VALUES (1), (2)) AS v(x)",
    "SELECT 1",
])
def test_postgres_idioms_pass(sql):
    check_sql(sql, SHOP)


def test_sqlite_rowid_is_a_column_no_schema_lists(sqlite_url):
    check_sql("SELECT rowid, Name FROM singer WHERE _rowid_ > 1", SQLITE,
              explain=lambda s: explain(sqlite_url, s))


def test_join_using_an_unknown_column():
    with pytest.raises(SqlCheckError, match=r"^unknown column idx in JOIN ... USING"):
        check_sql("SELECT name FROM customers JOIN orders USING (idx)", SHOP)


def test_schema_qualified_tables():
    schema = Schema("shop", "postgres", (
        Table("orders", (Column("id"), Column("total")), schema="sales"),
        Table("customer", (Column("id"), Column("Name")))))
    assert check_sql("SELECT o.total FROM sales.orders AS o", schema).tables == ("sales.orders",)
    assert check_sql("SELECT id FROM public.customer", schema).tables == ("customer",)
    with pytest.raises(SqlCheckError, match="unknown table sales.customers"):
        check_sql("SELECT id FROM sales.customers", schema)


# --- check_sql: unknown names -----------------------------------------------------------

@pytest.mark.parametrize("sql, message", [
    ("SELECT nam FROM singer",
     "unknown column singer.nam; singer has: Singer_ID, Name, Country, Age, Is_male"),
    ("SELECT T1.nam FROM singer AS T1",
     "unknown column T1.nam; T1 (singer) has: Singer_ID, Name, Country, Age, Is_male"),
    ("SELECT T2.Nme FROM concert AS T1 JOIN stadium AS T2 ON T1.Stadium_ID = T2.Stadium_ID",
     "unknown column T2.Nme; T2 (stadium) has: Stadium_ID, Name, Location, Capacity"),
    ("SELECT Country FROM singer GROUP BY Country HAVING avg(Agee) > 30",
     "unknown column singer.Agee; singer has: Singer_ID, Name, Country, Age, Is_male"),
    ("WITH y AS (SELECT Name FROM singer) SELECT Nme FROM y", "unknown column y.Nme; y has: Name"),
    ("SELECT Name FROM singers", "unknown table singers; tables: stadium, singer, concert"),
    ("SELECT T1.Name FROM concert AS T1 JOIN stadiums AS T2 ON T1.Stadium_ID = T2.Stadium_ID",
     "unknown table stadiums; tables: stadium, singer, concert"),
])
def test_unknown_names_get_one_line_for_the_model(sql, message):
    with pytest.raises(SqlCheckError) as err:
        check_sql(sql, SQLITE)
    assert str(err.value) == message
    assert "\n" not in str(err.value)


def test_ambiguous_column():
    with pytest.raises(SqlCheckError, match=r"ambiguous column Stadium_ID: concert and stadium"):
        check_sql("SELECT Stadium_ID FROM concert JOIN stadium "
                  "ON concert.Stadium_ID = stadium.Stadium_ID", SQLITE)


def test_parse_error_is_one_line():
    with pytest.raises(SqlCheckError, match=r"^does not parse: .*line 1") as err:
        check_sql("SELECT Name FROM singer WHERE (Age > 3", SQLITE)
    assert "\n" not in str(err.value)


def test_explain_failure_comes_back_as_sql_check_error(sqlite_url):
    with pytest.raises(SqlCheckError, match=r"^EXPLAIN failed: no such function: nosuch"):
        check_sql("SELECT nosuch(Name) FROM singer", SQLITE,
                  explain=lambda s: explain(sqlite_url, s))


def test_explain_on_an_unreachable_database_is_a_database_error(tmp_path):
    # Not the SQL's fault: propagated as it is, not fed back to the model as a check failure.
    with pytest.raises(DatabaseError):
        check_sql("SELECT Name FROM singer", SQLITE,
                  explain=lambda s: explain(f"sqlite:///{tmp_path / 'none.db'}", s))


# --- check_sql: SQLite's double quotes ----------------------------------------------------

@pytest.mark.parametrize("sql", [
    'SELECT Name FROM singer WHERE Country = "France"',
    'SELECT Name FROM singer WHERE "France" = Country',
    'SELECT Name FROM singer WHERE Name != "Bob" AND Name LIKE "%o%"',
    'SELECT "Name", "Age" FROM singer WHERE "Age" > 30',  # quoted columns stay columns
    'SELECT Country FROM singer GROUP BY Country HAVING count(*) > "1"',
])
def test_double_quoted_strings_pass_as_sqlite_reads_them(sql, sqlite_url):
    check_sql(sql, SQLITE, explain=lambda s: explain(sqlite_url, s))


@pytest.mark.parametrize("sql", [
    'SELECT "nam" FROM singer',
    'SELECT count("nam") FROM singer',
    'SELECT Name FROM singer GROUP BY "Countr"',
    'SELECT Name FROM singer ORDER BY "ag"',
    'SELECT Name FROM singer WHERE "nam" = "Bob"',
    'SELECT Name FROM singer WHERE "ag" > (SELECT avg(Age) FROM singer)',
    'SELECT Name FROM singer WHERE Singer_ID != "Singer_I"',  # a typo of a column in scope
])
def test_double_quoted_name_that_is_no_column_is_reported(sql, sqlite_url):
    with pytest.raises(SqlCheckError, match=r"is no column of singer( \(did you mean \w+\?\))?"
                                            r": SQLite would read it as the string '") as err:
        check_sql(sql, SQLITE)
    assert "single quotes" in err.value.hint
    # the reason it needs a static check: SQLite itself runs it without complaint
    run_readonly(sqlite_url, sql)


def test_double_quoted_typo_names_the_column_it_resembles():
    with pytest.raises(SqlCheckError) as err:
        check_sql('SELECT Name FROM singer WHERE Singer_ID != "Singer_I"', SQLITE)
    assert str(err.value) == ('"Singer_I" is no column of singer (did you mean Singer_ID?): '
                              "SQLite would read it as the string 'Singer_I'")
    with pytest.raises(SqlCheckError) as err:
        check_sql('SELECT "nam" FROM singer', SQLITE)
    assert str(err.value) == ('"nam" is no column of singer (did you mean Name?): '
                              "SQLite would read it as the string 'nam'")


def test_double_quotes_are_always_names_in_postgres():
    with pytest.raises(SqlCheckError, match="unknown column singer.France; singer has: "):
        check_sql('SELECT Name FROM singer WHERE Country = "France"', POSTGRES)


# --- check_sql: writes --------------------------------------------------------------------

SQLITE_WRITES = [
    "DELETE FROM singer",
    "UPDATE singer SET Age = 0",
    "INSERT INTO singer (Name) VALUES ('Eve')",
    "INSERT INTO singer SELECT * FROM singer",
    "REPLACE INTO singer VALUES (1, 'Bob', 'France', 30, 'T')",
    "INSERT OR REPLACE INTO singer VALUES (1, 'Bob', 'France', 30, 'T')",
    "CREATE TABLE copy AS SELECT * FROM singer",
    "CREATE TEMP TABLE scratch (a)",
    "DROP TABLE concert",
    "ALTER TABLE singer ADD COLUMN extra TEXT",
    "ATTACH DATABASE '/tmp/codesift-elsewhere.db' AS elsewhere",
    "DETACH DATABASE main",
    "PRAGMA writable_schema = ON",
    "PRAGMA table_info(singer)",
    "VACUUM",
    "BEGIN",
    "WITH gone AS (DELETE FROM singer RETURNING *) SELECT * FROM gone",
    "WITH x AS (SELECT 1) DELETE FROM singer",
    "SELECT Name FROM singer; DROP TABLE singer",
    "SELECT load_extension('/tmp/evil.so') FROM singer",
    "SELECT writefile('/tmp/codesift-out', Name) FROM singer",
]
POSTGRES_WRITES = [
    "DELETE FROM singer",
    "UPDATE singer SET Age = 0",
    "INSERT INTO singer (Singer_ID, Name) VALUES (9, 'Eve')",
    "CREATE TABLE copy AS SELECT * FROM singer",
    "DROP TABLE concert",
    "ALTER TABLE singer ADD COLUMN extra TEXT",
    "TRUNCATE singer",
    "VACUUM",
    "WITH gone AS (DELETE FROM singer RETURNING *) SELECT * FROM gone",
    "SELECT Name FROM singer; DROP TABLE singer",
    "SELECT * INTO copy FROM singer",
    "SELECT * FROM singer FOR UPDATE",
    "SELECT * FROM singer FOR SHARE",
    "SELECT nextval('tickets')",
    "SELECT setval('tickets', 100)",
    "SELECT set_config('statement_timeout', '0', false)",
    "SELECT pg_terminate_backend(pg_backend_pid())",
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT lo_import('/etc/passwd')",
    "SELECT * FROM dblink('dbname=x', 'DELETE FROM singer') AS t(a int)",
    "SELECT query_to_xml('DELETE FROM singer', true, true, '')",
    "COPY singer TO '/tmp/codesift-copy'",
    "DO $$ BEGIN DELETE FROM singer; END $$",
    "SET statement_timeout = 0",
    "BEGIN",
]


@pytest.mark.parametrize("sql", SQLITE_WRITES)
def test_check_sql_refuses_writes_sqlite(sql):
    with pytest.raises(SqlCheckError, match=r"not read-only|not a query|only one SELECT|"
                                            r"function not allowed") as err:
        check_sql(sql, SQLITE)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("sql", POSTGRES_WRITES)
def test_check_sql_refuses_writes_postgres(sql):
    with pytest.raises(SqlCheckError, match=r"not read-only|not a query|only one SELECT|"
                                            r"function not allowed"):
        check_sql(sql, POSTGRES)


def test_write_messages_name_the_statement():
    for sql, message in [("DELETE FROM singer", "not read-only: DELETE"),
                         ("SELECT 1; SELECT 2", "only one SELECT statement may run: found 2"),
                         ("SELECT * INTO copy FROM singer", "not read-only: SELECT INTO"),
                         ("SELECT * FROM singer FOR UPDATE", "not read-only: FOR UPDATE"),
                         ("SELECT pg_sleep(10)", "function not allowed: pg_sleep")]:
        with pytest.raises(SqlCheckError) as err:
            check_sql(sql, POSTGRES)
        assert str(err.value) == message


def test_denylist_matches_any_case_and_the_families():
    assert is_denied("PG_SLEEP") and is_denied("pg_catalog.pg_read_file")
    assert is_denied("dblink_exec") and is_denied("lo_unlink") and is_denied("Load_Extension")
    assert not is_denied("current_setting") and not is_denied("lower") and not is_denied("log")


# --- the second guard: SQLite -------------------------------------------------------------

@pytest.mark.parametrize("sql", SQLITE_WRITES)
def test_run_readonly_refuses_writes_again_on_sqlite(sql, sqlite_url):
    before = _sqlite_state(sqlite_url)
    with pytest.raises(CodesiftError) as err:
        run_readonly(sqlite_url, sql)
    assert "\n" not in str(err.value)
    assert _sqlite_state(sqlite_url) == before
    assert not Path("/tmp/codesift-out").exists()


def test_sqlite_refusal_says_what_the_guard_refused(sqlite_url):
    with pytest.raises(SqlCheckError, match=r"^refused by the read-only guard: DELETE singer$"):
        run_readonly(sqlite_url, "DELETE FROM singer")
    with pytest.raises(SqlCheckError, match=r"read-only guard: function load_extension"):
        run_readonly(sqlite_url, "SELECT load_extension('x')")


def test_run_readonly_sqlite_rows_and_row_limit(sqlite_url):
    rows = run_readonly(sqlite_url, "SELECT Name, Age FROM singer ORDER BY Singer_ID;",
                        row_limit=2)
    assert isinstance(rows, Rows)
    assert rows.columns == ("Name", "Age")
    assert rows.rows == (("Bob", 29), ("Ann", 41)) and rows.truncated
    assert rows.seconds >= 0
    rows = run_readonly(sqlite_url, "SELECT Name FROM singer", row_limit=4)
    assert len(rows.rows) == 4 and not rows.truncated


def test_sqlite_empty_result_keeps_its_columns(sqlite_url):
    empty = run_readonly(sqlite_url, "SELECT Name, Age FROM singer WHERE Age > 1000")
    assert empty.columns == ("Name", "Age") and empty.rows == () and not empty.truncated


def test_sqlite_long_query_stops_at_the_timeout(sqlite_url):
    long = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
            "WHERE x < 1000000000) SELECT count(*) FROM c")
    with pytest.raises(DatabaseError, match=r"^timed out after 0.5 s$"):
        run_readonly(sqlite_url, long, timeout_s=0.5)


def test_missing_sqlite_file_is_a_database_error_and_is_not_created(tmp_path):
    missing = tmp_path / "nowhere.db"
    with pytest.raises(DatabaseError, match="no SQLite database at"):
        run_readonly(f"sqlite:///{missing}", "SELECT 1")
    with pytest.raises(DatabaseError):
        explain(f"sqlite:///{missing}", "SELECT 1")
    assert not missing.exists() and list(tmp_path.iterdir()) == []


def test_sqlite_explain(sqlite_url):
    explain(sqlite_url, "SELECT Name FROM singer")
    with pytest.raises(SqlCheckError, match="no such column: nam"):
        explain(sqlite_url, "SELECT nam FROM singer")
    with pytest.raises(SqlCheckError, match="read-only guard"):
        explain(sqlite_url, "DELETE FROM singer")


def test_bad_urls_are_usage_errors():
    with pytest.raises(UsageError, match="unsupported database: mysql"):
        run_readonly("mysql://u@localhost/db", "SELECT 1")
    with pytest.raises(UsageError, match="no SQLite file"):
        run_readonly("sqlite://", "SELECT 1")


# --- the second guard: PostgreSQL ---------------------------------------------------------

# SQLite's own statements are no PostgreSQL: sqlglot does not parse them in that dialect.
SQLITE_SYNTAX = ["REPLACE INTO singer VALUES (1, 'Bob', 'France', 30, 'T')",
                 "ATTACH DATABASE '/tmp/codesift-elsewhere.db' AS elsewhere",
                 "DETACH DATABASE elsewhere", "PRAGMA writable_schema = ON"]


@pytest.mark.parametrize("sql", POSTGRES_WRITES + SQLITE_SYNTAX)
def test_run_readonly_refuses_writes_again_on_postgres(sql, pg_url):
    before = _pg_state(pg_url)
    with pytest.raises(CodesiftError) as err:
        run_readonly(pg_url, sql)
    assert "\n" not in str(err.value)
    assert _pg_state(pg_url) == before


# Past the sqlglot screen, the READ ONLY transaction alone still refuses them.
@pytest.mark.parametrize("sql", [
    "DELETE FROM singer",
    "UPDATE singer SET Age = 0",
    "INSERT INTO singer (Singer_ID, Name) VALUES (9, 'Eve')",
    "CREATE TABLE copy AS SELECT * FROM singer",
    "DROP TABLE concert",
    "ALTER TABLE singer ADD COLUMN extra TEXT",
    "TRUNCATE singer",
    "WITH gone AS (DELETE FROM singer RETURNING *) SELECT * FROM gone",
    "SELECT * INTO copy FROM singer",
    "SELECT * FROM singer FOR UPDATE",
    "SELECT nextval('tickets')",
    "SELECT setval('tickets', 100)",
    "DO $$ BEGIN DELETE FROM singer; END $$",
])
def test_postgres_read_only_transaction_holds_without_the_screen(sql, pg_url):
    before = _pg_state(pg_url)
    url = guard._psycopg(guard._parse_url(pg_url))
    with pytest.raises(SqlCheckError, match=r"^refused by the read-only guard: cannot execute"):
        guard._postgres(url, sql, 10, 10.0)
    assert _pg_state(pg_url) == before


def test_postgres_server_refuses_two_statements_without_the_screen(pg_url):
    before = _pg_state(pg_url)
    url = guard._psycopg(guard._parse_url(pg_url))
    with pytest.raises(SqlCheckError, match="multiple commands"):
        guard._postgres(url, "SELECT 1; DELETE FROM singer", 10, 10.0)
    assert _pg_state(pg_url) == before


def test_run_readonly_postgres_rows_and_row_limit(pg_url):
    rows = run_readonly(pg_url, "SELECT name, age FROM singer WHERE name LIKE '%o%' "
                                "ORDER BY singer_id", row_limit=1)
    assert rows.columns == ("name", "age")
    assert rows.rows == (("Bob", 29),) and rows.truncated
    rows = run_readonly(pg_url.replace("postgresql://", "postgresql+psycopg://"),
                        "SELECT name FROM singer", row_limit=10)
    assert len(rows.rows) == 4 and not rows.truncated


def test_postgres_row_limit_stops_the_server_early(pg_url):
    # 10^10 rows cannot all come over before the timeout: only streaming row by row and
    # cancelling past the limit returns at all.
    rows = run_readonly(pg_url, "SELECT a.g FROM generate_series(1, 100000) AS a(g) "
                                "CROSS JOIN generate_series(1, 100000) AS b(g)",
                        row_limit=3, timeout_s=30)
    assert len(rows.rows) == 3 and rows.truncated
    empty = run_readonly(pg_url, "SELECT name, age FROM singer WHERE age > 1000")
    assert empty.columns == ("name", "age") and empty.rows == () and not empty.truncated


def test_postgres_long_query_stops_at_statement_timeout(pg_url):
    long = ("SELECT count(*) FROM generate_series(1, 100000) AS a "
            "CROSS JOIN generate_series(1, 100000) AS b")
    with pytest.raises(DatabaseError, match=r"^timed out after 0.5 s$"):
        run_readonly(pg_url, long, timeout_s=0.5)


def test_postgres_explain(pg_url):
    explain(pg_url, "SELECT name FROM singer WHERE name LIKE '%a%'")
    with pytest.raises(SqlCheckError, match='column "nam" does not exist'):
        explain(pg_url, "SELECT nam FROM singer")
    with pytest.raises(SqlCheckError, match=r"^EXPLAIN failed: function nosuch\(text\) does"):
        check_sql("SELECT nosuch(Name) FROM singer", POSTGRES,
                  explain=lambda s: explain(pg_url, s))


def test_unreachable_postgres_is_one_line_database_error():
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DatabaseError, match=r"^cannot reach PostgreSQL at") as err:
        run_readonly(f"postgresql://nobody:secret@127.0.0.1:{port}/db", "SELECT 1")
    assert "\n" not in str(err.value) and "secret" not in str(err.value)


def test_public_api_is_pinned():
    assert validate.__all__ == ["CheckedSql", "check_sql"]
    assert guard.__all__ == ["Rows", "run_readonly", "explain"]
