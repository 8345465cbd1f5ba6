"""Bounded tool output: keep whole blocks (hits, lines, definitions) while they fit a token
and a byte cap, and end a cut result with one line saying what was left out and how to get it;
and the bounds of a served SQL question (rows, timeout, model rounds).
"""

# Why both caps: agents budget their context in tokens (counted as everywhere in codesift,
# by budget.count_tokens), while transports and clients cap messages in bytes; a line of
# CJK or emoji is cheap in one and dear in the other.

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..budget import count_tokens

DEFAULT_MAX_TOKENS = 6000
DEFAULT_MAX_BYTES = 32_000
CUT_MARK = " …[cut: longer than the output cap]"


@dataclass(frozen=True, slots=True)
class Bounds:
    """The most one tool result may hold."""

    max_tokens: int = DEFAULT_MAX_TOKENS
    max_bytes: int = DEFAULT_MAX_BYTES

    def __post_init__(self) -> None:
        if self.max_tokens < 200 or self.max_bytes < 1000:
            raise ValueError("an output cap below 200 tokens or 1000 bytes cannot hold a result")


@dataclass(frozen=True, slots=True)
class Fitted:
    text: str
    shown: int  # how many blocks are in `text` whole
    total: int
    cut: bool = False  # the first block alone was over the cap and is shown cut

    @property
    def truncated(self) -> bool:
        return self.shown < self.total


@dataclass(slots=True)
class _Room:
    tokens: int
    bytes: int

    def take(self, text: str) -> bool:
        """Charge `text` plus its line break if it fits; False (and nothing charged) if not."""
        tokens, size = count_tokens(text) + 1, len(text.encode("utf-8")) + 1
        if tokens > self.tokens or size > self.bytes:
            return False
        self.tokens -= tokens
        self.bytes -= size
        return True


def fit(header: str, blocks: Sequence[str], bounds: Bounds,
        note: Callable[[int], str]) -> Fitted:
    """`header` then as many whole `blocks` as fit, one per line group; when some are left
    out, `note(shown)` closes the text (it is charged against the caps as well)."""
    for shown in _candidates(header, blocks, bounds, note):
        parts = [header, *blocks[:shown]] if header else list(blocks[:shown])
        if shown < len(blocks):
            parts.append(note(shown))
        text = "\n".join(parts)
        if _within(text, bounds):
            return Fitted(text, shown, len(blocks))
    return _cut_first(header, blocks, bounds, note)


def _candidates(header: str, blocks: Sequence[str], bounds: Bounds, note: Callable[[int], str]):
    """How many blocks to try, from the most that fit with room kept for the note down to 1.
    The note's numbers can grow by a digit or two, hence the retries."""
    room = _Room(bounds.max_tokens, bounds.max_bytes)
    if header and not room.take(header):
        return
    spare = _Room(room.tokens, room.bytes)
    if all(spare.take(b) for b in blocks):
        yield len(blocks)
        return
    if not room.take(note(0)):
        return
    shown = 0
    while shown < len(blocks) and room.take(blocks[shown]):
        shown += 1
    yield from range(shown, 0, -1)


def _within(text: str, bounds: Bounds) -> bool:
    return count_tokens(text) <= bounds.max_tokens and len(text.encode("utf-8")) <= bounds.max_bytes


def _cut_first(header: str, blocks: Sequence[str], bounds: Bounds,
               note: Callable[[int], str]) -> Fitted:
    """Not even one block fits (a minified line, a huge docstring): show the start of the
    first block, cut at the longest prefix that fits (bisection: counts grow with length)."""
    head = [header] if header else []
    tail = [note(0)] if len(blocks) > 1 else []
    first = blocks[0] if blocks else ""
    lo, hi = 0, len(first)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _within("\n".join([*head, first[:mid] + CUT_MARK, *tail]), bounds):
            lo = mid
        else:
            hi = mid - 1
    text = "\n".join([*head, first[:lo] + CUT_MARK, *tail])
    if not _within(text, bounds):  # the header alone is over: say so and nothing else
        text = CUT_MARK.strip()
    return Fitted(text, 0, len(blocks), cut=True)


# -- SQL over the server --------------------------------------------------------------------

DEFAULT_SQL_ROWS = 100
MAX_SQL_ROWS = 1000
SQL_TIMEOUT_S = 10.0
MAX_SQL_ROUNDS = 5


@dataclass(frozen=True, slots=True)
class SqlBounds:
    """What one served SQL question may cost: rows returned, seconds per statement (EXPLAIN
    and the run alike), replies asked of the model. A request asks for less, never more."""

    max_rows: int = MAX_SQL_ROWS
    timeout_s: float = SQL_TIMEOUT_S
    max_rounds: int = MAX_SQL_ROUNDS

    def __post_init__(self) -> None:
        if self.max_rows < 1 or self.timeout_s <= 0 or self.max_rounds < 1:
            raise ValueError("SQL bounds need at least 1 row, 1 round and a positive timeout")

    def rows(self, asked: int | None) -> int:
        return min(asked or DEFAULT_SQL_ROWS, self.max_rows)

    def rounds(self, asked: int | None) -> int:
        return min(asked or 3, self.max_rounds)
