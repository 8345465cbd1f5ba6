"""The packer's output: a `Context` (rendered text with `path:start-end` headers, citations,
tokens used and which tokenizer counted them) and a `why` record for every item considered.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Why:
    """Why an item is in the context and how much of it was kept."""

    role: str  # "hit": a search result; "callee": called by a packed definition
    rank: int  # the hit's rank (1 = best); a callee carries its caller's rank
    score: float  # the hit's fused retrieval score (a callee: its caller's)
    sources: tuple[str, ...]  # retrievers that found it: lexical, dense, symbol, ...
    via: str = ""  # a callee: the packed definition that calls it
    lines_kept: int = 0  # non-blank lines shown
    lines_elided: int = 0  # non-blank lines of the item left out
    kept: tuple[tuple[int, int], ...] = ()  # the line ranges shown
    note: str = ""  # e.g. "whole definition (split in the index)"

    def to_dict(self) -> dict:
        return {"role": self.role, "rank": self.rank, "score": round(self.score, 6),
                "sources": list(self.sources), "via": self.via,
                "lines_kept": self.lines_kept, "lines_elided": self.lines_elided,
                "kept": [list(r) for r in self.kept], "note": self.note}


@dataclass(frozen=True, slots=True)
class ContextItem:
    """One definition or range the packer considered (shown or not)."""

    path: str
    start_line: int
    end_line: int
    symbol: str
    kind: str
    why: Why

    def to_dict(self) -> dict:
        return {"path": self.path, "start_line": self.start_line, "end_line": self.end_line,
                "symbol": self.symbol, "kind": self.kind, "why": self.why.to_dict()}


@dataclass(frozen=True, slots=True)
class Citation:
    """A source range the context shows: the first to the last line kept of one item."""

    path: str
    start_line: int
    end_line: int
    symbol: str = ""

    def __str__(self) -> str:
        return f"{self.path}:{self.start_line}-{self.end_line}"

    def to_dict(self) -> dict:
        return {"path": self.path, "start_line": self.start_line, "end_line": self.end_line,
                "symbol": self.symbol}


@dataclass(frozen=True, slots=True)
class Context:
    """Packed context for a question: `text` never counts more than `budget` tokens under
    the tokenizer named in `tokenizer`."""

    question: str
    text: str
    citations: tuple[Citation, ...]
    tokens: int
    budget: int
    tokenizer: str
    items: tuple[ContextItem, ...]

    def to_dict(self) -> dict:
        return {"question": self.question, "text": self.text,
                "citations": [c.to_dict() for c in self.citations],
                "tokens": self.tokens, "budget": self.budget, "tokenizer": self.tokenizer,
                "items": [i.to_dict() for i in self.items]}
