"""What a file's imports bind and what a module shows from outside: its definitions, its
submodules and what it re-exports. The import half of resolve.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..model import Reference
from .bindings import (WILDCARD, Binding, module_files, parse_binding, python_absolute,
                       rust_submodule)
from .candidates import CERTAIN, Candidates, Module, spread
from .symtab import SymbolTable

if TYPE_CHECKING:
    from .includes import IncludeGraph

MAX_DEPTH = 6  # re-export chains


class Imports:
    """Import lookups over one SymbolTable; caches per resolution run."""

    def __init__(self, table: SymbolTable, refs_of: Callable[[str], list[Reference]],
                 includes: IncludeGraph | None = None) -> None:
        self.table = table
        self.refs_of = refs_of
        self.includes = includes  # prunes C include walks (graph/includes.py)
        self._near: dict[str, np.ndarray] = {}
        self._bindings: dict[str, dict[str, list[Binding]]] = {}
        self._wildcards: dict[str, list[Binding]] = {}
        self._modules: dict[tuple[str, str, str], tuple[str, ...]] = {}
        self._members: dict[tuple[Module, str, int], Candidates] = {}

    def bound(self, path: str, name: str, depth: int = 0) -> Candidates | None:
        """What the imports of a file bind `name` to (None: no import binds it). A name
        bound twice (`try: import json` / `except: import simplejson as json`, or os.py's
        `path` bound to posixpath or ntpath) keeps both, sharing the confidence."""
        bindings = self.bindings(path).get(name)
        if bindings is None:
            return None
        if len(bindings) == 1:
            return self.targets(path, bindings[0], depth)
        found = [f for b in bindings if (f := self.targets(path, b, depth))]
        return [(t, c / len(found)) for f in found for t, c in f]

    def targets(self, path: str, b: Binding, depth: int = 0) -> Candidates:
        """What one binding of a file names: a definition, or a whole module."""
        language = self.table.languages.get(path, "")
        if language in ("java", "csharp", "php") and b.member not in (None, WILDCARD):
            sep = "\\" if language == "php" else "."
            exact = self.table.by_qualname.get(f"{b.module}{sep}{b.member}", ())
            if exact:
                return spread(list(exact), CERTAIN)
        module = self.module(path, b.module)
        if module is None:
            return []
        if b.member is None or b.member == WILDCARD:
            return [(module, CERTAIN)]
        return self.member(module, b.member, depth)

    def module(self, path: str, spec: str) -> Module | None:
        """The module `spec` names when imported from `path` (None: not in the index)."""
        paths = self._module_paths(path, spec)
        if self.table.languages.get(path) != "python":
            return Module(spec, paths) if paths else None
        if paths:
            return Module(self.table.module_of(paths[0]), paths)
        name = python_absolute(self.table, spec, path)
        return Module(name, ()) if self.table.is_package(name) else None

    def member(self, module: Module, name: str, depth: int = 0,
               conf: float = CERTAIN) -> Candidates:
        """`name` as seen from outside a module: its definition, a submodule, or a re-export.

        Remembered per (module, name, depth) for the life of this object: a C# namespace is a
        module of hundreds of files, each with its own `using`s, and looking a missing name
        up through them again for every reference took minutes (npgsql) where once is enough.
        A result scales with `conf`, so it is kept at full confidence."""
        key = (module, name, depth)
        if key not in self._members:
            self._members[key] = self._member(module, name, depth)
        found = self._members[key]
        return found if conf == CERTAIN else [(t, c * conf) for t, c in found]

    def _member(self, module: Module, name: str, depth: int, conf: float = CERTAIN) -> Candidates:
        table, paths = self.table, module.paths
        if self.includes is not None and not self._may_find(paths, name, MAX_DEPTH - depth):
            return []  # no definition of `name` within the includes left: a dead end
        found = [d for p in paths for d in table.top_level(p, name)]
        if not found and name == "default":  # JS `export default class X {}`
            found = [d for p in paths for d in table.by_path.get(p, ())
                     if d.parent is None and d.signature.startswith("export default")]
        if found:
            return spread(found, conf)
        if depth >= MAX_DEPTH:
            return []
        sub = self._submodule(module, name)
        if sub is not None:
            return [(sub, conf)]
        for p in paths:  # re-exports: `from .x import name` in a package, `export * from`
            found = self.bound(p, name, depth + 1)
            if found is not None:
                return [(t, c * conf) for t, c in found]
            for wild in self.wildcards(p):
                inner = self.module(p, wild.module)
                found = self.member(inner, name, depth + 1, conf) if inner else []
                if found:
                    return found
        return []

    def _may_find(self, paths: tuple[str, ...], name: str, steps: int) -> bool:
        if name not in self._near:
            self._near[name] = self.includes.distances(name)
        return self.includes.may_find(paths, steps, self._near[name])

    def bindings(self, path: str) -> dict[str, list[Binding]]:
        """The names a file's imports bind, each to one binding or more."""
        if path not in self._bindings:
            language = self.table.languages.get(path, "")
            found = [parse_binding(language, r.name, r.line)
                     for r in self.refs_of(path) if r.kind == "import"]
            bound: dict[str, list[Binding]] = {}
            seen: set[tuple[str, str, str | None]] = set()
            for b in found:  # the same import repeated in several functions binds once
                if b.alias and (b.alias, b.module, b.member) not in seen:
                    seen.add((b.alias, b.module, b.member))
                    bound.setdefault(b.alias, []).append(b)
            self._bindings[path] = bound
            self._wildcards[path] = [b for b in found if b.member == WILDCARD]
        return self._bindings[path]

    def wildcards(self, path: str) -> list[Binding]:
        """A file's imports of every name of a module: `import *`, includes, `using N;`."""
        self.bindings(path)
        return self._wildcards[path]

    def _submodule(self, module: Module, name: str) -> Module | None:
        """Python's package.module and Rust's `mod name;`, as a member of their parent."""
        table, paths = self.table, module.paths
        language = table.languages.get(paths[0], "") if paths else "python"
        if language == "python":
            sub = f"{module.name}.{name}"
            files = table.files_of_module(sub)
            if files:
                return Module(sub, tuple(files))
            return Module(sub, ()) if table.is_package(sub) else None  # no __init__.py
        if language == "rust":
            file = rust_submodule(table, paths[0], name)
            return Module(f"{module.name}::{name}", (file,)) if file else None
        return None

    def _module_paths(self, path: str, spec: str) -> tuple[str, ...]:
        language = self.table.languages.get(path, "")
        key = (language, spec, _spec_context(language, spec, path))
        if key not in self._modules:
            self._modules[key] = tuple(module_files(self.table, language, spec, path))
        return self._modules[key]


def _spec_context(language: str, spec: str, path: str) -> str:
    """What else a module spec's meaning depends on: the importing file for Python and
    Rust (relative to the module), its folder for path-like specs, nothing for packages."""
    if language in ("python", "rust") or not spec:
        return path
    if language in ("go", "java", "csharp", "php"):
        return ""
    return path.rpartition("/")[0]
