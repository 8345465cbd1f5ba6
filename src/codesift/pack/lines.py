"""How useful each line of a packed item is, and which lines must be shown with it: the
signature above the body, matched lines above the rest, enclosing headers for structure.
"""

# A line's value is its item's weight (falling with the hit's rank) times what the line is:
#   signature (decorators, the def line up to its `:` or `{`)        1.0
#   first line of the docstring / doc comment                        0.6, the rest 0.3
#   a container's own lines (fields, class attributes)               0.5
#   a member's signature inside a container hit (the skeleton view)  0.6
#   body lines                                                       0.6 at the top of the
#                                                                    body, 0.5 at its end
#   body lines of a container hit's members                          0.12
# plus up to 0.5 for matching the question's terms (rarer terms count more), times 0.2 for a
# line of punctuation only (`]`, `});`), and 1.2 for the line a pasted stack frame names.
# A line needs the headers of every definition around it (and the closing brace of a
# braced body) so the shown text keeps its structure, as in
# Refact's post-processing and Aider's skeletons: a class header, one method's signature and
# a few of its lines, the rest marked as not shown.
#
# The body and rank constants were chosen on three packages of the history set (attrs,
# commander, jinja2; bench/eval_pack.py): a steep rank decay (1 / rank ** 1.5) and bodies worth
# more than half a signature keep the best hits whole before other hits' signatures come in;
# flatter settings spread a small budget over many headers (-0.04 to -0.06 of gold lines at 1k).

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..tokens import iter_tokens
from .source import Definition, SourceText

SIGNATURE, MEMBER_SIGNATURE, NESTED_SIGNATURE = 1.0, 0.6, 0.4
DOC_FIRST, DOC_REST = 0.6, 0.3
OWN = 0.5
BODY_TOP, BODY_END = 0.6, 0.5
MEMBER_BODY = 0.12
MATCH = 0.5
PUNCTUATION = 0.2
FRAME = 1.2
RANK_DECAY = 1.5  # an item's weight is 1 / rank ** RANK_DECAY
_DECORATOR = ("@", "#[", "[")
_STRING_PREFIXES = "rRbBuUfF"


@dataclass(frozen=True, slots=True)
class Item:
    """A range the packer may show: a hit (whole definition when the index split it) or
    the signature of a definition a packed function calls."""

    path: str
    start_line: int
    end_line: int
    symbol: str
    kind: str
    role: str  # "hit" | "callee"
    rank: int  # 1 = best hit; a callee has its caller's
    score: float
    sources: tuple[str, ...]
    definition: int | None = None  # index in its SourceText.definitions
    via: str = ""
    note: str = ""

    @property
    def weight(self) -> float:
        return 1.0 / self.rank ** RANK_DECAY


@dataclass(frozen=True, slots=True)
class Candidate:
    """One line worth showing, for which item, and the lines it needs shown with it."""

    value: float
    path: str
    line: int
    item: int
    needs: tuple[int, ...]


class Matcher:
    """How strongly a line matches the question: 1 - prod(1 - p_t) over the distinct
    question terms it contains, p_t = 0.6 * idf_t / max idf (rarer terms say more)."""

    def __init__(self, idf: Mapping[str, float]) -> None:
        top = max(idf.values(), default=0.0)
        self.p = {t: 0.6 * w / top for t, w in idf.items() if w > 0} if top > 0 else {}

    @classmethod
    def from_counts(cls, doc_freqs: Mapping[str, int], n_docs: int) -> Matcher:
        return cls({t: math.log(1 + n_docs / (1 + df)) for t, df in doc_freqs.items()})

    def __call__(self, text: str) -> float:
        if not self.p:
            return 0.0
        miss = 1.0
        for term in set(iter_tokens(text)):
            p = self.p.get(term)
            if p:
                miss *= 1.0 - p
        return 1.0 - miss


def hit_candidates(index: int, item: Item, src: SourceText, match: Matcher,
                   frame_lines: frozenset[int] = frozenset()) -> list[Candidate]:
    """Every non-blank line of a hit, valued, with what it needs."""
    roles = _Roles(src, item.definition)
    out = []
    for n in range(item.start_line, item.end_line + 1):
        text = src.line(n)
        if text is None or not text.strip():
            continue
        value = roles.value(n) + MATCH * match(text)
        if not any(ch.isalnum() for ch in text):
            value *= PUNCTUATION  # `]`, `});`: shown for structure, never for themselves
        if n in frame_lines:
            value = max(value, FRAME)
        out.append(Candidate(item.weight * value, item.path, n, index, needs(src, n)))
    return out


def callee_candidates(index: int, item: Item, src: SourceText, value: float) -> list[Candidate]:
    """A callee's signature line (its other header lines and enclosing headers as needs)
    and the first line of its docstring at half the value."""
    d = src.definitions[item.definition]
    out = [Candidate(value, item.path, d.signature_line, index, needs(src, d.signature_line))]
    doc = doc_lines(src, d)
    if doc:
        out.append(Candidate(value / 2, item.path, doc[0], index, needs(src, doc[0])))
    return out


def needs(src: SourceText, n: int) -> tuple[int, ...]:
    """The header lines of every definition around line n, and the closing line of each
    braced body n sits in: shown with n so the text keeps its shape."""
    out: list[int] = []
    for i in src.ancestors(src.innermost(n)):
        d = src.definitions[i]
        out += header_lines(src, d)
        if n > d.header_end and d.end_line != n and _is_closing(src.line(d.end_line)):
            out.append(d.end_line)
    return tuple(m for m in dict.fromkeys(out) if m != n and src.line(m) is not None)


def header_lines(src: SourceText, d: Definition) -> list[int]:
    """Decorators / attributes above the signature, then the signature itself."""
    above = [m for m in range(d.start_line, d.signature_line)
             if (src.line(m) or "").lstrip().startswith(_DECORATOR)]
    return above + list(range(d.signature_line, d.header_end + 1))


def doc_lines(src: SourceText, d: Definition) -> list[int]:
    """The doc comment above the signature, else a docstring opening the body."""
    above = [m for m in range(d.start_line, d.signature_line)
             if (text := (src.line(m) or "").strip()) and not text.startswith(_DECORATOR)]
    if above:
        return above
    first = next((m for m in range(d.header_end + 1, d.end_line + 1)
                  if (src.line(m) or "").strip()), None)
    if first is None:
        return []
    head = (src.line(first) or "").strip().lstrip(_STRING_PREFIXES)
    quote = head[:3]
    if quote not in ('"""', "'''"):
        return []
    if head.count(quote) >= 2:
        return [first]
    for m in range(first + 1, d.end_line + 1):
        if quote in (src.line(m) or ""):
            return list(range(first, m + 1))
    return [first]


def _is_closing(text: str | None) -> bool:
    stripped = (text or "").strip()
    return bool(stripped) and (stripped == "end" or set(stripped) <= set("})];,"))


class _Roles:
    """What each line of one item is: signature, doc, member signature, body, ..."""

    def __init__(self, src: SourceText, top: int | None) -> None:
        self.src = src
        self.top = top
        self.container = top is not None and src.definitions[top].is_container
        self._docs: dict[int, list[int]] = {}

    def value(self, n: int) -> float:
        src = self.src
        inner = src.innermost(n)
        chain = src.ancestors(inner)
        if self.top is None or self.top not in chain:
            return self._body(n, None)  # a module header, a block, a section
        d = src.definitions[inner]
        depth = chain.index(self.top)  # 0: the item itself, 1: a member, ...
        if n in header_lines(src, d) or n == d.signature_line:
            if depth == 0:
                return SIGNATURE
            return MEMBER_SIGNATURE if self.container and depth == 1 else NESTED_SIGNATURE
        if depth == 0 or (depth == 1 and not self.container):
            doc = self._doc(inner)
            if n in doc and depth == 0:
                return DOC_FIRST if n == doc[0] else DOC_REST
            return OWN if self.container else self._body(n, src.definitions[self.top])
        return MEMBER_BODY if self.container else self._body(n, src.definitions[self.top])

    def _doc(self, index: int) -> list[int]:
        if index not in self._docs:
            self._docs[index] = doc_lines(self.src, self.src.definitions[index])
        return self._docs[index]

    @staticmethod
    def _body(n: int, d: Definition | None) -> float:
        if d is None or d.end_line <= d.header_end:
            return BODY_TOP
        where = (n - d.header_end) / (d.end_line - d.header_end)
        return BODY_TOP - (BODY_TOP - BODY_END) * min(1.0, max(0.0, where))


def rank_items(items: Sequence[Item]) -> list[str]:
    """File order for rendering: by each file's best rank, hits before callees."""
    best: dict[str, tuple[int, int]] = {}
    for it in items:
        key = (0 if it.role == "hit" else 1, it.rank)
        best[it.path] = min(best.get(it.path, key), key)
    return sorted(best, key=lambda p: best[p])
