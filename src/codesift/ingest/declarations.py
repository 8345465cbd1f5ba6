"""Names of top-level data declarations (`const DEFAULT_TYPES = [...]`, `var statusText =
map[...]{`, `static const struct op ops[] = {`), which the parsers do not make symbols.

A file whose substance is a table in code is chunked into windows of top-level lines; each
window carries the name of the declaration it lies in, so the table is found by its name.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["declaration_spans", "name_at"]

_IDENT = r"([A-Za-z_$][\w$]*)"
# Top-level declarations by language, each matched at column 0 of a line.
_PATTERNS: dict[str, tuple[str, ...]] = {
    "python": (rf"^{_IDENT}\s*(?::[^=\n]+)?=(?!=)",),
    "javascript": (rf"^(?:export\s+(?:default\s+)?)?(?:const|let|var)\s+{_IDENT}",
                   rf"^(?:module\.)?exports\.{_IDENT}\s*=", r"^module\.(exports)\s*="),
    "go": (rf"^(?:var|const)\s+{_IDENT}", rf"^\t{_IDENT}(?:\s+[\w.*\[\]]+)?\s*=(?!=)"),
    "rust": (rf"^(?:pub(?:\([^)]*\))?\s+)?(?:static|const)\s+(?:mut\s+)?{_IDENT}",),
    "c": (rf"^(?!return\b|typedef\b)(?:[A-Za-z_][\w]*[\s*]+)+{_IDENT}\s*(?:\[[^\]]*\])+\s*=",
          rf"^(?!return\b|typedef\b)(?:(?:static|const|extern|unsigned|signed|struct|enum)\s+)+"
          rf"(?:[A-Za-z_]\w*[\s*]+)+{_IDENT}\s*=\s*\{{"),
    "ruby": (rf"^\s*([A-Z][A-Z0-9_]*)\s*=(?!=)",),
    "php": (rf"^const\s+{_IDENT}", rf"^\$(\w+)\s*=(?!=)"),
}
_PATTERNS["typescript"] = _PATTERNS["javascript"]
_PATTERNS["tsx"] = _PATTERNS["javascript"]
_PATTERNS["cpp"] = _PATTERNS["c"] + (
    rf"^(?:(?:inline|constexpr|static|const)\s+)+(?:[A-Za-z_][\w:<>,\s]*[\s*&]+){_IDENT}\s*(?:\[[^\]]*\])*\s*=",)


@lru_cache(maxsize=None)
def _compiled(language: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in _PATTERNS.get(language, ()))


def declaration_spans(lines: list[str], start: int, end: int,
                      language: str) -> list[tuple[int, int, str]]:
    """(first line, last line, name) of each top-level declaration starting in lines
    start..end (1-based). A declaration runs until its brackets close (strings are not
    parsed: a bracket inside one can end it early, which only costs a name)."""
    patterns = _compiled(language)
    if not patterns:
        return []
    spans: list[tuple[int, int, str]] = []
    open_name, open_start, depth = "", 0, 0
    for ln in range(start, min(end, len(lines)) + 1):
        line = lines[ln - 1]
        if not open_name:
            m = next((m for rx in patterns if (m := rx.match(line))), None)
            if m is None:
                continue
            open_name, open_start, depth = m.group(1), ln, 0
        depth += _balance(line)
        if depth <= 0:
            spans.append((open_start, ln, open_name))
            open_name = ""
    if open_name:
        spans.append((open_start, min(end, len(lines)), open_name))
    return spans


def _balance(line: str) -> int:
    return sum(line.count(c) for c in "([{") - sum(line.count(c) for c in ")]}")


def name_at(spans: list[tuple[int, int, str]], start: int, end: int) -> str:
    """The declaration a window of lines start..end belongs to: the one holding its first
    line, else the first one starting inside it; "" when there is none."""
    for first, last, name in spans:
        if first <= start <= last:
            return name
    inside = [name for first, _, name in spans if start <= first <= end]
    return inside[0] if inside else ""
