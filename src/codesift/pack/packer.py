"""The usefulness packer: ranked hits -> valued lines -> the most useful lines that fit the
token budget, elided gaps marked -> a `Context` with citations and a why for every item.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError
from ..model import Hit
from ..retrieve.query import analyse
from ..tokenizer import Tokenizer
from .context import Citation, Context, ContextItem, Why
from .layout import Layout, shown_ranges
from .lines import Candidate, Item, Matcher, callee_candidates, hit_candidates, rank_items
from .source import SourceReader, SourceText

if TYPE_CHECKING:
    from ..graph.query import GraphQueries
    from ..store.sqlite import SQLiteStore

MAX_BUDGET = 1_000_000
CALLEE = 0.1  # a callee's signature: worth a sixth of its caller's top body line
CALLERS = 10  # only the best hits' callees are offered
CALLEES_PER_CALLER = 6
CALLEE_CONFIDENCE = 0.5  # certain edges and guesses shared by at most two candidates
_REFILLS = 3
GAP_LINES = 6


def check_budget(budget: int) -> None:
    if not isinstance(budget, int) or isinstance(budget, bool) or not 1 <= budget <= MAX_BUDGET:
        raise UsageError(f"budget must be a whole number of tokens from 1 to {MAX_BUDGET:,},"
                         f" not {budget!r}", hint="try --budget 4000")


def pack(hits: Sequence[Hit], budget: int, *, store: SQLiteStore, tokenizer: Tokenizer,
         question: str = "", root: Path | None = None,
         graph: GraphQueries | None = None) -> Context:
    """The most useful lines of `hits` within `budget` tokens (never more, as counted by
    `tokenizer`), with the signatures of what the best functions call when `graph` is given."""
    check_budget(budget)
    reader = SourceReader(store.db, root)
    items = hit_items(hits, reader)
    # The question was checked by the search; here it only gives terms and stack frames.
    query = analyse(question, max_chars=len(question) + 1) if question.strip() else None
    match = _matcher(store, query.terms if query else ())
    candidates: list[Candidate] = []
    for i, item in enumerate(items):
        frames = frozenset(f.line for f in (query.frames if query else ())
                           if _same_file(f.path, item.path))
        candidates += hit_candidates(i, item, reader.get(item.path), match, frames)
    if graph is not None:
        for item in callee_items(items, reader, graph):
            items.append(item)
            candidates += callee_candidates(len(items) - 1, item, reader.get(item.path),
                                            CALLEE * items[_caller(items, item)].weight)
    sources = {it.path: reader.get(it.path) for it in items}
    order = rank_items(items)
    layout, text, tokens = _fill(Layout(sources, tokenizer.count), candidates, budget,
                                 order, tokenizer)
    return _context(question, items, sources, layout, order, text, tokens, budget, tokenizer)


def hit_items(hits: Sequence[Hit], reader: SourceReader) -> list[Item]:
    """One item per hit; a part of a split definition stands for the whole definition."""
    items = []
    for rank, hit in enumerate(hits, 1):
        src = reader.get(hit.path)
        if src is None:  # deleted from the index since the search
            continue
        d = _definition_of(src, hit)
        start, end, note = hit.start_line, hit.end_line, ""
        if d is not None:
            dd = src.definitions[d]
            if (dd.start_line, dd.end_line) != (start, end):
                note = "whole definition (the index holds it in parts)"
            start, end = dd.start_line, dd.end_line
        items.append(Item(hit.path, start, end, hit.symbol, hit.kind, "hit", rank, hit.score,
                          tuple(hit.sources), d, note=note))
    return items


def callee_items(items: Sequence[Item], reader: SourceReader,
                 graph: GraphQueries) -> list[Item]:
    """Definitions the best function hits call, not already among the hits."""
    out: list[Item] = []
    seen = {(it.path, it.symbol) for it in items}
    for caller in items:
        if caller.rank > CALLERS or caller.kind not in ("function", "method"):
            continue
        node = graph.node(caller.path, caller.symbol)
        found = sorted(graph.callees([node], 1, CALLEE_CONFIDENCE),
                       key=lambda h: (-h.confidence, h.line))
        taken = 0
        for hit in found:
            key = (hit.node.path, hit.node.symbol)
            if key in seen or taken == CALLEES_PER_CALLER:
                continue
            src = reader.get(hit.node.path)
            d = _definition_at(src, hit.node.symbol, hit.node.start_line) if src else None
            if d is None or _inside_any(items, hit.node.path, src.definitions[d].start_line):
                continue
            dd = src.definitions[d]
            seen.add(key)
            taken += 1
            out.append(Item(hit.node.path, dd.start_line, dd.end_line, hit.node.symbol, dd.kind,
                            "callee", caller.rank, caller.score, ("graph",), d,
                            via=caller.symbol, note="signature of a definition it calls"))
    return out


# ---------------------------------------------------------------- filling the budget


def _fill(layout: Layout, candidates: list[Candidate], budget: int, order: list[str],
          tokenizer: Tokenizer) -> tuple[Layout, str, int]:
    """Greedy by value under the planned cost, then the rendered text counted exactly:
    over budget -> undo the latest additions; well under -> offer the rest again."""
    ranked = sorted(candidates, key=lambda c: (-c.value, c.item, c.path, c.line))
    limit = budget
    text, tokens = "", 0
    for _ in range(_REFILLS):
        added = 0
        for c in ranked:
            if limit - layout.used < 2:  # no line costs less
                break
            if not layout.has(c.path, c.line):
                added += layout.add([(c.path, m) for m in (*c.needs, c.line)], c.item, limit)
        _fill_gaps(layout)
        text = layout.render(order)
        tokens = tokenizer.count(text)
        while tokens > budget and layout.undo():
            text = layout.render(order)
            tokens = tokenizer.count(text)
        slack = budget - tokens
        if not added or slack < max(8, budget // 100):
            break
        limit = layout.used + slack
    return layout, text, tokens


def _fill_gaps(layout: Layout) -> None:
    """Show the lines of a gap when they cost no more than the marker standing for them
    (a marker costs about as much as a few short lines: longer gaps are not tried)."""
    spans = [(path, a, b - 1) for path, a, b in layout.gaps()] + layout.tails()
    for path, a, end in spans:
        if end - a > GAP_LINES:
            continue
        src = layout.sources[path]
        between = [(path, m) for m in range(a + 1, end + 1)]
        if all(src.line(m) is not None for _, m in between):
            layout.add(between, layout.owner[(path, a)], layout.used)


# ---------------------------------------------------------------- the Context


def _context(question: str, items: list[Item], sources: dict[str, SourceText], layout: Layout,
             order: list[str], text: str, tokens: int, budget: int,
             tokenizer: Tokenizer) -> Context:
    owned: dict[int, list[int]] = {}
    for (_, line), i in layout.owner.items():
        owned.setdefault(i, []).append(line)
    records, citations = [], []
    for i, it in enumerate(items):
        src = sources[it.path]
        shown = set(layout.selected.get(it.path, ()))
        inside = [n for n in range(it.start_line, it.end_line + 1)
                  if n in shown and (src.line(n) or "").strip()]
        total = sum(1 for n in range(it.start_line, it.end_line + 1) if (src.line(n) or "").strip())
        kept = shown_ranges([*owned.get(i, ()), *inside])
        why = Why(it.role, it.rank, it.score, it.sources, it.via, len(inside),
                  total - len(inside), kept, it.note)
        records.append(ContextItem(it.path, it.start_line, it.end_line, it.symbol, it.kind, why))
        if inside:
            citations.append(Citation(it.path, inside[0], inside[-1], it.symbol))
    position = {p: k for k, p in enumerate(order)}
    citations.sort(key=lambda c: (position[c.path], c.start_line, c.end_line))
    return Context(question, text, tuple(dict.fromkeys(citations)), tokens, budget,
                   tokenizer.name, tuple(records))


# ---------------------------------------------------------------- helpers


def _matcher(store: SQLiteStore, terms: Sequence[str]) -> Matcher:
    if not terms:
        return Matcher({})
    n_docs = store.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    return Matcher.from_counts(store.doc_freqs(list(dict.fromkeys(terms))), n_docs)


def _definition_of(src: SourceText, hit: Hit) -> int | None:
    """The definition a hit is (or is a part of): same symbol and kind, range inside."""
    best = None
    for i, d in enumerate(src.definitions):
        if d.symbol == hit.symbol and d.kind == hit.kind and d.start_line <= hit.start_line \
                and hit.end_line <= d.end_line:
            if best is None or d.end_line - d.start_line < \
                    src.definitions[best].end_line - src.definitions[best].start_line:
                best = i
    return best


def _definition_at(src: SourceText, symbol: str, line: int) -> int | None:
    for i, d in enumerate(src.definitions):
        if d.symbol == symbol and d.start_line <= line <= d.end_line:
            return i
    return None


def _inside_any(items: Sequence[Item], path: str, line: int) -> bool:
    return any(it.path == path and it.start_line <= line <= it.end_line for it in items)


def _caller(items: Sequence[Item], callee: Item) -> int:
    return next(i for i, it in enumerate(items) if it.role == "hit" and it.symbol == callee.via)


def _same_file(frame_path: str, path: str) -> bool:
    frame_path = frame_path.replace("\\", "/")
    return frame_path == path or frame_path.endswith("/" + path) or path.endswith("/" + frame_path)
