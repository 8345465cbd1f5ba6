"""The baseline packer the usefulness packer is measured against: whole chunks, as the index
stores them, in rank order, each that fits the remaining budget (bench/eval_pack.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..model import Hit
from ..tokenizer import Tokenizer
from .context import Citation, Context, ContextItem, Why
from .layout import shown_ranges
from .lines import header_lines
from .packer import check_budget
from .source import SourceReader, SourceText

if TYPE_CHECKING:
    from ..store.sqlite import SQLiteStore

_LANGUAGE_TAGS = {"c_sharp": "csharp", "text": ""}


def pack_whole_chunks(hits: Sequence[Hit], budget: int, *, store: SQLiteStore,
                      tokenizer: Tokenizer, question: str = "") -> Context:
    """Each hit's chunk text whole, best first, skipping any that would overflow `budget`
    (a stronger baseline than stopping at the first that does not fit)."""
    check_budget(budget)
    reader = SourceReader(store.db)
    blocks: list[str] = []
    records, citations = [], []
    for rank, hit in enumerate(hits, 1):
        text = _chunk_text(store, hit)
        src = reader.get(hit.path)
        if text is None or src is None:
            continue
        block = f"{hit.path}:{hit.start_line}-{hit.end_line}\n```" \
            f"{_LANGUAGE_TAGS.get(hit.language, hit.language)}\n{text}\n```"
        fits = tokenizer.count("\n\n".join([*blocks, block])) <= budget
        shown = _shown_lines(src, hit, text) if fits else []
        if fits:
            blocks.append(block)
            citations.append(Citation(hit.path, hit.start_line, hit.end_line, hit.symbol))
        total = sum(1 for n in range(hit.start_line, hit.end_line + 1)
                    if (src.line(n) or "").strip())
        kept = sum(1 for n in shown if hit.start_line <= n <= hit.end_line
                   and (src.line(n) or "").strip())
        why = Why("hit", rank, hit.score, tuple(hit.sources), "", kept, total - kept,
                  shown_ranges(shown), "whole chunk" if fits else "did not fit")
        records.append(ContextItem(hit.path, hit.start_line, hit.end_line, hit.symbol,
                                   hit.kind, why))
    text = "\n\n".join(blocks)
    return Context(question, text, tuple(citations), tokenizer.count(text), budget,
                   tokenizer.name, tuple(records))


def _chunk_text(store: SQLiteStore, hit: Hit) -> str | None:
    row = store.db.execute(
        "SELECT context_text FROM chunks WHERE path = ? AND start_line = ? AND end_line = ?"
        " AND symbol = ? AND kind = ? LIMIT 1",
        (hit.path, hit.start_line, hit.end_line, hit.symbol, hit.kind)).fetchone()
    return row[0] if row else None


def _shown_lines(src: SourceText, hit: Hit, text: str) -> list[int]:
    """The source lines a chunk's text shows: its range, less the member bodies a class
    skeleton elides; a later part of a split definition also shows the signature."""
    span = list(range(hit.start_line, hit.end_line + 1))
    n_text = text.count("\n") + 1
    d = next((i for i, dd in enumerate(src.definitions) if dd.symbol == hit.symbol
              and dd.start_line <= hit.start_line and hit.end_line <= dd.end_line), None)
    if d is None or n_text == len(span):
        return span
    dd = src.definitions[d]
    if n_text > len(span):  # a later part: signature, `...`, its range
        return sorted({*header_lines(src, dd), *span})
    hidden: set[int] = set()
    for i, member in enumerate(src.definitions):
        if member.parent == d and member.header_end < member.end_line:
            hidden.update(range(member.header_end + 1, member.end_line))
            if not (src.line(member.end_line) or "").strip().startswith(("}", "end")):
                hidden.add(member.end_line)
    return [n for n in span if n not in hidden]
