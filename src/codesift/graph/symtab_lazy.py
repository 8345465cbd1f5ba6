"""A SymbolTable that reads definitions from the store on demand, for incremental passes:
re-resolving one edited file must not load every definition of a large repository.
"""

from __future__ import annotations

from collections.abc import Callable

from ..ingest.parse_names import python_module
from .symtab import Def, SymbolTable, _declared_module, _module_index, basename_index


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
        self._modules = None
        self._tops: dict[str, dict[str, list[Def]]] = {}
        self.dirs = {}
        for path in languages:
            self.dirs.setdefault(path.rpartition("/")[0] or ".", []).append(path)
        self.basenames = basename_index(languages)

    @property
    def modules(self):
        """Read when first asked: it takes a query per file that is not Python (1.3 s of a
        one-file edit on Linux's 31,000 files); module_of alone does not need it."""
        if self._modules is None:
            self._modules = _module_index(self.languages, self.by_path)
        return self._modules

    def module_of(self, path: str) -> str:
        if self._modules is not None:
            return self._modules.module_of.get(path, "")
        if self.languages.get(path) == "python":
            return python_module(path)
        return _declared_module(self.by_path.get(path, ()))

    def top_level(self, path: str, name: str) -> list[Def]:
        tops = self._tops.get(path)
        if tops is None:  # an include walk asks a header for hundreds of names
            tops = self._tops[path] = {}
            for d in self.by_path.get(path, ()):
                if self._is_top(d):
                    tops.setdefault(d.name, []).append(d)
        return tops.get(name, [])

    def children_named(self, parent: str, name: str) -> list[Def]:
        return [d for d in self.by_name.get(name, ()) if d.parent == parent]

    def in_file(self, path: str, qualname: str) -> Def | None:
        return next((d for d in self.by_path.get(path, ()) if d.qualname == qualname), None)
