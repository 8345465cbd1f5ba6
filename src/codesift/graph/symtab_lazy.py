"""A SymbolTable that reads definitions from the store on demand, for incremental passes:
re-resolving one edited file must not load every definition of a large repository.
"""

from __future__ import annotations

from collections.abc import Callable

from .symtab import Def, SymbolTable, _module_index, basename_index


class _ReadThrough:
    """A cache over one store lookup, answering the `dict.get` the resolver uses."""

    def __init__(self, load: Callable[[str], list[Def]]) -> None:
        self._load = load
        self._cache: dict[str, list[Def]] = {}

    def get(self, key: str, default=None):
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._load(key)
        return found if found or default is None else default


class LazySymbolTable(SymbolTable):
    """Same answers as SymbolTable, each looked up by an indexed query when first asked."""

    def __init__(self, source, languages: dict[str, str]) -> None:  # noqa: super not called
        # source: GraphTables (defs_named, defs_qualified, defs_in_path)
        self.languages = languages
        self.by_name = _ReadThrough(source.defs_named)
        self.by_qualname = _ReadThrough(source.defs_qualified)
        self.by_path = _ReadThrough(source.defs_in_path)
        self.modules = _module_index(languages, self.by_path)
        self.dirs = {}
        for path in languages:
            self.dirs.setdefault(path.rpartition("/")[0] or ".", []).append(path)
        self.basenames = basename_index(languages)

    def top_level(self, path: str, name: str) -> list[Def]:
        return [d for d in self.by_path.get(path, ()) if d.name == name and self._is_top(d)]

    def children_named(self, parent: str, name: str) -> list[Def]:
        return [d for d in self.by_name.get(name, ()) if d.parent == parent]

    def in_file(self, path: str, qualname: str) -> Def | None:
        return next((d for d in self.by_path.get(path, ()) if d.qualname == qualname), None)
