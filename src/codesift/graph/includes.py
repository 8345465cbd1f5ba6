"""The C and C++ include graph of a whole resolution pass, read once, for pruning
include walks.

A bare name a C file uses and does not define is looked for through its includes, depth
first, up to imports.MAX_DEPTH levels (Imports.member). On Linux most such walks explore
every header within reach and find nothing, or find the name last: at 10M lines they were
90% of a graph pass (py-spy). Walking backwards from the few files that define a name
gives each file's distance to the nearest of them, and a walk then skips every module
that no definition is close enough to: the same answer, without the dead ends.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import numpy as np

from ..model import Reference
from .bindings import WILDCARD, module_files, parse_binding
from .imports import MAX_DEPTH

if TYPE_CHECKING:
    from .symtab import SymbolTable

C_LANGUAGES = frozenset({"c", "cpp"})
FAR = 127  # a distance past any walk's depth (int8)
# Distances are kept per set of defining files for a whole pass, up to this many bytes:
# Linux's popular headers (mmap_lock.h, mm.h) define hundreds of the names a batch walks.
MEMO_BYTES = 64 << 20


class IncludeGraph:
    """Who includes whom among the files of one SymbolTable, resolved as Imports does."""

    def __init__(self, table: SymbolTable, imports: Mapping[str, Iterable[Reference]]) -> None:
        """`imports`: every C/C++ file's import references (its includes)."""
        self.table = table
        self.ids = {path: i for i, path in enumerate(table.languages)}
        self.parents: list[list[int]] = [[] for _ in self.ids]
        # Files a walk may find any name in without defining it: a C file whose include
        # names an alias (never seen, but Imports would follow it), and every included
        # file that is not C (its own imports are not read here).
        open_: set[int] = set()
        resolved: dict[tuple[str, str], tuple[str, ...]] = {}
        for path, refs in imports.items():
            language, me = table.languages.get(path, ""), self.ids.get(path)
            if me is None:
                continue
            folder = path.rpartition("/")[0]
            children: set[str] = set()
            for ref in refs:
                b = parse_binding(language, ref.name, ref.line)
                if b.member != WILDCARD:
                    open_.add(me)
                    continue
                key = (folder, b.module)
                if key not in resolved:
                    resolved[key] = tuple(module_files(table, language, b.module, path))
                children.update(resolved[key])
            for child in children:
                self.parents[self.ids[child]].append(me)
                if table.languages.get(child) not in C_LANGUAGES:
                    open_.add(self.ids[child])
        self.near_open = self._backwards(open_)
        self._memo: OrderedDict[frozenset[str], np.ndarray] = OrderedDict()
        self._memo_max = max(16, MEMO_BYTES // max(1, len(self.ids)))

    def distances(self, name: str) -> np.ndarray:
        """For each file (by id), the includes between it and the nearest file defining
        `name` or open file, FAR past MAX_DEPTH."""
        defining = frozenset(d.path for d in self.table.by_name.get(name, ()))
        found = self._memo.get(defining)
        if found is None:
            found = np.minimum(self._backwards({self.ids[p] for p in defining if p in self.ids}),
                               self.near_open)
            self._memo[defining] = found
            if len(self._memo) > self._memo_max:
                self._memo.popitem(last=False)
        else:
            self._memo.move_to_end(defining)
        return found

    def _backwards(self, start: set[int]) -> np.ndarray:
        dist = np.full(len(self.ids), FAR, dtype=np.int8)
        dist[list(start)] = 0
        level, parents = start, self.parents
        for step in range(1, MAX_DEPTH + 1):
            nxt = set()
            for i in level:
                for parent in parents[i]:
                    if dist[parent] == FAR and parent not in nxt:
                        nxt.add(parent)
            if not nxt:
                break
            dist[list(nxt)] = step
            level = nxt
        return dist

    def may_find(self, paths: Iterable[str], steps: int, near: np.ndarray) -> bool:
        """Whether a walk of `steps` more includes from `paths` can find what `near` (the
        name's `distances`) is about."""
        if not paths:  # no file: a Python package may still have submodules
            return True
        for p in paths:
            i = self.ids.get(p)
            if i is None or self.table.languages[p] not in C_LANGUAGES or near[i] <= steps:
                return True
        return False
