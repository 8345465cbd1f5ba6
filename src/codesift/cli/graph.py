"""`codesift graph ...`: callers, callees, path, refs, defs, subclasses, implementations.

A SYMBOL is a qualified name (pkg.mod.Class.method), a name suffix (Class.method), a bare
name (every definition of it is used, and listed), or path:line.
"""

from __future__ import annotations

from collections.abc import Callable

import click

from .common import emit_json, friendly_errors, index_dir_option, repo_option
from ..graph.query import DEFAULT_MIN_CONFIDENCE

depth_option = click.option("--depth", type=int, default=1, show_default=True,
                            help="How many hops to follow (1-10).")
confidence_option = click.option(
    "--min-confidence", type=float, default=DEFAULT_MIN_CONFIDENCE, show_default=True,
    help="Leave out edges resolved less surely than this (1.0 = certain, 0 = every guess).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


@click.group("graph")
def graph_group() -> None:
    """Structural questions: who calls what, call paths, uses, definitions, subclasses."""


def _run(repo, index_dir, query: Callable, title: str, symbol: str, as_json: bool) -> None:
    from ..api import open_index
    from ..render import print_graph_hits

    with open_index(repo, index_dir=index_dir) as idx:
        graph = idx.graph()
        roots = graph.find(symbol)
        hits = query(graph, roots)
    if as_json:
        return emit_json({"query": title, "symbol": symbol,
                          "roots": [r.to_dict() for r in roots],
                          "results": [h.to_dict() for h in hits]})
    print_graph_hits(title, roots, hits)


def _traversal(name: str, method: str, summary: str, with_depth: bool = True):
    """One `graph NAME SYMBOL` command calling GraphQueries.<method>."""
    @click.argument("symbol")
    @repo_option
    @index_dir_option
    @confidence_option
    @json_option
    @friendly_errors
    def command(symbol, repo, index_dir, min_confidence, as_json, depth=1):
        extra = {"depth": depth} if with_depth else {}
        _run(repo, index_dir, lambda g, roots: getattr(g, method)(
            roots, min_confidence=min_confidence, **extra), name, symbol, as_json)

    command.__doc__ = summary
    if with_depth:
        command = depth_option(command)
    return graph_group.command(name)(command)


_traversal("callers", "callers", "Who calls SYMBOL (with --depth, their callers too).")
_traversal("callees", "callees", "What SYMBOL calls (with --depth, what those call).")
_traversal("refs", "references", "Every recorded use of SYMBOL: calls, imports, base lists, type uses.",
           with_depth=False)
_traversal("members", "members", "What SYMBOL contains: a class's methods, a module's classes.",
           with_depth=False)
_traversal("subclasses", "subclasses", "Classes that extend or implement SYMBOL.")
_traversal("implementations", "implementations",
           "Implementations of an interface / base class, or overrides of a method.",
           with_depth=False)


@graph_group.command("path")
@click.argument("source")
@click.argument("target")
@repo_option
@index_dir_option
@click.option("--max-depth", type=int, default=6, show_default=True,
              help="Longest call chain to look for (1-10).")
@confidence_option
@json_option
@friendly_errors
def path_cmd(source, target, repo, index_dir, max_depth, min_confidence, as_json):
    """The shortest call path from SOURCE to TARGET."""
    from ..api import open_index
    from ..render import print_graph_path

    with open_index(repo, index_dir=index_dir) as idx:
        graph = idx.graph()
        sources, targets = graph.find(source), graph.find(target)
        hits = graph.path(sources, targets, max_depth=max_depth, min_confidence=min_confidence)
    if as_json:
        return emit_json({"query": "path", "source": source, "target": target,
                          "results": [h.to_dict() for h in hits]})
    print_graph_path(source, target, hits, max_depth)


@graph_group.command("defs")
@click.argument("name")
@repo_option
@index_dir_option
@json_option
@friendly_errors
def defs_cmd(name, repo, index_dir, as_json):
    """Every definition of NAME, with its qualified name."""
    from ..api import open_index
    from ..render import print_graph_nodes

    with open_index(repo, index_dir=index_dir) as idx:
        nodes = idx.graph().find(name)
    if as_json:
        return emit_json([n.to_dict() for n in nodes])
    print_graph_nodes(nodes)
