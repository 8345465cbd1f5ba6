"""Keep the edges table in step with the index: a full resolution pass on a new or
outdated graph, otherwise only the files a change can re-target.
"""

# A file's edges are re-resolved when the file changed, when one of its edges points at a
# definition that a changed or deleted file no longer has, or when a changed file now
# defines a name it did not define before and one of the file's references uses that
# name (the `bare` column). Editing a body re-resolves only the edited file. A name that
# merely gains one more definition elsewhere does not re-resolve its users (their
# shared-out confidence is then slightly stale until they change): otherwise editing any
# file that defines `__init__` or `get` would re-resolve most of a repository. Edges are derived data: a run killed midway
# leaves the graph marked stale and the next run resolves everything again.

from __future__ import annotations

import time
from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass
from pathlib import PurePosixPath

from ..model import Edge
from ..store.sqlite_graph import GraphTables
from .includes import C_LANGUAGES, IncludeGraph
from .resolve import Resolver, bare_name
from .symtab import SymbolTable
from .symtab_lazy import LazySymbolTable

GRAPH_VERSION = "4"  # bump when resolution rules change: graphs are redone
BATCH = 256
LAZY_MAX_FILES = 64
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class GraphSummary:
    files_resolved: int
    edges: int
    unresolved: int
    seconds: float
    full: bool


def update_graph(store, changed: Sequence[str], deleted: Sequence[str],
                 before: Set[tuple[str, str, str]] = frozenset(),
                 progress: Progress | None = None) -> GraphSummary:
    """Bring the edges up to date after `changed` files were written and `deleted` removed;
    `before` holds the (path, qualname, name) those files defined before the write."""
    started = time.perf_counter()
    tables = GraphTables(store.db)
    full = store.get_meta("graph_version") != GRAPH_VERSION
    if not full and not changed and not deleted:
        return GraphSummary(0, 0, 0, 0.0, False)  # a no-op `codesift index` reads nothing
    languages = tables.languages()
    if full:
        targets = sorted(languages)
    else:
        targets = sorted(_affected(tables, changed, before) & set(languages))
    with store.transaction():
        store.set_meta("graph_version", "stale")
        if full:
            tables.clear()
    table = _symbol_table(tables, languages, full, len(targets))
    includes = _include_graph(tables, table)
    n_edges = n_unresolved = 0
    for start in range(0, len(targets), BATCH):
        part = targets[start:start + BATCH]
        # A fresh resolver per batch: its memos, most keyed by the file resolved, would
        # otherwise grow with the repository (a full pass over 3.9M lines of Linux's C:
        # peak RSS 699 MB in 59 s with one resolver, 430 MB in 38 s with one per batch).
        # The batch's references are read in one query, another file's (an included
        # header's) when asked: never the whole repository's at once.
        resolver = Resolver(table, _BatchRefs(tables, part), includes)
        resolved = [(path, resolver.resolve_file(path)) for path in part]
        with store.transaction():
            for path, edges in resolved:
                tables.replace_edges(path, edges, _bare, fresh=full)
                n_edges += len(edges)
                n_unresolved += sum(e.dst_path is None for e in edges)
        if progress:
            progress("graph", min(start + BATCH, len(targets)), len(targets))
    with store.transaction():
        tables.restore_indexes()  # also after a full pass that a kill interrupted
        store.set_meta("graph_version", GRAPH_VERSION)
    return GraphSummary(len(targets), n_edges, n_unresolved,
                        time.perf_counter() - started, full)


class _BatchRefs:
    """A file's references: the batch's from one read, any other file's on request."""

    def __init__(self, tables: GraphTables, paths: Sequence[str]) -> None:
        self.tables = tables
        self.batch = tables.refs_in(paths)

    def __call__(self, path: str) -> list:
        found = self.batch.get(path)
        return found if found is not None else self.tables.refs_of(path)


def _symbol_table(tables: GraphTables, languages: dict[str, str], full: bool,
                  n_targets: int) -> SymbolTable:
    """Every definition in memory for a big pass; on-demand lookups for a small one (an
    edit re-resolves a file or two and must not load a large repository's definitions)."""
    if full or n_targets > LAZY_MAX_FILES:
        return SymbolTable(tables.defs(), languages)
    return LazySymbolTable(tables, languages)


def _include_graph(tables: GraphTables, table: SymbolTable) -> IncludeGraph | None:
    """The whole tree's C include graph, for a pass that holds every definition (a small
    pass walks the few includes its files have)."""
    if isinstance(table, LazySymbolTable):
        return None
    if not any(lang in C_LANGUAGES for lang in table.languages.values()):
        return None
    return IncludeGraph(table, tables.imports_in_languages(sorted(C_LANGUAGES)))


def _affected(tables: GraphTables, changed: Sequence[str],
              before: Set[tuple[str, str, str]]) -> set[str]:
    after = tables.definitions_in(changed)
    gone = {(p, q) for p, q, _ in before} - {(p, q) for p, q, _ in after}
    new_names = {n for _, _, n in after} - {n for _, _, n in before}
    new_files = set(changed) - {p for p, _, _ in before}
    return (set(changed) | tables.sources_pointing_at(gone)
            | tables.sources_using(new_names | _module_names(new_files)))


def _bare(edge: Edge) -> str:
    return bare_name(edge.kind, edge.name)


def _module_names(paths: Sequence[str]) -> set[str]:
    """A new file can satisfy an import of its module or file name."""
    return {PurePosixPath(p).stem for p in paths} | {PurePosixPath(p).parent.name for p in paths}
