"""Numbered schema migrations for the SQLite store, applied in one transaction each.

Never edit a shipped migration: add a new numbered function (the pattern of
sqlite-utils' migrations and llm's embeddings_migrations).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

Migration = Callable[[sqlite3.Connection], None]


@contextmanager
def immediate_transaction(db: sqlite3.Connection, lock) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE under `lock` (one connection shared by threads), committed when the
    block ends, rolled back when it raises: the server home's and the SQL catalog's writes."""
    with lock:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


def run_script(db: sqlite3.Connection, script: str) -> None:
    """Execute statements one by one: `executescript` would COMMIT the open transaction."""
    statement = ""
    for line in script.splitlines(keepends=True):
        if not statement and line.strip().startswith("--"):
            continue
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""


def m001_initial(db: sqlite3.Connection) -> None:
    run_script(
        db,
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

        CREATE TABLE files (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            language TEXT NOT NULL,
            sha TEXT NOT NULL,
            size INTEGER NOT NULL,
            n_lines INTEGER NOT NULL,
            is_test INTEGER NOT NULL DEFAULT 0,
            parse_error TEXT,
            warning TEXT
        );

        CREATE TABLE chunks (
            id INTEGER PRIMARY KEY,
            file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            language TEXT NOT NULL,
            kind TEXT NOT NULL,
            symbol TEXT NOT NULL,
            name TEXT NOT NULL,
            parent TEXT,
            start_line INTEGER NOT NULL,
            end_line INTEGER NOT NULL,
            is_test INTEGER NOT NULL DEFAULT 0,
            text_hash BLOB NOT NULL,
            embedding_text TEXT NOT NULL,
            context_text TEXT NOT NULL
        );
        CREATE INDEX chunks_file ON chunks(file_id);
        CREATE INDEX chunks_hash ON chunks(text_hash);

        -- Exact symbol match: every dotted suffix of a normalised qualname, lowercased.
        CREATE TABLE symbol_keys (key TEXT NOT NULL, chunk_id INTEGER NOT NULL
            REFERENCES chunks(id) ON DELETE CASCADE);
        CREATE INDEX symbol_keys_key ON symbol_keys(key);
        CREATE INDEX symbol_keys_chunk ON symbol_keys(chunk_id);

        -- Definitions and references as parsed, kept for the code graph.
        CREATE TABLE symbols (
            id INTEGER PRIMARY KEY,
            file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            name TEXT NOT NULL, qualname TEXT NOT NULL, kind TEXT NOT NULL,
            signature TEXT NOT NULL, doc TEXT NOT NULL,
            start_line INTEGER NOT NULL, end_line INTEGER NOT NULL, parent TEXT
        );
        CREATE INDEX symbols_file ON symbols(file_id);
        CREATE INDEX symbols_name ON symbols(name);
        CREATE TABLE refs (
            file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            kind TEXT NOT NULL, name TEXT NOT NULL, line INTEGER NOT NULL, scope TEXT
        );
        CREATE INDEX refs_file ON refs(file_id);

        -- Vectors keyed by the hash of the embedding text, so an unchanged chunk in an
        -- edited file is never embedded twice.
        CREATE TABLE vectors (text_hash BLOB PRIMARY KEY, vec BLOB NOT NULL);

        -- Lexical indexes over pre-tokenised code-aware text (see tokens.py); the
        -- rowid is the chunk id / file id. '_' is a token character so whole
        -- snake_case identifiers survive next to their parts.
        CREATE VIRTUAL TABLE chunks_fts USING fts5(
            name, path, body, tokenize = "unicode61 tokenchars '_'");
        CREATE VIRTUAL TABLE files_fts USING fts5(
            path, body, tokenize = "unicode61 tokenchars '_'");
        """
    )


def m002_file_mtime(db: sqlite3.Connection) -> None:
    # With size, the modification time lets an unchanged file skip being read and hashed.
    db.execute("ALTER TABLE files ADD COLUMN mtime_ns INTEGER NOT NULL DEFAULT 0")


def m003_vector_lookup_index(db: sqlite3.Connection) -> None:
    # Chunk rows are wide (two texts inline): finding texts without vectors and joining
    # vectors must read this narrow index, not the table.
    db.execute("CREATE INDEX chunks_test_hash ON chunks(is_test, text_hash)")


def m004_graph_edges(db: sqlite3.Connection) -> None:
    # References resolved to definitions. A row belongs to the file the reference is in
    # (deleted with it); targets are named by (path, qualname), not by row id, so an edge
    # into a file survives that file's re-indexing as long as the definition does.
    run_script(
        db,
        """
        CREATE TABLE edges (
            src_file INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            src TEXT NOT NULL,          -- enclosing definition's qualname, '' at module level
            kind TEXT NOT NULL,         -- calls, imports, inherits, implements
            name TEXT NOT NULL,         -- the reference as written
            bare TEXT NOT NULL,         -- its last name part: finds edges a new definition may change
            dst_path TEXT,              -- NULL: unresolved
            dst TEXT,
            confidence REAL NOT NULL,
            line INTEGER NOT NULL
        );
        CREATE INDEX edges_dst ON edges(dst, dst_path);
        CREATE INDEX edges_src ON edges(src_file, src);
        CREATE INDEX edges_bare ON edges(bare);
        CREATE INDEX symbols_qualname ON symbols(qualname);
        CREATE INDEX symbols_parent ON symbols(parent);
        """
    )


def m005_llm_cache(db: sqlite3.Connection) -> None:
    # Answers from the LLM, keyed by a hash of (endpoint model, full request): asking the
    # same question of the same index state twice costs nothing the second time.
    run_script(
        db,
        """
        CREATE TABLE llm_cache (
            key TEXT PRIMARY KEY,       -- sha256 of model + messages + sampling parameters
            model TEXT NOT NULL,
            created_at REAL NOT NULL,   -- unix time
            response TEXT NOT NULL      -- the answer text (JSON when structured)
        );
        """
    )


def m006_redactions(db: sqlite3.Connection) -> None:
    # Secrets found at index time: where and of which kind, never the value. Deleted with
    # the file, so a re-indexed file reports only what it still contains.
    run_script(
        db,
        """
        CREATE TABLE redactions (
            file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            line INTEGER NOT NULL,
            kind TEXT NOT NULL          -- detector's name: "AWS Access Key", "Private Key", ...
        );
        CREATE INDEX redactions_file ON redactions(file_id);
        """
    )


def m007_chunk_rows_index(db: sqlite3.Connection) -> None:
    # The columns a search reads for each candidate (SQLiteStore.chunk_rows) in an index of
    # their own: a chunk's table row also holds its two texts (about one row per 4 KB page),
    # so reading a search's 100-250 candidates cold touched as many pages; here ~27 rows
    # share one (12.3 MB for the stdlib's 81k chunks). Built once when an existing index
    # is opened (0.5 s for the stdlib's).
    run_script(
        db,
        """
        CREATE INDEX chunks_rows ON chunks(id, path, language, kind, symbol, name, parent,
                                           start_line, end_line, is_test);
        """
    )


def m008_file_kind(db: sqlite3.Connection) -> None:
    # What kind of file each one is (ingest/kinds.py: source, test, docs, example, changelog,
    # locale, config, generated, vendored), for ranking. '' until classified: an index
    # written before this migration is classified by the next update, from paths and first
    # bytes, without re-parsing or re-embedding anything (meta `file_kinds`).
    db.execute("ALTER TABLE files ADD COLUMN kind TEXT NOT NULL DEFAULT ''")


MIGRATIONS: tuple[Migration, ...] = (
    m001_initial, m002_file_mtime, m003_vector_lookup_index, m004_graph_edges,
    m005_llm_cache, m006_redactions, m007_chunk_rows_index, m008_file_kind)


def apply_migrations(db: sqlite3.Connection,
                     migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring the schema up to date; returns the resulting version (PRAGMA user_version).
    Other SQLite files (the `codesift sql` catalog) pass their own numbered list."""
    while True:
        # The version is read inside the write lock: two processes opening a new file at
        # once must not both run migration 1.
        db.execute("BEGIN IMMEDIATE")
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version >= len(migrations):
                db.execute("COMMIT")
                return len(migrations)
            migrations[version](db)
            db.execute(f"PRAGMA user_version = {version + 1}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
