"""Records and text helpers shared by the parse stages: a definition match (Def), its name
(Named), the scope it opens (Scope) and the source bytes nodes are read from (SourceText).
"""

from __future__ import annotations

import re
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
    """The file's bytes, language, qualname separator and prefix (module or package)."""

    __slots__ = ("src", "language", "sep", "prefix")

    def __init__(self, src: bytes, language: str, sep: str, prefix: str):
        self.src, self.language, self.sep, self.prefix = src, language, sep, prefix

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
