"""Splitting a .sql file into statements, each with the `--` comment block right above it
(where an examples file writes the question the statement answers)."""

# A ';' ends a statement only outside strings, quoted names, comments and PostgreSQL
# dollar-quoted bodies. Written by hand rather than with sqlglot: a file must split the
# same way whatever the dialect, and whether or not sqlglot can parse every statement.
# Backslash escapes ('it\'s', MySQL) are not understood: standard SQL doubles the quote.

from __future__ import annotations

import re
from dataclasses import dataclass

_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


@dataclass(frozen=True, slots=True)
class Statement:
    sql: str  # without its ';'
    line: int  # 1-based line of its first character
    comments: tuple[str, ...]  # the `--` lines right above it, without the dashes


class UnclosedError(ValueError):
    """A string, quoted name or comment runs to the end of the file."""

    def __init__(self, what: str, line: int) -> None:
        super().__init__(f"a {what} opened on line {line} is never closed")
        self.line = line


def split_statements(text: str) -> list[Statement]:
    out: list[Statement] = []
    block: list[tuple[int, str]] = []  # (line, text) of the comment lines before a statement
    start = -1  # where the current statement began, -1 between statements
    i = 0
    while i < len(text):
        ch = text[i]
        if text.startswith("--", i):
            end = _line_end(text, i)
            if start < 0:
                line = _line_of(text, i)
                if block and block[-1][0] != line - 1:
                    block = []  # a blank line or other text parted it from what follows
                block.append((line, text[i + 2:end].strip()))
            i = end
            continue
        if ch.isspace():
            i += 1
            continue
        if ch == ";":
            if start >= 0:
                out.append(_statement(text, start, i, block))
                start, block = -1, []
            i += 1
            continue
        if start < 0:
            start = i
        i = _skip_token(text, i)
    if start >= 0 and text[start:].strip():
        out.append(_statement(text, start, len(text), block))
    return out


def _statement(text: str, start: int, end: int, block: list[tuple[int, str]]) -> Statement:
    line = _line_of(text, start)
    above = tuple(t for n, t in block) if block and block[-1][0] == line - 1 else ()
    return Statement(sql=text[start:end].strip(), line=line, comments=above)


def _skip_token(text: str, i: int) -> int:
    """The index after the token at `i`: a whole quoted or commented span, else one char."""
    ch = text[i]
    if ch in "'\"`":
        return _after_quote(text, i, ch, "string" if ch == "'" else "quoted name")
    if ch == "[" and _bracket_name(text, i):
        return text.index("]", i) + 1
    if text.startswith("/*", i):
        end = text.find("*/", i + 2)
        if end < 0:
            raise UnclosedError("/* comment", _line_of(text, i))
        return end + 2
    if ch == "$":
        m = _DOLLAR.match(text, i)
        if m and not text[i - 1:i].isalnum():
            end = text.find(m.group(), m.end())
            if end < 0:
                raise UnclosedError(f"{m.group()} quoted body", _line_of(text, i))
            return end + len(m.group())
    return i + 1


def _after_quote(text: str, i: int, quote: str, what: str) -> int:
    j = i + 1
    while True:
        j = text.find(quote, j)
        if j < 0:
            raise UnclosedError(what, _line_of(text, i))
        if text.startswith(quote * 2, j):
            j += 2  # a doubled quote stands for itself
            continue
        return j + 1


def _bracket_name(text: str, i: int) -> bool:
    # T-SQL's [name]: only when it closes on the same line, so array syntax elsewhere
    # (`a[1]` in PostgreSQL also closes) is harmless either way.
    end = text.find("]", i)
    return end >= 0 and "\n" not in text[i:end]


def _line_end(text: str, i: int) -> int:
    end = text.find("\n", i)
    return len(text) if end < 0 else end


def _line_of(text: str, i: int) -> int:
    return text.count("\n", 0, i) + 1
