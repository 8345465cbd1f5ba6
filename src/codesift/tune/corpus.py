"""What synthesis reads from an index: definitions with their code and doc, documentation
sections, and resolved graph edges between definitions. One read of a few tables; the
index itself is never written."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from codesift.tune.records import Definition

# Chunk kinds that are definitions a query can be about (not module headers or blocks).
DEFINITION_KINDS = ("function", "method", "class", "struct", "interface", "trait", "enum",
                    "impl", "type", "constructor")
MIN_CODE_CHARS = 40  # one-line stubs teach nothing


@dataclass(frozen=True, slots=True)
class Link:
    """A resolved graph edge between two definitions (by (path, qualname))."""

    kind: str  # calls, inherits, implements
    src_path: str
    src: str
    dst_path: str
    dst: str
    confidence: float


@dataclass(frozen=True, slots=True)
class Section:
    """A documentation section (Markdown / rst heading and its text)."""

    path: str
    heading: str
    text: str


@dataclass(frozen=True, slots=True)
class Corpus:
    definitions: tuple[Definition, ...]
    sections: tuple[Section, ...]
    links: tuple[Link, ...]

    def by_key(self) -> dict[tuple[str, str], Definition]:
        return {(d.path, d.qualname): d for d in self.definitions}


_DEFS_SQL = f"""
    SELECT c.path, c.symbol, c.name, c.kind, c.language, c.context_text, c.is_test,
           COALESCE(s.doc, ''), COALESCE(f.kind, '')
    FROM chunks c JOIN files f ON f.id = c.file_id
    LEFT JOIN symbols s ON s.file_id = c.file_id AND s.qualname = c.symbol
    WHERE c.kind IN ({", ".join("?" * len(DEFINITION_KINDS))}) AND c.symbol != ''
    ORDER BY c.path, c.symbol, c.start_line"""

# Kinds of file whose definitions are not what a question asks for.
_SKIPPED_FILE_KINDS = ("generated", "vendored", "locale")


def read_definitions(db: sqlite3.Connection) -> list[Definition]:
    """One definition per (path, qualname): its first chunk (a long definition is split;
    the first part holds the signature and doc)."""
    out: dict[tuple[str, str], Definition] = {}
    for path, symbol, name, kind, lang, code, is_test, doc, file_kind in db.execute(
            _DEFS_SQL, DEFINITION_KINDS):
        if (path, symbol) in out or file_kind in _SKIPPED_FILE_KINDS:
            continue
        if len(code.strip()) < MIN_CODE_CHARS:
            continue
        out[(path, symbol)] = Definition(path, symbol, name or symbol.rsplit(".", 1)[-1], kind,
                                         lang, code, doc.strip(),
                                         bool(is_test) or file_kind == "test")
    return list(out.values())


def read_sections(db: sqlite3.Connection) -> list[Section]:
    rows = db.execute("SELECT c.path, c.symbol, c.context_text FROM chunks c "
                      "WHERE c.kind = 'section' ORDER BY c.path, c.start_line")
    return [Section(path, heading, text) for path, heading, text in rows]


def read_links(db: sqlite3.Connection, min_confidence: float = 0.9) -> list[Link]:
    """Edges resolved with confidence between two named definitions (not module level)."""
    rows = db.execute(
        "SELECT e.kind, f.path, e.src, e.dst_path, e.dst, e.confidence FROM edges e "
        "JOIN files f ON f.id = e.src_file WHERE e.dst IS NOT NULL AND e.src != '' "
        "AND e.kind IN ('calls', 'inherits', 'implements') AND e.confidence >= ?",
        (min_confidence,))
    return [Link(*r) for r in rows]


def read_corpus(db: sqlite3.Connection) -> Corpus:
    return Corpus(tuple(read_definitions(db)), tuple(read_sections(db)), tuple(read_links(db)))
