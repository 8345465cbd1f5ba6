"""The repo map: a repository's most important definitions, ranked by personalised PageRank
over the reference graph, rendered as a file tree of signatures that fits a token budget.
"""

# The approach is Aider's repo map (aider/repomap.py): rank definitions by how the rest of
# the code references them, then binary-search how many of the best to show so that the
# rendered map fits the budget. Differences: definitions are ranked directly (graph/rank.py);
# after the binary search, lower-ranked definitions that still fit fill what is left of the
# budget; test code votes (its calls count) but is shown only when focused or asked about.

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..budget import TokenCounter, count_tokens
from ..errors import UsageError
from ..retrieve.query import MAX_QUERY_CHARS
from .focus import focus_seeds, node_names, query_seeds
from .rank import pagerank, teleport
from .refgraph import CodeGraph, Definition, Nodes, number_nodes, reference_edges

# Containers render as the context line above their members, never as entries of their own.
CONTAINER_KINDS = frozenset({"module", "namespace", "package", "impl"})
MIN_OUT_WEIGHT = 1.0  # unsure references pass on only what they weigh (graph/rank.py)
MAX_SIGNATURE_CHARS = 200
FILL_TRIES = 32  # lower-ranked definitions tried after the binary search, to use the rest
ELIDED = " …"


@dataclass(frozen=True, slots=True)
class MapEntry:
    definition: Definition
    rank: int | None  # 1 = the most important definition; None: shown only as a container
    score: float  # its PageRank
    depth: int  # how many shown definitions enclose it

    def to_dict(self) -> dict:
        d = self.definition
        return {"symbol": d.qualname, "kind": d.kind, "signature": d.signature,
                "start_line": d.start_line, "end_line": d.end_line, "rank": self.rank,
                "score": float(f"{self.score:.6g}")}


@dataclass(frozen=True, slots=True)
class MapFile:
    path: str
    entries: tuple[MapEntry, ...]  # in source order


@dataclass(frozen=True, slots=True)
class RepoMap:
    budget: int
    tokens: int  # the counter's count of `text`; never more than budget
    files: tuple[MapFile, ...]  # the file of the best-ranked definition first
    text: str

    def to_dict(self) -> dict:
        return {"budget": self.budget, "tokens": self.tokens,
                "files": [{"path": f.path, "definitions": [e.to_dict() for e in f.entries]}
                          for f in self.files],
                "text": self.text}


@dataclass(frozen=True, slots=True)
class _Ranked:
    """The ranking, and memos of what rendering needs per node: fitting renders the map a
    few dozen times, always from the same nodes."""

    nodes: Nodes
    scores: np.ndarray  # PageRank of every node
    rank_of: dict[int, int]  # node -> 1-based position among the definitions that may be shown
    focus_files: frozenset[str]  # files named by --focus, or holding a symbol it names: first
    enclosing: dict[int, tuple[int, ...]] = field(default_factory=dict)  # node -> its outer defs
    bodies: dict[int, str] = field(default_factory=dict)  # node -> indented signature line


def build_repo_map(graph: CodeGraph, budget: int, *, focus: Sequence[str] = (),
                   query: str | None = None, count: TokenCounter = count_tokens,
                   max_query_chars: int = MAX_QUERY_CHARS) -> RepoMap:
    """The map of the best-ranked definitions whose rendering `count`s to at most `budget`,
    personalised toward `focus` paths / symbols and the names in `query`."""
    check_budget(budget)
    nodes = number_nodes(graph)
    focused: dict[int, float] = {}  # what --focus names: listed first, shown even if test code
    weights: dict[int, float] = {}
    about_tests = False
    if focus or query is not None:
        names = node_names(graph.definitions, nodes, lowercase=query is not None)
        focused = focus_seeds(focus, names)
        weights = dict(focused)
        if query is not None:
            seeds = query_seeds(query, names, max_query_chars)
            about_tests = seeds.about_tests
            for node, w in seeds.weights.items():
                weights[node] = weights.get(node, 0.0) + w
    scores = pagerank(reference_edges(graph, nodes),
                      teleport(len(nodes.keys), weights) if weights else None,
                      min_out_weight=MIN_OUT_WEIGHT)
    defs = nodes.defs
    order = sorted((i for i, d in enumerate(defs) if d.kind not in CONTAINER_KINDS
                    and (not d.is_test or about_tests or i in focused)),
                   key=lambda i: (-scores[i], defs[i].path, defs[i].start_line, defs[i].qualname))
    ranked = _Ranked(nodes, scores, {node: r for r, node in enumerate(order, 1)},
                     frozenset(nodes.keys[n][0] for n in focused))
    chosen = fit(order, budget, lambda selection: count(render(ranked, selection)))
    text = render(ranked, chosen)
    return RepoMap(budget, count(text), _records(ranked, chosen), text)


def check_budget(budget: int) -> None:
    if isinstance(budget, bool) or not isinstance(budget, int) or budget <= 0:
        raise UsageError(f"budget must be a positive number of tokens, not {budget!r}",
                         hint="use --budget 1024 (or more for a bigger map)")


def fit(order: Sequence[int], budget: int, cost: Callable[[Sequence[int]], int]) -> list[int]:
    """The longest prefix of `order` whose cost is within budget, found by galloping up from
    Aider's guess (budget / 25 definitions) and then bisecting; then any of the next
    FILL_TRIES definitions that still fit, one by one. Only measured costs are trusted, so
    the result is within budget even where adding a definition could shrink the cost."""
    n = len(order)
    lo, hi = 0, n + 1  # order[:lo] fits; order[:hi] does not (n + 1: nothing known yet)
    probe = min(n, max(1, budget // 25))
    while lo < probe < hi:
        if cost(order[:probe]) <= budget:
            lo, probe = probe, min(n, probe * 2)
        else:
            hi = probe
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if cost(order[:mid]) <= budget:
            lo = mid
        else:
            hi = mid
    chosen = list(order[:lo])
    used = cost(chosen) if chosen else 0
    for node in order[lo + 1:lo + 1 + FILL_TRIES]:  # order[lo] itself did not fit
        if used >= budget:
            break
        trial = cost([*chosen, node])
        if trial <= budget:
            chosen.append(node)
            used = trial
    return chosen


def render(ranked: _Ranked, chosen: Sequence[int]) -> str:
    """The map text: focused files first, then files by their best-ranked chosen
    definition; in a file, definitions in source order, indented under the definitions
    enclosing them."""
    defs = ranked.nodes.defs
    lines: list[str] = []
    for path, nodes in _by_file(ranked, chosen):
        width = len(str(max(defs[n].start_line for n in nodes)))
        if lines:
            lines.append("")  # one token per file, for a reader's eye
        lines.append(f"{path}:")
        lines.extend(f"{defs[n].start_line:>{width}}│{_body(ranked, n)}" for n in nodes)
    return "\n".join(lines)


def _records(ranked: _Ranked, chosen: Sequence[int]) -> tuple[MapFile, ...]:
    defs, scores = ranked.nodes.defs, ranked.scores
    return tuple(MapFile(path, tuple(
        MapEntry(defs[n], ranked.rank_of.get(n), float(scores[n]), len(_enclosing(ranked, n)))
        for n in nodes)) for path, nodes in _by_file(ranked, chosen))


def _by_file(ranked: _Ranked, chosen: Sequence[int]) -> list[tuple[str, list[int]]]:
    """The shown nodes (chosen ones and those enclosing them) grouped by file, each file
    as a tree in source order; focused files first, then by their best chosen definition."""
    defs = ranked.nodes.defs
    shown = set(chosen)
    best: dict[str, int] = {}
    for node in chosen:
        shown.update(_enclosing(ranked, node))
        path, rank = defs[node].path, ranked.rank_of[node]
        best[path] = min(rank, best.get(path, rank))
    files: dict[str, list[int]] = {}
    for node in sorted(shown, key=lambda n: (defs[n].path, _tree_position(ranked, n))):
        files.setdefault(defs[node].path, []).append(node)
    return sorted(files.items(), key=lambda item: (item[0] not in ranked.focus_files,
                                                   best[item[0]]))


def _tree_position(ranked: _Ranked, node: int) -> tuple[tuple[int, int], ...]:
    """Members right under their container even when written elsewhere (a Go method after
    other types): (start line, node) from the outermost enclosing definition down to `node`."""
    defs = ranked.nodes.defs
    return tuple((defs[n].start_line, n) for n in (*reversed(_enclosing(ranked, node)), node))


def _enclosing(ranked: _Ranked, node: int) -> tuple[int, ...]:
    """The definitions around `node`, innermost first (a method's class, ...)."""
    found = ranked.enclosing.get(node)
    if found is None:
        d = ranked.nodes.defs[node]
        parent = ranked.nodes.of(d.path, d.parent) if d.parent else None
        if parent is None or parent >= len(ranked.nodes.defs) or parent == node:
            found = ()
        else:
            found = (parent, *_enclosing(ranked, parent))
        ranked.enclosing[node] = found
    return found


def _body(ranked: _Ranked, node: int) -> str:
    body = ranked.bodies.get(node)
    if body is None:
        indent = "    " * len(_enclosing(ranked, node))
        body = ranked.bodies[node] = f"{indent}{_signature(ranked.nodes.defs[node])}{ELIDED}"
    return body


_SPACE_IN_PARENS = re.compile(r"\(\s+|,?\s+\)")


def _signature(d: Definition) -> str:
    """The declaration on one line; a parameter list written over several lines loses the
    spaces its line breaks left (`def f( a, b, )` -> `def f(a, b)`)."""
    text = _SPACE_IN_PARENS.sub(lambda m: m.group(0).strip(" ,"), d.signature)
    text = text or f"{d.kind} {d.name}"
    return text if len(text) <= MAX_SIGNATURE_CHARS else text[:MAX_SIGNATURE_CHARS - 1] + "…"
