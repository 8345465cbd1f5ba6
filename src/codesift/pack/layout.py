"""Selected lines -> text, and what each addition costs under the token counter. Per file,
blocks headed `path:start-end` in a code fence; a gap inside one definition is one marker line.
"""

# Why plan with per-line costs: a BPE tokenizer's count of a whole text is not the sum of its
# lines' counts, but a line counted together with its line break errs on the high side
# (on the stdlib, the sum of count(line + "\n") is 1.7% over the whole text's count and never
# under). So additions are priced locally (the line, and the gaps before and after it), and
# the packer counts the rendered text once at the end, undoing the last additions if needed.

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from .source import SourceText

Line = tuple[str, int]  # (path, line number)
_LANGUAGE_TAGS = {"c_sharp": "csharp", "text": ""}


@dataclass(frozen=True, slots=True)
class Block:
    path: str
    lines: tuple[int, ...]  # the line numbers shown, ascending
    tail: int | None = None  # lines after the last shown one, to here, stand as one marker

    @property
    def start_line(self) -> int:
        return self.lines[0]

    @property
    def end_line(self) -> int:
        return self.tail or self.lines[-1]


class Layout:
    """The lines chosen so far, who they were chosen for, and their planned token cost."""

    def __init__(self, sources: Mapping[str, SourceText], count: Callable[[str], int]) -> None:
        self.sources = sources
        self._count = count
        self.selected: dict[str, list[int]] = {}
        self.owner: dict[Line, int] = {}  # line -> index of the item it was chosen for
        self.used = 0  # planned tokens of everything selected
        self._memo: dict[str, int] = {}
        self._gaps: dict[tuple[str, int, int], str] = {}
        self._gap_costs: dict[tuple[str, int, int | None], int] = {}
        self._history: list[tuple[list[Line], int]] = []
        self._fences: dict[str, str] = {}

    def fence(self, src: SourceText) -> str:
        got = self._fences.get(src.path)
        if got is None:
            got = self._fences[src.path] = fence(src)
        return got

    def opening(self, src: SourceText) -> str:
        return self.fence(src) + _LANGUAGE_TAGS.get(src.language, src.language)

    def cost(self, text: str) -> int:
        """Tokens of one rendered line together with its line break."""
        got = self._memo.get(text)
        if got is None:
            got = self._memo[text] = self._count(text + "\n")
        return got

    def has(self, path: str, line: int) -> bool:
        return (path, line) in self.owner

    # -- choosing lines ----------------------------------------------------------------

    def add(self, lines: Iterable[Line], owner: int, limit: int) -> bool:
        """Show these lines together (for item `owner`) if the plan stays within `limit`."""
        new = [ln for ln in dict.fromkeys(lines) if ln not in self.owner]
        if not new:
            return True
        delta = sum(self._insert(path, n) for path, n in new)
        if self.used + delta > limit:
            for path, n in reversed(new):
                self._remove(path, n)
            return False
        self.used += delta
        for ln in new:
            self.owner[ln] = owner
        self._history.append((new, delta))
        return True

    def undo(self) -> bool:
        """Take back the latest addition (later additions may depend on earlier ones)."""
        if not self._history:
            return False
        lines, delta = self._history.pop()
        for path, n in reversed(lines):
            self._remove(path, n)
            del self.owner[(path, n)]
        self.used -= delta
        return True

    def gaps(self) -> list[tuple[str, int, int]]:
        """(path, a, b) for each pair of consecutive shown lines with lines between them."""
        return [(path, a, b) for path, sel in self.selected.items()
                for a, b in zip(sel, sel[1:]) if b > a + 1]

    def tails(self) -> list[tuple[str, int, int]]:
        """(path, a, end) for each block whose last shown line a has lines of its
        definition left out after it, up to `end`."""
        out = []
        for path, sel in self.selected.items():
            src = self.sources[path]
            for a, b in zip(sel, [*sel[1:], None]):
                if b is None or self.gap_kind(src, a, b) == "break":
                    end = tail_end(src, a)
                    if end:
                        out.append((path, a, end))
        return out

    def _insert(self, path: str, n: int) -> int:
        src = self.sources[path]
        sel = self.selected.setdefault(path, [])
        i = bisect_left(sel, n)
        prev = sel[i - 1] if i else None
        nxt = sel[i] if i < len(sel) else None
        delta = self.cost(src.lines[n - 1] or "")
        if prev is None and nxt is None:
            delta += self._file_cost(src)
        delta += self._gap_cost(src, n, nxt) - self._gap_cost(src, prev, nxt)
        delta += self._gap_cost(src, prev, n)
        sel.insert(i, n)
        return delta

    def _remove(self, path: str, n: int) -> None:
        sel = self.selected[path]
        sel.pop(bisect_left(sel, n))
        if not sel:
            del self.selected[path]

    # -- costs ---------------------------------------------------------------------------

    def _file_cost(self, src: SourceText) -> int:
        """A file's first block: header and fences, and the blank line after it. The header
        is priced with the file's largest line number (as many digits as any header)."""
        return (self.cost(header(src, len(src.lines), len(src.lines)))
                + self.cost(self.opening(src)) + self.cost(self.fence(src)) + self.cost(""))

    def _gap_cost(self, src: SourceText, a: int | None, b: int | None) -> int:
        """What renders between shown lines a and b; b None: after a file's last shown line
        (a marker when it ends inside a definition); a None: before the first (nothing)."""
        if a is None:
            return 0
        key = (src.path, a, b)
        got = self._gap_costs.get(key)
        if got is None:
            got = self._gap_costs[key] = self._price_gap(src, a, b)
        return got

    def _price_gap(self, src: SourceText, a: int, b: int | None) -> int:
        if b is None:
            return self._tail_cost(src, a)
        kind = self.gap_kind(src, a, b)
        if kind == "none":
            return 0
        if kind == "blank":
            return sum(self.cost(src.lines[m - 1] or "") for m in range(a + 1, b))
        if kind == "marker":
            return self.cost(marker(src, a, b))
        # The block ends (with a marker if inside a definition), a new one starts.
        return self._tail_cost(src, a) + self._file_cost(src)

    def _tail_cost(self, src: SourceText, a: int) -> int:
        end = tail_end(src, a)
        return self.cost(marker(src, a, end + 1)) if end else 0

    def gap_kind(self, src: SourceText, a: int, b: int) -> str:
        """How the lines between shown lines a and b render: "none" (adjacent), "blank"
        (only blank lines: shown as they are), "marker" (inside one definition: one marker
        line) or "break" (between definitions: a new block with its own header)."""
        key = (src.path, a, b)
        kind = self._gaps.get(key)
        if kind is None:
            between = src.lines[a:b - 1]
            if not between:
                kind = "none"
            elif all(text is not None and not text.strip() for text in between):
                kind = "blank"
            else:
                kind = "marker" if src.innermost(a, b) is not None else "break"
            self._gaps[key] = kind
        return kind

    # -- rendering -----------------------------------------------------------------------

    def blocks(self, order: Sequence[str]) -> list[Block]:
        """The shown lines cut into blocks, files in `order`, lines ascending in a file."""
        out = []
        for path in order:
            sel = self.selected.get(path)
            if not sel:
                continue
            src = self.sources[path]
            current = [sel[0]]
            for a, b in zip(sel, sel[1:]):
                if self.gap_kind(src, a, b) == "break":
                    out.append(Block(path, tuple(current), tail_end(src, a)))
                    current = []
                current.append(b)
            out.append(Block(path, tuple(current), tail_end(src, current[-1])))
        return out

    def render(self, order: Sequence[str]) -> str:
        return "\n\n".join(self._render_block(b) for b in self.blocks(order))

    def _render_block(self, block: Block) -> str:
        src = self.sources[block.path]
        out = [header(src, block.start_line, block.end_line), self.opening(src)]
        prev = None
        for n in block.lines:
            if prev is not None and n > prev + 1:
                if self.gap_kind(src, prev, n) == "blank":
                    out += [src.lines[m - 1] or "" for m in range(prev + 1, n)]
                else:
                    out.append(marker(src, prev, n))
            out.append(src.lines[n - 1] or "")
            prev = n
        if block.tail:
            out.append(marker(src, block.lines[-1], block.tail + 1))
        out.append(self.fence(src))
        return "\n".join(out)


def header(src: SourceText, start: int, end: int) -> str:
    return f"{src.path}:{start}-{end}"


def fence(src: SourceText) -> str:
    """``` unless the file has lines of its own that start with ``` (Markdown)."""
    inner = any(text is not None and text.lstrip().startswith("```") for text in src.lines)
    return "````" if inner else "```"


def marker(src: SourceText, a: int, b: int) -> str:
    """The line standing for lines a+1 .. b-1, indented like the first of them."""
    first = next((t for t in src.lines[a:b - 1] if t and t.strip()), "")
    indent = first[:len(first) - len(first.lstrip())]
    n = b - a - 1
    return f"{indent}... ({n} line{'s' if n != 1 else ''} not shown)"


def tail_end(src: SourceText, a: int) -> int | None:
    """The last line of the outermost definition around line a when lines after a in it
    are left out (they get a marker), else None."""
    chain = src.ancestors(src.innermost(a))
    if not chain:
        return None
    end = src.definitions[chain[-1]].end_line
    rest = src.lines[a:end]
    return end if any(text is None or text.strip() for text in rest) else None


def shown_ranges(lines: Iterable[int]) -> tuple[tuple[int, int], ...]:
    """[3, 4, 5, 9] -> ((3, 5), (9, 9))."""
    out: list[list[int]] = []
    for n in sorted(set(lines)):
        if out and n == out[-1][1] + 1:
            out[-1][1] = n
        else:
            out.append([n, n])
    return tuple((a, b) for a, b in out)
