"""A file's lines and definitions as the index holds them, for the packer to choose from:
rebuilt from the stored chunks (exact ranges, split parts, class skeletons) rather than disk.
"""

# Why the index and not the file on disk: the index is what was searched, the file may have
# changed since, and secrets are redacted in the stored texts. Every non-blank line of a
# parsed file lies in some chunk (ingest/chunk.py), so the lines come back like this:
#   - a chunk whose text has as many lines as its range is those lines, verbatim;
#   - a later part of a split definition is its signature, a `...` line, then its range;
#   - a class skeleton (a container with member chunks inside) shows the class's own lines
#     with each member reduced to its header and `...`; aligning it against the members
#     (whose lines are known by then) gives back the class's own lines. Runs of blank lines
#     were squeezed to one: a gap with one such run has a known length, two are ambiguous;
#   - a line outside every chunk is blank.
# A line that cannot be recovered is None; it is read from the file on disk only when the
# file is unchanged since indexing (same content hash) and nothing in it was redacted.

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ..ingest.chunk import CONTAINER_KINDS

_PLAIN_KINDS = frozenset({"module", "block", "section"})
_PRELUDE = ("@", "#", "//", "/*", "*", "[")  # decorators, attributes, doc comments
_MAX_HEADER_LINES = 8


@dataclass(frozen=True, slots=True)
class Definition:
    """A definition's chunk range (decorators and attached comments included), where its
    signature line is and where its header ends, and the definition enclosing it."""

    symbol: str
    kind: str
    start_line: int
    end_line: int
    signature_line: int
    header_end: int
    parent: int | None  # index of the enclosing definition in SourceText.definitions

    @property
    def is_container(self) -> bool:
        return self.kind in CONTAINER_KINDS


@dataclass(frozen=True, slots=True)
class SourceText:
    path: str
    language: str
    lines: tuple[str | None, ...]  # lines[i] is line i + 1; None: not recoverable
    definitions: tuple[Definition, ...]  # by (start, -end): parents come before children
    owner: tuple[int | None, ...]  # owner[i]: the innermost definition holding line i + 1
    from_disk: int = 0  # lines that had to be read from the file on disk

    def line(self, number: int) -> str | None:
        return self.lines[number - 1] if 1 <= number <= len(self.lines) else None

    def innermost(self, line: int, end: int | None = None) -> int | None:
        """Index of the innermost definition holding every line from `line` to `end`."""
        index = self.owner[line - 1] if 1 <= line <= len(self.owner) else None
        end = line if end is None else end
        while index is not None and self.definitions[index].end_line < end:
            index = self.definitions[index].parent
        return index

    def ancestors(self, index: int | None) -> list[int]:
        """`index` and the definitions enclosing it, innermost first."""
        out = []
        while index is not None:
            out.append(index)
            index = self.definitions[index].parent
        return out


@dataclass(frozen=True, slots=True)
class _Row:
    kind: str
    symbol: str
    start: int
    end: int
    text: str


class SourceReader:
    """Reads and caches SourceTexts of one index; `root` allows the disk fallback."""

    def __init__(self, db: sqlite3.Connection, root: Path | None = None) -> None:
        self.db = db
        self.root = root
        self._cache: dict[str, SourceText | None] = {}

    def get(self, path: str) -> SourceText | None:
        if path not in self._cache:
            self._cache[path] = self._read(path)
        return self._cache[path]

    def _read(self, path: str) -> SourceText | None:
        row = self.db.execute("SELECT id, language, n_lines, sha FROM files WHERE path = ?",
                              (path,)).fetchone()
        if row is None:
            return None
        file_id, language, n_lines, sha = row
        rows = [_Row(*r) for r in self.db.execute(
            "SELECT kind, symbol, start_line, end_line, context_text FROM chunks"
            " WHERE file_id = ? ORDER BY start_line, end_line DESC", (file_id,))]
        n_lines = max([n_lines, *(r.end for r in rows)])
        lines = rebuild_lines(rows, n_lines)
        from_disk = 0
        if None in lines and self.root is not None and not self._redacted(file_id):
            lines, from_disk = _fill_from_disk(self.root / path, sha, lines)
        definitions = _definitions(rows, lines)
        return SourceText(path, language, tuple(lines), definitions,
                          _owners(definitions, len(lines)), from_disk)

    def _redacted(self, file_id: int) -> bool:
        try:
            return self.db.execute("SELECT 1 FROM redactions WHERE file_id = ? LIMIT 1",
                                   (file_id,)).fetchone() is not None
        except sqlite3.OperationalError:  # an index from before redaction existed
            return False


# ---------------------------------------------------------------- rebuilding the lines


def rebuild_lines(rows: list[_Row], n_lines: int) -> list[str | None]:
    coverage = [0] * (n_lines + 2)
    for r in rows:
        for n in range(r.start, r.end + 1):
            coverage[n] += 1
    known: dict[int, str] = {n: "" for n in range(1, n_lines + 1) if not coverage[n]}
    inner = _inner_rows(rows)
    skeletons = [r for r in rows if r.kind in CONTAINER_KINDS and inner[id(r)]]
    skipped = {id(r) for r in skeletons}
    for r in rows:
        if id(r) in skipped:
            continue
        text = r.text.split("\n")
        span = r.end - r.start + 1
        if len(text) >= span:  # the whole range, or a split part: header, `...`, its range
            known.update(zip(range(r.start, r.end + 1), text[len(text) - span:]))
    for r in sorted(skeletons, key=lambda r: r.end - r.start):
        members = _members(inner[id(r)])
        _align_skeleton(r, members, known)
        for start, end in members:  # between the parts of a split member: blank lines
            for n in range(start, end + 1):
                if coverage[n] == 1 and n not in known:
                    known[n] = ""
    return [known.get(n) for n in range(1, n_lines + 1)]


def _inner_rows(rows: list[_Row]) -> dict[int, list[_Row]]:
    """The rows strictly inside each container row's range."""
    out: dict[int, list[_Row]] = {}
    for r in rows:
        out[id(r)] = [o for o in rows if o is not r and r.start <= o.start and o.end <= r.end
                      and (o.start, o.end) != (r.start, r.end)] if r.kind in CONTAINER_KINDS else []
    return out


def _members(inner: list[_Row]) -> list[tuple[int, int]]:
    """Direct members' ranges: the parts of a split member merged, nested ones dropped."""
    out: list[tuple[int, int]] = []
    for s, e, _, _ in sorted(_spans(inner), key=lambda sp: (sp[0], -sp[1])):
        if out and s <= out[-1][1]:
            continue
        out.append((s, e))
    return out


def _spans(rows: list[_Row]) -> list[tuple[int, int, str, str]]:
    """(start, end, symbol, kind) per definition: a later part of a split definition (its
    text repeats the signature above its range) extends the part before it; two definitions
    of one name (if/else twins, overloads) stay two."""
    spans: list[tuple[int, int, str, str]] = []
    latest: dict[tuple[str, str], int] = {}
    for r in rows:
        if not r.symbol or r.kind in _PLAIN_KINDS:
            continue
        key = (r.symbol, r.kind)
        if key in latest and len(r.text.split("\n")) > r.end - r.start + 1:
            start, end, _, _ = spans[latest[key]]
            spans[latest[key]] = (start, max(end, r.end), r.symbol, r.kind)
        else:
            latest[key] = len(spans)
            spans.append((r.start, r.end, r.symbol, r.kind))
    return spans


def _align_skeleton(row: _Row, members: list[tuple[int, int]], known: dict[int, str]) -> None:
    """Recover a container's own lines from its skeleton (see the module comment)."""
    shown = row.text.split("\n")
    p, pos = 0, row.start
    for start, end in members:
        first = known.get(start)
        at = None if first is None else next(
            (i for i in range(p, len(shown)) if shown[i] == first), None)
        if at is None:
            return
        _fill_gap(shown[p:at], pos, start - 1, known)
        p = _skip_member(shown, at, start, end, known)
        if p is None:
            return
        pos = end + 1
    _fill_gap(shown[p:], pos, row.end, known)


def _skip_member(shown: list[str], p: int, start: int, end: int,
                 known: dict[int, str]) -> int | None:
    """Past a member as the skeleton shows it: its header lines, then (when the body was
    elided) a `...` line and perhaps the closing brace. None when the text does not fit."""
    line = start
    while line <= end and p < len(shown) and known.get(line) == shown[p]:
        line, p = line + 1, p + 1
    if line > end:
        return p
    if p >= len(shown) or shown[p].strip() != "...":
        return None
    p += 1
    closing = known.get(end, "").strip()
    if (closing.startswith("}") or closing == "end") and p < len(shown) \
            and shown[p] == known.get(end):
        p += 1
    return p


def _fill_gap(shown: list[str], start: int, end: int, known: dict[int, str]) -> None:
    """Lines start..end of the source, shown with runs of blank lines squeezed to one. With
    one run its length is known; with several, only the lines outside the runs are sure."""
    size = end - start + 1
    if size <= 0 or len(shown) > size:
        return
    if len(shown) < size:
        blanks = [i for i, text in enumerate(shown) if not text.strip()]
        runs = [i for i in blanks if i == 0 or shown[i - 1].strip()]
        if len(runs) != 1:
            head = runs[0] if runs else len(shown)
            tail = len(shown) - 1 - max(blanks) if blanks else 0
            _assign(known, start, shown[:head])
            _assign(known, end - tail + 1, shown[len(shown) - tail:])
            return
        at = runs[0]
        shown = shown[:at] + [""] * (size - len(shown) + 1) + shown[at + 1:]
    _assign(known, start, shown)


def _assign(known: dict[int, str], start: int, texts: list[str]) -> None:
    for n, text in enumerate(texts, start):
        known.setdefault(n, text)


def _fill_from_disk(path: Path, sha: str, lines: list[str | None]) -> tuple[list[str | None], int]:
    from ..ingest.discover import read_text
    try:
        text, _ = read_text(str(path))
    except OSError:
        return lines, 0
    # The indexer's file hash (indexer.file_sha; importing it would load tree-sitter).
    if hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest() != sha:
        return lines, 0
    disk = text.split("\n")
    filled = [text if text is not None or i >= len(disk) else disk[i]
              for i, text in enumerate(lines)]
    return filled, sum(1 for a, b in zip(lines, filled) if a is None and b is not None)


# ---------------------------------------------------------------- definitions


def _definitions(rows: list[_Row], lines: list[str | None]) -> tuple[Definition, ...]:
    """One Definition per defined symbol (the parts of a split one merged), nested by range."""
    spans = sorted(_spans(rows), key=lambda s: (s[0], -s[1]))
    out: list[Definition] = []
    stack: list[int] = []
    for start, end, symbol, kind in spans:
        while stack and out[stack[-1]].end_line < end:
            stack.pop()
        sig = _signature_line(lines, start, end)
        out.append(Definition(symbol, kind, start, end, sig, _header_end(lines, sig, end),
                              stack[-1] if stack else None))
        stack.append(len(out) - 1)
    return tuple(out)


def _owners(definitions: tuple[Definition, ...], n_lines: int) -> tuple[int | None, ...]:
    owner: list[int | None] = [None] * n_lines
    for i, d in enumerate(definitions):  # parents first: a child's lines are overwritten
        end = min(d.end_line, n_lines)
        if end >= d.start_line:
            owner[d.start_line - 1:end] = [i] * (end - d.start_line + 1)
    return tuple(owner)


def _signature_line(lines: list[str | None], start: int, end: int) -> int:
    """The first line below the decorators and doc comments attached above a definition."""
    for n in range(start, end + 1):
        text = (lines[n - 1] or "").lstrip()
        if text and not text.startswith(_PRELUDE):
            return n
    return start


def _header_end(lines: list[str | None], sig: int, end: int) -> int:
    """The last line of the signature: up to the `:` (Python) or the `{` / `;` (others)."""
    for n in range(sig, min(end, sig + _MAX_HEADER_LINES - 1) + 1):
        text = lines[n - 1] or ""
        code = text.split(" #", 1)[0].split(" //", 1)[0].rstrip()
        if code.endswith(":") or "{" in code or code.endswith(";") or code.endswith("=>"):
            return n
    return sig
