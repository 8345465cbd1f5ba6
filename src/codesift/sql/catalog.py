"""The `codesift sql` catalog: the databases a user added (name -> URL) and what was learned
about each (schema tables, example queries, documentation), in `sql.db` in the codesift home."""

# One SQLite file beside the server's own (serve/home.py), with its own numbered
# migrations. URLs are stored as written: `${VAR}` placeholders stay placeholders, so a
# password kept in the environment never reaches this file (which is still 0600, since a
# user may write one in the URL). Every change to one database happens in one transaction:
# an interrupted `learn` leaves the previous state, never half of the new one.

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from ..errors import CodesiftError, PathError, UsageError
from ..serve.home import default_home
from ..serve.registry import check_repo_name
from ..store.migrations import Migration, apply_migrations, immediate_transaction, run_script
from .connect import dialect_of, normalise_url
from .model import CodeLink, DocSection, Example, Schema
from .serial import table_from_json, table_to_json

DB_NAME = "sql.db"


def m001_catalog(db: sqlite3.Connection) -> None:
    run_script(db, """
        CREATE TABLE databases (
            name TEXT PRIMARY KEY,
            url TEXT NOT NULL,              -- as written, ${VAR} placeholders included
            dialect TEXT NOT NULL,          -- sqlglot's name; '' until known
            added_at REAL NOT NULL,
            learned_at REAL
        );
        CREATE TABLE learned_tables (
            database TEXT NOT NULL REFERENCES databases(name) ON DELETE CASCADE,
            key TEXT NOT NULL,              -- Table.key
            position INTEGER NOT NULL,      -- order as introspected
            body TEXT NOT NULL,             -- serial.table_to_json
            PRIMARY KEY (database, key)
        );
        CREATE TABLE examples (
            id INTEGER PRIMARY KEY,
            database TEXT NOT NULL REFERENCES databases(name) ON DELETE CASCADE,
            question TEXT NOT NULL,
            sql TEXT NOT NULL,
            source TEXT NOT NULL,
            tables TEXT NOT NULL,           -- JSON list of the table keys the SQL reads
            question_key TEXT NOT NULL,     -- normalised, for de-duplication
            sql_key TEXT NOT NULL,
            added_at REAL NOT NULL,
            UNIQUE (database, question_key, sql_key)
        );
        CREATE TABLE doc_sections (
            id INTEGER PRIMARY KEY,
            database TEXT NOT NULL REFERENCES databases(name) ON DELETE CASCADE,
            source TEXT NOT NULL,           -- what was learned (a file or folder): replaced whole
            path TEXT NOT NULL,             -- the file the section is from
            position INTEGER NOT NULL,
            title TEXT NOT NULL,
            text TEXT NOT NULL,
            tables TEXT NOT NULL            -- JSON list of table keys it names
        );
        CREATE INDEX doc_sections_source ON doc_sections(database, source, position);
    """)


def m002_code_links(db: sqlite3.Connection) -> None:
    # Where an indexed repository uses each table (code_links.py), per database and
    # repository: linking a repository again replaces its rows and no other's.
    run_script(db, """
        CREATE TABLE code_repos (
            database TEXT NOT NULL REFERENCES databases(name) ON DELETE CASCADE,
            repo TEXT NOT NULL,             -- the repository's resolved root
            linked_at REAL NOT NULL,
            files INTEGER NOT NULL,         -- files scanned
            PRIMARY KEY (database, repo)
        );
        CREATE TABLE code_links (
            database TEXT NOT NULL,
            repo TEXT NOT NULL,
            table_key TEXT NOT NULL,        -- Table.key
            path TEXT NOT NULL,             -- repo-relative
            start_line INTEGER NOT NULL,
            end_line INTEGER NOT NULL,
            symbol TEXT NOT NULL,
            kind TEXT NOT NULL,             -- sqlalchemy-model, django-model, migration, sql
            writes INTEGER NOT NULL,
            FOREIGN KEY (database, repo) REFERENCES code_repos(database, repo) ON DELETE CASCADE
        );
        CREATE INDEX code_links_table ON code_links(database, table_key);
        CREATE INDEX code_links_repo ON code_links(database, repo);
    """)


MIGRATIONS: tuple[Migration, ...] = (m001_catalog, m002_code_links)


@dataclass(frozen=True, slots=True)
class DatabaseEntry:
    name: str
    url: str  # as stored: normalised, placeholders as written (show it with connect.redact)
    dialect: str
    added_at: float
    learned_at: float | None
    tables: int
    examples: int
    docs: int


@dataclass(frozen=True, slots=True)
class SchemaDelta:
    """What `save_schema` changed, by table key."""
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: int
    examples_removed: int = 0  # examples whose SQL read a removed table
    docs_unlinked: int = 0  # documentation sections that named a removed table


def check_database_name(name: str) -> str:
    """Database names follow the server's repository names: safe in URLs and file names."""
    try:
        return check_repo_name(name)
    except UsageError as exc:
        raise UsageError(f"bad database name {name!r}", hint=exc.hint) from None


class Catalog:
    """The catalog in `home` (default: $CODESIFT_HOME). Calls are serialised by a lock;
    every write is one transaction."""

    def __init__(self, home: str | os.PathLike | None = None, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.home = Path(home if home is not None else default_home()).expanduser()
        self.clock = clock
        try:
            self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise PathError(f"cannot create the codesift home {self.home}: {exc.strerror}",
                            hint="set CODESIFT_HOME to a writable folder") from exc
        self.path = self.home / DB_NAME
        self._lock = threading.RLock()
        self.db = _open(self.path)

    # -- plumbing ----------------------------------------------------------------------

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate_transaction(self.db, self._lock)

    def _rows(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self.db.execute(sql, args).fetchall()

    def close(self) -> None:
        with self._lock:
            self.db.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- databases ---------------------------------------------------------------------

    def add(self, name: str, url: str, *, cwd: str | os.PathLike | None = None
            ) -> DatabaseEntry:
        """Register `url` as `name`; a file path or relative SQLite URL is made absolute
        against `cwd` (default: the current folder)."""
        check_database_name(name)
        stored = normalise_url(url, cwd)
        dialect = dialect_of(stored)
        with self.transaction() as db:
            if _exists(db, name):
                raise UsageError(f"a database named {name!r} is already in the catalog",
                                 hint=f"remove it first (codesift sql remove {name}) "
                                      "or pick another name")
            db.execute("INSERT INTO databases (name, url, dialect, added_at) "
                       "VALUES (?, ?, ?, ?)", (name, stored, dialect, self.clock()))
        return self.get(name)

    def list(self) -> list[DatabaseEntry]:
        return [DatabaseEntry(*row) for row in self._rows(_ENTRY_SQL + " ORDER BY d.name")]

    def get(self, name: str) -> DatabaseEntry:
        rows = self._rows(_ENTRY_SQL + " WHERE d.name = ?", (name,))
        if not rows:
            raise self._unknown(name)
        return DatabaseEntry(*rows[0])

    def remove(self, name: str) -> DatabaseEntry:
        """Forget `name` and everything learned about it."""
        entry = self.get(name)
        with self.transaction() as db:
            for table in ("learned_tables", "examples", "doc_sections", "code_links",
                          "code_repos"):
                db.execute(f"DELETE FROM {table} WHERE database = ?", (name,))
            db.execute("DELETE FROM databases WHERE name = ?", (name,))
        return entry

    def _unknown(self, name: str) -> UsageError:
        known = [r[0] for r in self._rows("SELECT name FROM databases ORDER BY name")]
        hint = (f"known: {', '.join(known)}" if known
                else "add one first: codesift sql add NAME URL")
        return UsageError(f"no database named {name!r}", hint=hint)

    def _require(self, db: sqlite3.Connection, name: str) -> None:
        if not _exists(db, name):
            raise self._unknown(name)

    # -- learned schema ----------------------------------------------------------------

    def save_schema(self, name: str, schema: Schema) -> SchemaDelta:
        """Store `schema` as what is known of `name`, rewriting only the tables that changed.
        A table that is gone takes with it the examples that read it and its links from
        documentation sections (a section left with no tables stays: it may be general)."""
        new = {t.key: (pos, table_to_json(t)) for pos, t in enumerate(schema.tables)}
        with self.transaction() as db:
            self._require(db, name)
            old = {key: (pos, body) for key, pos, body in db.execute(
                "SELECT key, position, body FROM learned_tables WHERE database = ?", (name,))}
            added, changed = _write_tables(db, name, old, new)
            removed = sorted(set(old) - set(new))
            db.execute("DELETE FROM learned_tables WHERE database = ? AND key IN "
                       f"({_marks(removed)})", (name, *removed))
            # A table renamed only in case is still the table the examples read.
            gone = {k.lower() for k in removed} - {k.lower() for k in new}
            dropped, unlinked = _forget_tables(db, name, gone)
            _forget_code_links(db, name, gone)
            db.execute("UPDATE databases SET learned_at = ?, dialect = ? WHERE name = ?",
                       (self.clock(), schema.dialect, name))
        return SchemaDelta(added=tuple(added), changed=tuple(changed), removed=tuple(removed),
                           unchanged=len(new) - len(added) - len(changed),
                           examples_removed=dropped, docs_unlinked=unlinked)

    def load_schema(self, name: str) -> Schema:
        entry = self.get(name)
        if entry.learned_at is None:
            raise UsageError(f"nothing has been learned about {name!r} yet",
                             hint=f"run: codesift sql learn {name}")
        rows = self._rows("SELECT body FROM learned_tables WHERE database = ? "
                          "ORDER BY position, key", (name,))
        return Schema(database=name, dialect=entry.dialect,
                      tables=tuple(table_from_json(r[0]) for r in rows))

    # -- examples ----------------------------------------------------------------------

    def add_examples(self, name: str,
                     examples: Sequence[tuple[Example, tuple[str, ...]]]) -> list[Example]:
        """Store each (example, table keys its SQL reads); the caller has validated them.
        Returns the newly stored ones with their ids: an example with the same question and
        the same SQL (up to case and spacing) as a stored one, or an earlier one in the
        batch, is skipped."""
        stored = []
        with self.transaction() as db:
            self._require(db, name)
            for example, tables in examples:
                cur = db.execute(
                    "INSERT OR IGNORE INTO examples (database, question, sql, source, tables, "
                    "question_key, sql_key, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (name, example.question, example.sql, example.source,
                     json.dumps(list(tables)), normalise_question(example.question),
                     normalise_sql(example.sql), self.clock()))
                if cur.rowcount:
                    stored.append(Example(example.question, example.sql, example.source,
                                          cur.lastrowid))
        return stored

    def examples(self, name: str) -> list[Example]:
        self.get(name)
        return [Example(q, s, src, i) for i, q, s, src in self._rows(
            "SELECT id, question, sql, source FROM examples WHERE database = ? ORDER BY id",
            (name,))]

    def remove_example(self, name: str, id: int) -> Example:
        with self.transaction() as db:
            self._require(db, name)
            row = db.execute("SELECT question, sql, source FROM examples "
                             "WHERE database = ? AND id = ?", (name, id)).fetchone()
            if row is None:
                raise UsageError(f"{name!r} has no example with id {id}",
                                 hint="list the examples to see their ids")
            db.execute("DELETE FROM examples WHERE id = ?", (id,))
        return Example(*row, id=id)

    # -- documentation -----------------------------------------------------------------

    def replace_docs(self, name: str, source_path: str, sections: Sequence[DocSection]) -> int:
        """Store `sections` as everything learned from `source_path` (a file or a folder),
        replacing what an earlier learn of the same path stored. Returns how many."""
        with self.transaction() as db:
            self._require(db, name)
            db.execute("DELETE FROM doc_sections WHERE database = ? AND source = ?",
                       (name, source_path))
            db.executemany(
                "INSERT INTO doc_sections (database, source, path, position, title, text, "
                "tables) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(name, source_path, s.path or source_path, pos, s.title, s.text,
                  json.dumps(list(s.tables))) for pos, s in enumerate(sections)])
        return len(sections)

    def docs(self, name: str) -> list[DocSection]:
        self.get(name)
        return [DocSection(title, text, path, tuple(json.loads(tables)))
                for title, text, path, tables in self._rows(
                    "SELECT title, text, path, tables FROM doc_sections WHERE database = ? "
                    "ORDER BY source, position", (name,))]


    # -- code links ---------------------------------------------------------------------

    def replace_code_links(self, name: str, repo: str, links: Sequence[CodeLink], *,
                           files: int = 0) -> int:
        """Store `links` as everything known of how `repo` (a resolved root) uses `name`'s
        tables, replacing what an earlier link of the same repository stored."""
        with self.transaction() as db:
            self._require(db, name)
            db.execute("DELETE FROM code_links WHERE database = ? AND repo = ?", (name, repo))
            db.execute("INSERT OR REPLACE INTO code_repos (database, repo, linked_at, files) "
                       "VALUES (?, ?, ?, ?)", (name, repo, self.clock(), files))
            db.executemany(
                "INSERT INTO code_links (database, repo, table_key, path, start_line, end_line, "
                "symbol, kind, writes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(name, repo, k.table, k.path, k.start_line, k.end_line, k.symbol, k.kind,
                  int(k.writes)) for k in links])
        return len(links)

    def code_links(self, name: str, repo: str | None = None) -> list[CodeLink]:
        """The links of `name`, of one repository or all, in the order they were stored."""
        self.get(name)
        where, args = ("AND repo = ?", (name, repo)) if repo is not None else ("", (name,))
        return [CodeLink(*r[:6], bool(r[6]), r[7]) for r in self._rows(
            "SELECT table_key, path, start_line, end_line, symbol, kind, writes, repo "
            f"FROM code_links WHERE database = ? {where} ORDER BY rowid", args)]


_ENTRY_SQL = """
    SELECT d.name, d.url, d.dialect, d.added_at, d.learned_at,
           (SELECT count(*) FROM learned_tables t WHERE t.database = d.name),
           (SELECT count(*) FROM examples e WHERE e.database = d.name),
           (SELECT count(*) FROM doc_sections s WHERE s.database = d.name)
    FROM databases d"""


def _open(path: Path) -> sqlite3.Connection:
    fresh = not path.exists()
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
    if fresh:  # a URL may hold a literal password
        os.chmod(path, 0o600)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise CodesiftError(f"{path} was written by a newer codesift",
                                hint="upgrade codesift, or set CODESIFT_HOME to another folder")
        apply_migrations(db, MIGRATIONS)
    except sqlite3.DatabaseError as exc:
        db.close()
        raise CodesiftError(f"{path} is not a usable codesift sql catalog ({exc})",
                            hint="move it aside; `codesift sql add` starts a new one") from exc
    except BaseException:
        db.close()
        raise
    return db


def _exists(db: sqlite3.Connection, name: str) -> bool:
    return db.execute("SELECT 1 FROM databases WHERE name = ?", (name,)).fetchone() is not None


def _marks(values: Sequence) -> str:
    return ", ".join("?" * len(values))


def _write_tables(db: sqlite3.Connection, name: str, old: dict[str, tuple[int, str]],
                  new: dict[str, tuple[int, str]]) -> tuple[list[str], list[str]]:
    """Insert new tables, rewrite changed ones, move unchanged ones that changed place."""
    added, changed = [], []
    for key, (pos, body) in new.items():
        before = old.get(key)
        if before == (pos, body):
            continue
        if before is not None and before[1] == body:
            db.execute("UPDATE learned_tables SET position = ? WHERE database = ? AND key = ?",
                       (pos, name, key))
            continue
        (added if before is None else changed).append(key)
        db.execute("INSERT OR REPLACE INTO learned_tables (database, key, position, body) "
                   "VALUES (?, ?, ?, ?)", (name, key, pos, body))
    return added, changed


def _forget_tables(db: sqlite3.Connection, name: str, gone: set[str]) -> tuple[int, int]:
    """Drop the examples that read a table in `gone` (lowercased keys) and the links to it
    from documentation sections; returns (examples removed, sections unlinked)."""
    if not gone:
        return 0, 0
    stale = [i for i, tables in db.execute(
        "SELECT id, tables FROM examples WHERE database = ?", (name,))
        if _names_any(tables, gone)]
    db.execute(f"DELETE FROM examples WHERE id IN ({_marks(stale)})", stale)
    unlinked = 0
    for i, tables in db.execute("SELECT id, tables FROM doc_sections WHERE database = ?",
                                (name,)).fetchall():
        if _names_any(tables, gone):
            kept = [t for t in json.loads(tables) if t.lower() not in gone]
            db.execute("UPDATE doc_sections SET tables = ? WHERE id = ?", (json.dumps(kept), i))
            unlinked += 1
    return len(stale), unlinked


def _forget_code_links(db: sqlite3.Connection, name: str, gone: set[str]) -> None:
    """A removed table's places in code go with it (`gone`: lowercased keys)."""
    for key in gone:
        db.execute("DELETE FROM code_links WHERE database = ? AND lower(table_key) = ?",
                   (name, key))


def _names_any(tables_json: str, lowered: set[str]) -> bool:
    return any(t.lower() in lowered for t in json.loads(tables_json))


# -- de-duplication keys -------------------------------------------------------------------

_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\w+|[^\w\s]")


def normalise_sql(sql: str) -> str:
    """SQL up to case and spacing, for finding the same query written twice: its tokens
    lowercased (string literals and quoted names kept as written), one space apart, no
    final ';'. A key, never shown or run."""
    tokens = _TOKEN.findall(sql.strip().rstrip(";"))
    return " ".join(t if t[0] in "'\"" else t.lower() for t in tokens)


def normalise_question(question: str) -> str:
    return " ".join(question.split()).casefold()
