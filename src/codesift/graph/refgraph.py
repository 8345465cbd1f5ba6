"""The code graph as the repo map ranks it: definitions numbered as nodes (closures folded
into their function, one node per file for its module-level code), references as weighted edges.
"""

# References arrive column-wise and name their ends by one string key per (path, qualname):
# a large repository has hundreds of thousands of them, and mapping a column of strings
# through a dict in C (`map(index.get, ...)`) costs a tenth of a Python loop over tuples.

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .rank import KIND_WEIGHTS, WeightedGraph, weighted_graph
from .symtab import CALLABLE

KEY_SEPARATOR = "\x01"  # never in a path or a qualified name
PRIVATE_PRIOR = 0.1  # references into `_private` names count a tenth (Aider does the same)


def node_key(path: str, qualname: str) -> str:
    """One string for (path, qualname); qualname "" is the file's module-level code."""
    return f"{path}{KEY_SEPARATOR}{qualname}"


@dataclass(frozen=True, slots=True)
class Definition:
    """A definition as the map shows it. Lines are 1-based and inclusive."""

    path: str
    qualname: str
    name: str
    kind: str
    parent: str | None
    start_line: int
    end_line: int
    signature: str
    is_test: bool


@dataclass(frozen=True, slots=True)
class CodeGraph:
    """What the map ranks: every definition (sorted by path, then line), every indexed file,
    and every resolved reference, column-wise, its ends named by `node_key`."""

    definitions: tuple[Definition, ...]
    files: tuple[str, ...]
    ref_src: tuple[str, ...]
    ref_dst: tuple[str, ...]
    ref_kind: tuple[str, ...]  # calls, imports, inherits, implements, references
    ref_confidence: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Nodes:
    """Node i < len(defs) is defs[i]; the rest are files' module-level code."""

    defs: tuple[Definition, ...]
    keys: tuple[tuple[str, str], ...]  # node -> (path, qualname)
    index: dict[str, int]  # node_key -> node (closures map to their function's node)
    of_definition: tuple[int, ...]  # CodeGraph.definitions[i] -> its node

    def of(self, path: str, qualname: str) -> int | None:
        return self.index.get(node_key(path, qualname))


def number_nodes(graph: CodeGraph) -> Nodes:
    """One node per definition (the first, when a file defines a name twice), then one per
    file. A definition inside a function's body (a closure, a local class) is part of that
    body, elided with it: it shares its function's node, so calls into it rank the function."""
    index: dict[str, int] = {}
    defs: list[Definition] = []
    of_definition: list[int] = []
    for d in graph.definitions:  # sorted by line: an enclosing definition comes first
        key = node_key(d.path, d.qualname)
        if key not in index:
            owner = index.get(node_key(d.path, d.parent)) if d.parent else None
            if owner is not None and defs[owner].kind in CALLABLE:
                index[key] = owner
            else:
                index[key] = len(defs)
                defs.append(d)
        of_definition.append(index[key])
    keys = [(d.path, d.qualname) for d in defs]
    for path in dict.fromkeys((*graph.files, *(d.path for d in defs))):
        index[node_key(path, "")] = len(keys)
        keys.append((path, ""))
    return Nodes(tuple(defs), tuple(keys), index, tuple(of_definition))


def reference_edges(graph: CodeGraph, nodes: Nodes) -> WeightedGraph:
    """References as weighted edges: kind weight x resolver confidence, into private names
    damped; a reference whose end is no longer a definition is dropped."""
    n = len(graph.ref_src)
    src = np.fromiter(map(nodes.index.get, graph.ref_src, itertools.repeat(-1)), np.int64, n)
    dst = np.fromiter(map(nodes.index.get, graph.ref_dst, itertools.repeat(-1)), np.int64, n)
    kind = np.fromiter(map(KIND_WEIGHTS.get, graph.ref_kind, itertools.repeat(0.5)),
                       np.float64, n)
    # Linear in confidence: a guess shared among k candidates is an expected vote of its
    # confidence, split k ways.
    weight = kind * np.asarray(graph.ref_confidence, dtype=np.float64).reshape(n)
    known = (src >= 0) & (dst >= 0)
    return weighted_graph(len(nodes.keys), src[known], dst[known], weight[known],
                          target_weight=_priors(nodes))


def _priors(nodes: Nodes) -> np.ndarray:
    prior = np.ones(len(nodes.keys))
    for i, d in enumerate(nodes.defs):
        if d.name.startswith("_") and not (d.name.startswith("__") and d.name.endswith("__")):
            prior[i] = PRIVATE_PRIOR
    return prior
