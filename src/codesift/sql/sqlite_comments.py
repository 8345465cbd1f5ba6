"""Comments in a SQLite CREATE TABLE: SQLite has no COMMENT ON, but keeps the statement as
written, and teams document columns with `-- text` beside their definitions."""

# Which definition a comment belongs to:
#   id INTEGER,  -- text       same line as the definition (before or after its comma)
#   -- text                    own line(s) right above a definition, when it has no
#   name TEXT,                 same-line comment of its own
#   CREATE TABLE t (  -- text  same line as the opening parenthesis: the table's comment
# Anything else (block comments, comments between clauses) is left alone.

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(r"""
    (?P<comment>--[^\n]*)
  | (?P<block>/\*.*?(?:\*/|$))
  | (?P<quoted>'(?:[^']|'')*'|"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\])
  | (?P<open>\()
  | (?P<close>\))
  | (?P<comma>,)
  | (?P<newline>\n)
  | (?P<word>[^\s(),'"`\[-]+|-)
  | (?P<space>[^\S\n]+)
""", re.VERBOSE | re.DOTALL)

_CONSTRAINTS = {"constraint", "primary", "foreign", "unique", "check"}


@dataclass(frozen=True, slots=True)
class TableComments:
    table: str = ""
    columns: dict[str, str] = field(default_factory=dict)  # by column name as written


@dataclass(slots=True)
class _Definition:
    first: str = ""  # its first token: the column name, or a constraint keyword
    line: int = -1  # the line of its last token (its comma included)
    same_line: list[str] = field(default_factory=list)
    above: list[str] = field(default_factory=list)


def parse_comments(create_sql: str) -> TableComments:
    """The table's and its columns' `--` comments in a CREATE TABLE statement."""
    table_note: list[str] = []
    defs: list[_Definition] = []
    current = _Definition()
    pending: list[str] = []
    depth = line = 0
    open_line = -1
    for m in _TOKEN.finditer(create_sql):
        kind, text = m.lastgroup, m.group()
        if kind == "newline":
            line += 1
            continue
        if kind in ("space", "block"):
            line += text.count("\n")
            continue
        if depth == 0:
            if kind == "open":
                depth, open_line = 1, line
            elif kind == "close":
                break
            continue
        if kind == "comment":
            note = text[2:].strip()
            if current.first and current.line == line:
                current.same_line.append(note)
            elif not current.first and defs and defs[-1].line == line:
                defs[-1].same_line.append(note)
            elif not defs and not current.first and line == open_line:
                table_note.append(note)
            else:
                pending.append(note)
            continue
        if depth == 1 and kind == "comma":
            current.line = line
            defs.append(current)
            current = _Definition()
            continue
        if depth == 1 and kind == "close":
            if current.first:
                defs.append(current)
            break
        depth += {"open": 1, "close": -1}.get(kind, 0)
        if not current.first:
            current.first, current.above, pending = text, pending, []
        line += text.count("\n")  # a quoted default may span lines
        current.line = line
    return TableComments(" ".join(table_note), _column_notes(defs))


def _column_notes(defs: list[_Definition]) -> dict[str, str]:
    notes = {}
    for d in defs:
        if not d.first or d.first.lower() in _CONSTRAINTS:
            continue
        note = " ".join(d.same_line or d.above).strip()
        if note:
            notes[_unquote(d.first)] = note
    return notes


def _unquote(name: str) -> str:
    if name[:1] in "\"'`" and len(name) > 1:
        q = name[0]
        return name[1:-1].replace(q + q, q)
    if name[:1] == "[":
        return name[1:-1]
    return name
