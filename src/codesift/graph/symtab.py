"""Every definition of an index, looked up by bare name, qualified name, file, directory
and module while references are resolved into edges.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from ..ingest.parse_names import python_module

# Definitions a member lookup descends into, and that a bare call may construct.
CLASSLIKE = frozenset({"class", "struct", "interface", "trait", "enum", "impl", "union",
                       "record", "object", "type"})
CALLABLE = frozenset({"function", "method", "constructor", "macro"})
_MODULE_KINDS = frozenset({"module", "namespace", "package"})
MEMBER_SEPARATORS = (".", "::", "#", "\\")


@dataclass(frozen=True, slots=True)
class Def:
    """One definition as the resolver sees it."""

    path: str
    qualname: str
    name: str
    kind: str
    parent: str | None
    line: int
    language: str
    signature: str = ""


class SymbolTable:
    """Indexes over the definitions; built once per resolution run."""

    def __init__(self, defs: Iterable[Def], languages: dict[str, str]) -> None:
        self.languages = languages  # path -> language, every indexed file
        self.by_name: dict[str, list[Def]] = defaultdict(list)
        self.by_qualname: dict[str, list[Def]] = defaultdict(list)
        self.by_path: dict[str, list[Def]] = defaultdict(list)
        self.children: dict[str, list[Def]] = defaultdict(list)
        self._members: dict[tuple[str, str], list[Def]] = defaultdict(list)
        for d in defs:
            self.by_name[d.name].append(d)
            self.by_qualname[d.qualname].append(d)
            self.by_path[d.path].append(d)
            if d.parent:
                self.children[d.parent].append(d)
                self._members[(d.parent, d.name)].append(d)
        everything = [d for ds in self.by_path.values() for d in ds]
        # The first definition of a qualname in a file wins, as LazySymbolTable.in_file's.
        self._located = {(d.path, d.qualname): d for d in reversed(everything)}
        self._top: dict[tuple[str, str], list[Def]] = defaultdict(list)
        for d in everything:
            if self._is_top(d):
                self._top[(d.path, d.name)].append(d)
        self.modules = _module_index(languages, self.by_path)
        self.dirs: dict[str, list[str]] = defaultdict(list)
        for path in languages:
            self.dirs[str(PurePosixPath(path).parent)].append(path)
        self.basenames = basename_index(languages)

    def module_of(self, path: str) -> str:
        return self.modules.module_of.get(path, "")

    def files_of_module(self, module: str) -> list[str]:
        """Files of a module or package; for Python a module named by a dotted suffix
        (a tree laid out as Lib/json/decoder.py still answers `import json.decoder`)."""
        return self.modules.files.get(module) or self.modules.suffixes.get(module, [])

    def is_package(self, module: str) -> bool:
        """A Python package whose __init__ is empty or absent (namespace packages)."""
        return module in self.modules.packages

    def top_level(self, path: str, name: str) -> list[Def]:
        """Definitions named `name` at the top of a file (inside a namespace counts)."""
        return self._top.get((path, name), [])

    def _is_top(self, d: Def) -> bool:
        if d.parent is None:
            return True
        return any(p.kind in _MODULE_KINDS for p in self.by_qualname.get(d.parent, ()))

    def in_file(self, path: str, qualname: str) -> Def | None:
        return self._located.get((path, qualname))

    def children_named(self, parent: str, name: str) -> list[Def]:
        return self._members.get((parent, name), [])

    def members(self, owner: Def, name: str) -> list[Def]:
        """Members of a class-like definition named `name` (not searching its bases)."""
        found = list(self.children_named(owner.qualname, name))
        if found:
            return _prefer_path(found, owner.path)
        for sep in MEMBER_SEPARATORS:  # Rust impl blocks, Go receivers, Ruby `#`
            found.extend(self.by_qualname.get(f"{owner.qualname}{sep}{name}", ()))
        if owner.language == "go":
            pkg, _, typ = owner.qualname.rpartition(".")
            for form in (f"(*{typ}).{name}", f"({typ}).{name}"):
                found.extend(self.by_qualname.get(f"{pkg}.{form}" if pkg else form, ()))
        return _prefer_path(found, owner.path)


def basename_index(paths) -> dict[str, list[str]]:
    """File name -> the paths ending in it, in `paths`' order: an `#include <linux/list.h>`
    looked for among 31,000 files by a scan per include took a third of a graph pass
    (py-spy, Linux 10M)."""
    out: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        out[path.rpartition("/")[2]].append(path)
    return dict(out)


def _prefer_path(defs: list[Def], path: str) -> list[Def]:
    """Same-named qualnames in other files (JS has no module prefix) lose to the owner's file."""
    same = [d for d in defs if d.path == path]
    return same or defs


@dataclass(frozen=True, slots=True)
class _Modules:
    module_of: dict[str, str]  # path -> module / package name
    files: dict[str, list[str]]  # module name -> paths
    suffixes: dict[str, list[str]]  # Python: every proper dotted suffix of a module -> paths
    packages: frozenset[str]  # Python: every dotted prefix (and its suffixes) of a module


def _module_index(languages: dict[str, str], by_path: dict[str, list[Def]]) -> _Modules:
    module_of: dict[str, str] = {}
    files: dict[str, list[str]] = defaultdict(list)
    suffixes: dict[str, list[str]] = defaultdict(list)
    packages: set[str] = set()
    for path, language in languages.items():
        if language == "python":
            module = python_module(path)
            module_of[path] = module
            files[module].append(path)
            parts = module.split(".")
            for i in range(1, len(parts)):
                suffixes[".".join(parts[i:])].append(path)
                packages.update(".".join(parts[j:i]) for j in range(i))
            continue
        module = _declared_module(by_path.get(path, ()))
        if module:
            module_of[path] = module
            files[module].append(path)
    return _Modules(module_of, dict(files), dict(suffixes), frozenset(packages))


# Languages where a block `namespace X { ... }` is the file's package (C# and PHP files
# each hold one namespace; a C++ file may reopen several and keeps none).
_BLOCK_NAMESPACE_PACKAGES = frozenset({"csharp", "php"})


def _declared_module(defs: Iterable[Def]) -> str:
    """The package a file declares (Go, Java, C#...), read off a top-level qualname."""
    for d in defs:
        if d.parent is None and d.kind in _MODULE_KINDS:
            if d.language in _BLOCK_NAMESPACE_PACKAGES:
                return d.qualname
            continue
        if d.parent is None:
            for sep in (".", "::", "\\"):
                if d.qualname.endswith(sep + d.name):
                    return d.qualname[: -len(d.name) - len(sep)]
            return ""
    return ""
