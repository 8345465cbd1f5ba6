"""Retrieval recipes for the answer tasks: which code a prompt needs, as ranked Hits.

ask: hybrid search. explain: the definition, its callers and callees from the graph.
tests: the definition and the repository's existing tests of it (or of its neighbours).
review: the definitions a diff touches, as they are now, and their callers.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UsageError
from .graph.query import DEFAULT_MIN_CONFIDENCE
from .ingest.kinds import path_kind
from .ingest.languages import is_test_path, language_for_path
from .model import GraphNode, Hit

MAX_DEFINITIONS = 3  # an ambiguous name: explain at most this many of its definitions
MAX_NEIGHBOURS = 8  # callers / callees / tests per definition
MAX_DIFF_DEFINITIONS = 24


@dataclass(frozen=True, slots=True)
class Gathered:
    """What a recipe found: hits best first, and a note for the user when it narrowed."""

    hits: tuple[Hit, ...]
    note: str = ""


def node_hit(node: GraphNode, score: float, source: str) -> Hit:
    language = language_for_path(node.path) or "text"
    return Hit(node.path, node.start_line, node.end_line, node.symbol, node.kind, language,
               score, node.signature, is_test_path(node.path, language), (source,),
               path_kind(node.path, language))


def explain(index, symbol: str) -> Gathered:
    graph = index.graph()
    roots = graph.find(symbol)
    note = ""
    if len(roots) > MAX_DEFINITIONS:
        note = f"{symbol!r} names {len(roots)} definitions; the first {MAX_DEFINITIONS} are explained"
        roots = roots[:MAX_DEFINITIONS]
    hits = [node_hit(root, 1.0, "definition") for root in roots]
    hits += _neighbours(graph.callees(roots, 1, DEFAULT_MIN_CONFIDENCE), 0.6, "callee")
    hits += _neighbours(graph.callers(roots, 1, DEFAULT_MIN_CONFIDENCE), 0.5, "caller")
    return Gathered(_unique(hits), note)


def tests(index, symbol: str) -> Gathered:
    graph = index.graph()
    roots = graph.find(symbol)[:MAX_DEFINITIONS]
    hits = [node_hit(root, 1.0, "definition") for root in roots]
    # Tests that already call it are the best examples of the repository's style.
    callers = [h for h in graph.callers(roots, 2, DEFAULT_MIN_CONFIDENCE)
               if is_test_path(h.node.path, language_for_path(h.node.path) or "text")]
    hits += _neighbours(callers, 0.8, "test-caller")
    name = roots[0].symbol.rsplit(".", 1)[-1] if roots else symbol
    found = [h for h in index.search(f"test {name}", k=20) if h.is_test]
    hits += [Hit(h.path, h.start_line, h.end_line, h.symbol, h.kind, h.language, 0.4 * h.score,
                 h.snippet, True, ("test-search",), h.file_kind) for h in found[:MAX_NEIGHBOURS]]
    note = "" if any(h.is_test for h in hits) else \
        "no existing tests were found in the index; the style is the model's guess"
    return Gathered(_unique(hits), note)


def review(index, diff: str) -> Gathered:
    """The definitions around every changed line (innermost), then their callers."""
    changes = changed_lines(diff)
    if not changes:
        raise UsageError("the diff is empty or not a unified diff",
                         hint="pipe `git diff` into `codesift review -`, or run it in a git repository")
    graph = index.graph()
    touched: list[GraphNode] = []
    for path, lines in changes.items():
        for line in lines:
            rows = graph.symbols.at(path, line)
            node = _node(rows[0]) if rows else None
            if node is not None and node not in touched:
                touched.append(node)
    touched = touched[:MAX_DIFF_DEFINITIONS]
    hits = [node_hit(node, 1.0, "changed") for node in touched]
    hits += _neighbours(graph.callers(touched, 1, DEFAULT_MIN_CONFIDENCE), 0.5, "caller")
    note = "" if touched else "no indexed definition encloses the changed lines (new files?)"
    return Gathered(_unique(hits), note)


def changed_lines(diff: str) -> dict[str, list[int]]:
    """Target-side line numbers of added lines per file (the line above, for deletions)."""
    from unidiff import PatchSet
    from unidiff.errors import UnidiffParseError
    try:
        patch = PatchSet(diff)
    except UnidiffParseError as exc:
        raise UsageError(f"cannot read the diff: {exc}",
                         hint="give a unified diff (`git diff` output)") from exc
    out: dict[str, list[int]] = {}
    for changed in patch:
        if changed.is_removed_file:
            continue
        path = changed.path
        lines: list[int] = []
        for hunk in changed:
            for line in hunk:
                if line.is_added:
                    lines.append(line.target_line_no)
                elif line.is_removed and hunk.target_start:
                    lines.append(max(hunk.target_start, 1))
        if lines:
            out[path] = sorted(set(lines))
    return out


def _node(row: tuple) -> GraphNode:
    path, qualname, _name, kind, start, end, signature = row
    return GraphNode(path, qualname, kind, start, end, signature)


def _neighbours(graph_hits, score: float, source: str) -> list[Hit]:
    out = []
    for rank, gh in enumerate(h for h in graph_hits if not h.seen_before and h.node.start_line):
        if rank == MAX_NEIGHBOURS:
            break
        out.append(node_hit(gh.node, score * gh.confidence / (1 + 0.1 * rank), source))
    return out


def _unique(hits: list[Hit]) -> tuple[Hit, ...]:
    seen: set[tuple[str, int, int]] = set()
    out = []
    for hit in hits:
        key = (hit.path, hit.start_line, hit.end_line)
        if key not in seen:
            seen.add(key)
            out.append(hit)
    return tuple(out)
