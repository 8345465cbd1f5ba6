"""Graph queries over the stored edges: callers, callees, shortest call path, references,
definitions, subclasses and implementations. Breadth-first, depth-limited, cycle-safe.
"""

# A node is (path, qualname); "" is a file's module-level code. Every query walks the
# edges table through its indexes, so nothing is loaded whole: a depth-3 query reads only
# the neighbourhood it visits. A node already reached is reported again, marked
# hit, `seen_before` (recursion, mutual recursion, a second path), and never expanded twice.

from __future__ import annotations

import re
from collections import deque
from collections.abc import Sequence

from ..errors import SymbolNotFoundError, UsageError
from ..model import Edge, GraphHit, GraphNode
from ..store.sqlite_graph import GraphTables, SymbolLookup

MAX_DEPTH = 10
# What the CLI shows by default: certain edges and guesses with at most two candidates.
# On the stdlib's call sites it gives the best balance measured (F1 0.959 vs 0.921 with
# every guess; bench/bench_graph.py, docs/benchmarks.md). The API defaults to everything.
DEFAULT_MIN_CONFIDENCE = 0.3
_POSITION = re.compile(r"^(?P<path>.+):(?P<line>\d+)$")
_SEPARATORS = (".", "::", "#", "\\")
CALLS = ("calls",)
TYPES = ("inherits", "implements")
ALL_KINDS = ("calls", "imports", "inherits", "implements", "references")


class GraphQueries:
    """The graph queries of one index."""

    def __init__(self, db) -> None:
        self.edges = GraphTables(db)
        self.symbols = SymbolLookup(db)

    # -- naming a definition ---------------------------------------------------------

    def find(self, text: str) -> list[GraphNode]:
        """Definitions named by a qualified name, a bare name, a name suffix or path:line."""
        text = text.strip()
        if not text:
            raise UsageError("empty symbol", hint="give a name, a qualified name or path:line")
        m = _POSITION.match(text)
        if m:
            rows = self.symbols.at(m["path"], int(m["line"]))[:1]
        else:
            rows = self.symbols.by_qualname(text)
            name = re.split(r"\.|::|#|\\", text)[-1]
            rows = rows or self.symbols.by_suffix(text, name) or (
                self.symbols.by_name(text) if name == text else [])
        if not rows:
            raise SymbolNotFoundError(
                f"no definition named {text!r} in this index",
                hint="try `codesift graph defs NAME` or `codesift search` to find its name")
        return _one_per_node(rows)

    def node(self, path: str, qualname: str) -> GraphNode:
        if not qualname:
            return GraphNode(path, "", "module", 1, 1)
        row = self.symbols.one(path, qualname)
        return _node(row) if row else GraphNode(path, qualname, "?", 0, 0)

    # -- traversals ------------------------------------------------------------------

    def callers(self, roots: Sequence[GraphNode], depth: int = 1, min_confidence: float = 0.0,
                kinds: Sequence[str] = CALLS) -> list[GraphHit]:
        return self._walk(roots, depth, min_confidence, kinds, inbound=True)

    def callees(self, roots: Sequence[GraphNode], depth: int = 1, min_confidence: float = 0.0,
                kinds: Sequence[str] = CALLS) -> list[GraphHit]:
        return self._walk(roots, depth, min_confidence, kinds, inbound=False)

    def references(self, roots: Sequence[GraphNode], min_confidence: float = 0.0) -> list[GraphHit]:
        """Every recorded use: calls, imports, base-class lists, type uses."""
        return self._walk(roots, 1, min_confidence, ALL_KINDS, inbound=True)

    def members(self, roots: Sequence[GraphNode], min_confidence: float = 0.0) -> list[GraphHit]:
        """`contains` edges: the members a class, struct or module defines (from the
        symbols' parent column; a Go type's methods wherever they are written)."""
        out = []
        for root in roots:
            for row in self.symbols.children(root.symbol):
                member = _node(row)
                out.append(GraphHit(member, 1, root.symbol, "contains", member.start_line, 1.0))
        return out

    def subclasses(self, roots: Sequence[GraphNode], depth: int = 1,
                   min_confidence: float = 0.0) -> list[GraphHit]:
        return self._walk(roots, depth, min_confidence, TYPES, inbound=True)

    def implementations(self, roots: Sequence[GraphNode], depth: int = MAX_DEPTH,
                        min_confidence: float = 0.0) -> list[GraphHit]:
        """Classes implementing or extending a type; for a method, the methods of the same
        name in those classes (its overrides)."""
        out: list[GraphHit] = []
        for root in roots:
            owner, _, member = _split_member(root.symbol)
            if root.kind in ("method", "function") and owner:
                for owner_node in self._owner_nodes(root.path, owner):
                    for hit in self.subclasses([owner_node], depth, min_confidence):
                        out.extend(self._overrides(hit, member))
            else:
                out.extend(self.subclasses([root], depth, min_confidence))
        return out

    def path(self, sources: Sequence[GraphNode], targets: Sequence[GraphNode],
             max_depth: int = 6, min_confidence: float = 0.0) -> list[GraphHit]:
        """The shortest call path from any source to any target ([] when none within
        max_depth). The first hit is the source itself (depth 0)."""
        _check_depth(max_depth)
        goal = {(t.path, t.symbol) for t in targets}
        parent: dict[tuple[str, str], tuple[tuple[str, str], Edge] | None] = {
            (s.path, s.symbol): None for s in sources}
        queue = deque((key, 0) for key in parent)
        while queue:
            key, depth = queue.popleft()
            if key in goal:
                return self._trail(key, parent)
            if depth >= max_depth:
                continue
            for edge in self.edges.edges_from(key[0], key[1], CALLS):
                nxt = (edge.dst_path, edge.dst)
                if edge.dst_path is None or edge.confidence < min_confidence or nxt in parent:
                    continue
                parent[nxt] = (key, edge)
                queue.append((nxt, depth + 1))
        return []

    def _walk(self, roots: Sequence[GraphNode], depth: int, min_confidence: float,
              kinds: Sequence[str], inbound: bool) -> list[GraphHit]:
        _check_depth(depth)
        seen = {(r.path, r.symbol) for r in roots}
        frontier = [((r.path, r.symbol), 1.0) for r in roots]
        hits: list[GraphHit] = []
        for level in range(1, depth + 1):
            nxt = []
            for (path, symbol), conf in frontier:
                found = (self.edges.edges_into(path, symbol, kinds) if inbound
                         else self.edges.edges_from(path, symbol, kinds))
                for edge in found:
                    if edge.dst_path is None or edge.confidence < min_confidence:
                        continue
                    key = (edge.src_path, edge.src) if inbound else (edge.dst_path, edge.dst)
                    again = key in seen
                    hits.append(GraphHit(self.node(*key), level, symbol or path, edge.kind,
                                         edge.line, conf * edge.confidence, again))
                    if not again:
                        seen.add(key)
                        nxt.append((key, conf * edge.confidence))
            frontier = nxt
        return hits

    def _trail(self, key, parent) -> list[GraphHit]:
        steps = []
        while parent[key] is not None:
            prev, edge = parent[key]
            steps.append((key, prev, edge))
            key = prev
        out = [GraphHit(self.node(*key), 0, "", "", 0, 1.0)]
        conf = 1.0
        for depth, (node_key, prev, edge) in enumerate(reversed(steps), start=1):
            conf *= edge.confidence
            out.append(GraphHit(self.node(*node_key), depth, prev[1] or prev[0], edge.kind,
                                edge.line, conf))
        return out

    def _owner_nodes(self, path: str, owner: str) -> list[GraphNode]:
        row = self.symbols.one(path, owner)
        return [_node(row)] if row else [_node(r) for r in self.symbols.by_qualname(owner)]

    def _overrides(self, hit: GraphHit, member: str) -> list[GraphHit]:
        out = []
        for sep in _SEPARATORS:
            row = self.symbols.one(hit.node.path, f"{hit.node.symbol}{sep}{member}")
            if row:
                out.append(GraphHit(_node(row), hit.depth, hit.via, hit.edge, hit.line,
                                    hit.confidence, hit.seen_before))
        return out


def _one_per_node(rows) -> list[GraphNode]:
    """A qualname defined several times in one file (typing overloads, if/else twins) is
    one graph node: keep its widest definition, in the order first seen."""
    best: dict[tuple[str, str], GraphNode] = {}
    for row in rows:
        n = _node(row)
        old = best.get((n.path, n.symbol))
        if old is None or n.end_line - n.start_line > old.end_line - old.start_line:
            best[(n.path, n.symbol)] = n
    return list(best.values())


def _check_depth(depth: int) -> None:
    if not 1 <= depth <= MAX_DEPTH:
        raise UsageError(f"depth must be between 1 and {MAX_DEPTH}, not {depth}",
                         hint="deep walks of a large graph reach most of it; 3 is plenty")


def _split_member(qualname: str) -> tuple[str, str, str]:
    best = ("", "", qualname)
    for sep in _SEPARATORS:
        owner, found, member = qualname.rpartition(sep)
        if found and len(owner) > len(best[0]):
            best = (owner, sep, member)
    return best


def _node(row) -> GraphNode:
    path, qualname, _name, kind, start, end, signature = row
    return GraphNode(path, qualname, kind, start, end, signature)
