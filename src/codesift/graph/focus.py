"""What a repo map is personalised toward: `--focus` paths and symbols, and the identifiers,
file names and words of a `--query`, turned into teleport weights over the graph's nodes.
"""

# Every focus item and every query identifier gets the same total weight, shared out over
# the nodes it names: focusing a directory of 300 definitions pulls as hard as focusing one
# method, and a query word such as `get` that names 200 definitions barely moves any of
# them (Aider damps names defined in many places for the same reason).

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import BadQueryError, SymbolNotFoundError, UsageError
from ..retrieve.query import MAX_QUERY_CHARS, analyse
from ..tokens import STOPWORDS
from .refgraph import Definition, Nodes

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")


@dataclass(frozen=True, slots=True)
class QuerySeeds:
    weights: dict[int, float]  # node -> teleport weight
    about_tests: bool  # the question is about tests: test code may fill the map too


@dataclass(frozen=True, slots=True)
class NodeNames:
    """Lookups from what a user types to graph nodes; built once per map. A closure's names
    lead to its function's node (graph/refgraph.py folds one into the other)."""

    by_path: dict[str, list[int]]  # file -> its nodes (definitions and module-level code)
    by_qualname: dict[str, list[int]]
    by_name: dict[str, list[tuple[str, int]]]  # bare name -> (qualname, node) of each definition
    by_lower_name: dict[str, list[int]]


def node_names(definitions: Sequence[Definition], nodes: Nodes,
               lowercase: bool = False) -> NodeNames:
    """`definitions` are the CodeGraph's, in its order; `lowercase` also indexes bare
    names case-insensitively (for the words of a query)."""
    by_path: dict[str, list[int]] = {}
    for node, (path, _qualname) in enumerate(nodes.keys):
        by_path.setdefault(path, []).append(node)
    by_qualname: dict[str, list[int]] = {}
    by_name: dict[str, list[tuple[str, int]]] = {}
    by_lower: dict[str, list[int]] = {}
    for d, node in zip(definitions, nodes.of_definition):
        by_qualname.setdefault(d.qualname, []).append(node)
        by_name.setdefault(d.name, []).append((d.qualname, node))
        if lowercase:
            by_lower.setdefault(d.name.lower(), []).append(node)
    return NodeNames(by_path, by_qualname, by_name, by_lower)


def focus_seeds(items: Iterable[str], names: NodeNames) -> dict[int, float]:
    """Teleport weights for `--focus` items; an item naming nothing is a usage error."""
    weights: dict[int, float] = {}
    for item in items:
        text = item.strip()
        if not text:
            raise UsageError("empty --focus",
                             hint="give a path (src/pkg/, src/pkg/mod.py) or a symbol")
        nodes = paths_named(text, names) or symbols_named(text, names)
        if not nodes:
            raise SymbolNotFoundError(
                f"--focus {text!r} names no file, directory or definition in this index",
                hint="give a repo-relative path (src/pkg/ or src/pkg/mod.py) or a symbol "
                     "(pkg.mod.Class.method, Class.method, name); `codesift graph defs NAME` "
                     "lists definitions")
        _share(weights, nodes)
    return weights


def query_seeds(query: str, names: NodeNames, max_chars: int = MAX_QUERY_CHARS) -> QuerySeeds:
    """Teleport weights for the identifiers, file names and words of a question."""
    if not query.strip():
        raise BadQueryError("empty --query", hint='leave it out, or name what to center on: '
                            '--query "how are retries scheduled?"')
    q = analyse(query, max_chars=max_chars)
    weights: dict[int, float] = {}
    for ident in q.identifiers:
        _share(weights, symbols_named(ident, names))
    for path in q.paths:
        _share(weights, paths_named(path, names))
    named = {i.lower() for i in q.identifiers}
    for word in dict.fromkeys(_WORD.findall(q.text)):
        low = word.lower()
        if low not in STOPWORDS and low not in named:
            _share(weights, names.by_lower_name.get(low, []))
    return QuerySeeds(weights, q.about_tests)


def paths_named(text: str, names: NodeNames) -> list[int]:
    """A file (`src/pkg/mod.py`), a directory prefix (`src/pkg/`) or, failing both, the
    files whose path ends with it (`mod.py`, `pkg/mod.py`)."""
    path = text.removeprefix("./").rstrip("/")
    if path in ("", "."):
        return sorted(n for nodes in names.by_path.values() for n in nodes)
    if path in names.by_path:
        return list(names.by_path[path])
    return (_files_where(names, lambda p: p.startswith(path + "/"))
            or _files_where(names, lambda p: p.endswith("/" + path)))


def symbols_named(text: str, names: NodeNames) -> list[int]:
    """A qualified name, a qualified suffix (`Class.method`) or a bare name."""
    text = text.strip().removesuffix("()")
    exact = names.by_qualname.get(text)
    if exact:
        return list(exact)
    last = re.split(r"\.|::|#|\\", text)[-1]
    candidates = names.by_name.get(last, [])
    return [node for qualname, node in candidates
            if last == text or _ends_with_member(qualname, text)]


def _ends_with_member(qualname: str, suffix: str) -> bool:
    """`Router.dispatch` ends `app.router.Router.dispatch`, not `app.MyRouter.dispatch`."""
    if len(qualname) <= len(suffix) or not qualname.endswith(suffix):
        return False
    before = qualname[-len(suffix) - 1]
    return not before.isalnum() and before != "_"


def repo_relative(root: Path, item: str) -> str:
    """A path given as absolute, inside the repository, as the index names it (repo-relative,
    posix); anything else unchanged."""
    path = Path(item)
    if path.is_absolute() and path.resolve().is_relative_to(root):
        return path.resolve().relative_to(root).as_posix()
    return item


def _files_where(names: NodeNames, keep: Callable[[str], bool]) -> list[int]:
    return [n for path in sorted(names.by_path) if keep(path) for n in names.by_path[path]]


def _share(weights: dict[int, float], nodes: Sequence[int]) -> None:
    for node in nodes:
        weights[node] = weights.get(node, 0.0) + 1.0 / len(nodes)
