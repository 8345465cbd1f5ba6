"""An indexed file's text rebuilt from the code index's stored units, without reading the
repository again, and the unit that encloses a line (the symbol a citation names)."""

# The chunker puts every non-blank line in some unit (ingest/chunk.py), but not every
# unit's text is its plain line range: a class is stored as a skeleton (its own lines,
# each member's signature and a `...` for its body), and the later parts of a long
# definition repeat its signature and a `...` above their lines. So members and parts are
# laid down first, a part by its last lines (which are its range as written), and then each
# container's own lines are placed between its members' by walking its skeleton, innermost
# container first. A blank line a skeleton squeezed out can leave a container's own lines
# one line early; nothing else is moved. Lines no unit holds (blank ones) stay empty.

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..ingest.chunk import CONTAINER_KINDS

ELIDED = "..."


@dataclass(frozen=True, slots=True)
class Unit:
    kind: str
    symbol: str
    start_line: int
    end_line: int
    text: str


@dataclass(frozen=True, slots=True)
class IndexedFile:
    path: str
    language: str
    units: tuple[Unit, ...]
    lines: tuple[str, ...]  # line n is lines[n - 1]; "" where no unit holds it

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def symbol_at(self, line: int) -> str:
        """The qualname of the innermost unit holding `line`; "" at a module's top level."""
        best: Unit | None = None
        for u in self.units:
            if u.start_line <= line <= u.end_line and (
                    best is None or u.end_line - u.start_line < best.end_line - best.start_line):
                best = u
        return "" if best is None or best.kind == "module" else best.symbol


def rebuild(path: str, language: str, units: Sequence[Unit]) -> IndexedFile:
    units = tuple(sorted(units, key=lambda u: (u.start_line, -u.end_line)))
    # A function holding a nested class is stored whole; only container kinds are skeletons.
    containers = {i for i in range(len(units))
                  if units[i].kind in CONTAINER_KINDS and _holds_another(units, i)}
    placed: dict[int, str] = {}
    owner_end: dict[int, int] = {}  # line -> last line of the member it belongs to
    ends = _member_ends(units)
    for i, u in enumerate(units):
        if i not in containers:
            _lay_down(u, placed, owner_end, ends[i])
    for i in sorted(containers, key=lambda i: units[i].end_line - units[i].start_line):
        _place_own_lines(units[i], placed, owner_end)
    last = max((u.end_line for u in units), default=0)
    return IndexedFile(path, language, units, tuple(placed.get(n, "") for n in range(1, last + 1)))


def _holds_another(units: Sequence[Unit], i: int) -> bool:
    """Whether a later unit (they are in start order) lies inside units[i]'s range."""
    u = units[i]
    for j in range(i + 1, len(units)):
        v = units[j]
        if v.start_line > u.end_line:
            return False
        if v.end_line <= u.end_line and (v.start_line, v.end_line) != (u.start_line, u.end_line):
            return True
    return False


def _member_ends(units: Sequence[Unit]) -> list[int]:
    """For each unit, the last line of the definition it is part of: a long definition is
    stored as parts, each later one longer than its range (it repeats the signature)."""
    ends = [u.end_line for u in units]
    first_of: dict[tuple[str, str], int] = {}
    for i, u in enumerate(units):
        key = (u.kind, u.symbol)
        if u.symbol and u.text.count("\n") + 1 > u.end_line - u.start_line + 1 and key in first_of:
            first = first_of[key]
            ends[first] = ends[i] = max(ends[first], u.end_line)
        else:
            first_of[key] = i
    return ends


def _lay_down(u: Unit, placed: dict[int, str], owner_end: dict[int, int], end: int) -> None:
    """A member or plain unit: its last (range) lines are its lines as written."""
    text = u.text.split("\n")
    span = u.end_line - u.start_line + 1
    if len(text) < span:  # not a plain range after all: place what lines up from the top
        text = text + [""] * (span - len(text))
    for offset, line in enumerate(text[len(text) - span:]):
        placed.setdefault(u.start_line + offset, line)
        owner_end[u.start_line + offset] = max(owner_end.get(u.start_line + offset, 0), end)


def _place_own_lines(u: Unit, placed: dict[int, str], owner_end: dict[int, int]) -> None:
    """Walk a container's skeleton over its range: a member's signature lines match what is
    placed, its `...` skips to the member's end, anything else is the container's own."""
    lines = u.text.split("\n")
    p, i, after_elision = u.start_line, 0, False
    while i < len(lines) and p <= u.end_line:
        s = lines[i]
        if after_elision and s.strip() and s == placed.get(p - 1):
            i, after_elision = i + 1, False  # a member's closing `}` kept after its `...`
            continue
        after_elision = False
        nxt = _next_placed(placed, p, u.end_line)
        if nxt is not None and s.strip() and s == placed[nxt]:
            p, i = nxt + 1, i + 1  # squeezed blank lines may lie between p and nxt
        elif p in placed and s.strip() == ELIDED:
            p, i, after_elision = owner_end.get(p, p) + 1, i + 1, True
        elif p in placed:
            p = owner_end.get(p, p) + 1  # no match: step over the member, keep the line
        else:
            placed[p] = s
            p, i = p + 1, i + 1
    for n in range(u.start_line, u.end_line + 1):  # to an outer container, one member
        owner_end[n] = max(owner_end.get(n, 0), u.end_line)


def _next_placed(placed: dict[int, str], p: int, end: int) -> int | None:
    return next((n for n in range(p, end + 1) if n in placed), None)
