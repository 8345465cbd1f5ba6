"""Records and text helpers shared by the parse stages: a definition match (Def), its name
(Named), the scope it opens (Scope) and the source bytes nodes are read from (SourceText).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from itertools import accumulate
from operator import add
from typing import NamedTuple

SPACE = re.compile(r"\s+")
GENERICS = re.compile(r"<.*>|\[.*\]$")
_NAME_SEPARATORS = re.compile(r"::|\\|\.")


class Def(NamedTuple):
    """A definition match before naming: the node, the query's kind, name and body nodes."""

    node: object
    kind: str
    name: object
    body: object | None


class Named(NamedTuple):
    name: str
    qualname: str
    kind: str
    parent: str | None
    child_prefix: str  # what nested definitions are qualified by (the type, for an impl)


class Scope(NamedTuple):
    start: int
    end: int
    qualname: str
    kind: str
    child_prefix: str
    ref_scope: str  # the scope references inside it belong to


class SourceText:
    """The file's bytes, language, qualname separator and prefix (module or package).

    Rows come from byte offsets and a table of newlines: `node.start_point` builds a Point
    object per call, which made up a third of the time spent naming definitions.
    """

    __slots__ = ("src", "language", "sep", "prefix", "_newlines")

    def __init__(self, src: bytes, language: str, sep: str, prefix: str):
        self.src, self.language, self.sep, self.prefix = src, language, sep, prefix
        self._newlines: list[int] | None = None

    def row(self, pos: int) -> int:
        """The 0-based row of byte `pos`, as tree-sitter counts rows: by b"\\n" only."""
        if self._newlines is None:
            lines = self.src.split(b"\n")
            lines.pop()
            self._newlines = list(map(add, accumulate(map(len, lines)), range(len(lines))))
        return bisect_left(self._newlines, pos)

    def end_row(self, node) -> int:
        """The node's last row; some grammars end items at column 0 of the next line."""
        end = node.end_byte
        row = self.row(end)
        return row - 1 if end > node.start_byte and self.src[end - 1] == 10 else row

    def text(self, node) -> str:
        return self.src[node.start_byte:node.end_byte].decode("utf-8", "replace")

    def compact(self, node) -> str:
        """The node's text with all whitespace removed: `a . b` -> `a.b`."""
        # the same as SPACE.sub("", text): str.split() and \s agree on what is whitespace
        return "".join(self.src[node.start_byte:node.end_byte].decode("utf-8", "replace").split())


def bare(name: str) -> str:
    """The last segment of a qualified name: `a::b` / `a.b` / `a\\b` -> `b`."""
    if "." not in name and ":" not in name and "\\" not in name:
        return name
    return _NAME_SEPARATORS.split(name)[-1] or name
