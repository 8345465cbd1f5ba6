"""Resolve the references of a file to definitions: imports first, then lexical scope,
then the enclosing class and its bases, then the package, then the whole repository by name.

Each step that finds something stops the search and says how sure it is. A name that
several definitions could mean keeps all of them (confidence shared out); a reference no
step explains (builtins, other packages, dynamic dispatch) becomes an unresolved edge.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..model import Edge, Reference
from .bindings import WILDCARD, Binding, module_files, parse_binding, python_absolute
from .symtab import CALLABLE, CLASSLIKE, Def, SymbolTable

CERTAIN = 1.0  # lexical scope, an import, self.method, a base class member
PACKAGE = 0.9  # same package / directory (Go, Java, C#) or an implicit member
BY_NAME = 0.6  # the only definition of that name in the repository
RECEIVER_UNKNOWN = 0.4  # obj.method() where obj's type is unknown: methods of that name
MAX_CANDIDATES = 8  # more definitions than this for one name: left unresolved
MAX_DEPTH = 6  # re-export chains and base-class walks

_SPLIT = re.compile(r"\?\.|\.|::|->|#|\\")
_SELF = frozenset({"self", "this", "cls", "Self"})
_SUPER = {"php": frozenset({"parent"}), "csharp": frozenset({"base"})}
_SUPER_DEFAULT = frozenset({"super"})
# Languages where a bare name inside a class body may be a member of that class.
_IMPLICIT_MEMBERS = frozenset({"java", "csharp", "cpp", "ruby", "c"})
# Languages where files of one directory / namespace see each other without imports.
_PACKAGE_SCOPED = frozenset({"go", "java", "csharp", "rust", "c", "cpp", "ruby", "php"})
_EDGE_KIND = {"call": "calls", "import": "imports", "inherit": "inherits",
              "implement": "implements"}

RefsOf = Callable[[str], list[Reference]]


@dataclass(frozen=True, slots=True)
class Module:
    """An import target that is a whole module (its files), not one definition."""

    name: str
    paths: tuple[str, ...]


Target = Def | Module
Candidates = list[tuple[Target, float]]


class Resolver:
    """Resolves files' references against one SymbolTable; caches per run."""

    def __init__(self, table: SymbolTable, refs_of: RefsOf) -> None:
        self.table = table
        self.refs_of = refs_of
        self._bindings: dict[str, dict[str, Binding]] = {}
        self._wildcards: dict[str, list[Binding]] = {}
        self._bases: dict[tuple[str, str], Candidates] = {}
        self._modules: dict[tuple[str, str, str], tuple[str, ...]] = {}
        self._memo: dict[tuple, Candidates] = {}

    # -- entry point -------------------------------------------------------------------

    def resolve_file(self, path: str) -> list[Edge]:
        edges: list[Edge] = []
        for ref in self.refs_of(path):
            found = self.resolve(path, ref)
            kind = _EDGE_KIND.get(ref.kind, ref.kind)
            src = ref.scope or ""
            if not any(isinstance(t, Def) or t.paths for t, _ in found):
                edges.append(Edge(kind, path, src, ref.name, ref.line))
            for target, conf in found:
                if isinstance(target, Module) and not target.paths:
                    continue  # a package with no indexed file of its own
                dst_path, dst = _node(target)
                edges.append(Edge(kind, path, src, ref.name, ref.line, dst_path, dst,
                                  round(conf, 4)))
        return edges

    def resolve(self, path: str, ref: Reference) -> Candidates:
        # Test files repeat the same call (self.assertEqual) hundreds of times per scope.
        key = (path, ref.scope, ref.kind, ref.name)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = self._resolve(path, ref)
        return found

    def _resolve(self, path: str, ref: Reference) -> Candidates:
        if ref.kind == "import":
            binding = parse_binding(self._language(path), ref.name, ref.line)
            return self._binding_targets(path, binding, 0)
        parts = [p for p in _SPLIT.split(ref.name) if p]
        if not parts:
            return []
        if ref.kind in ("inherit", "implement"):
            return _only(self._dotted(path, ref.scope, parts, types_only=True), CLASSLIKE)
        return self._dotted(path, ref.scope, parts, types_only=False)

    # -- names -------------------------------------------------------------------------

    def _dotted(self, path: str, scope: str | None, parts: list[str], types_only: bool
                ) -> Candidates:
        head, rest = _clean(parts[0]), parts[1:]
        if head in _SELF or self._is_go_receiver(path, scope, head):
            owner = self._enclosing_class(path, scope)
            if not owner or not rest:
                return []
            # Attributes set in __init__ or mixins the class does not name: by method name.
            return self._descend([(owner, CERTAIN)], rest) or self._by_member_name(rest[-1])
        if head in _SUPER.get(self._language(path), _SUPER_DEFAULT):
            owner = self._enclosing_class(path, scope)
            bases = self.bases(owner) if owner else []
            return self._descend(bases, rest) if rest else _only(bases, CLASSLIKE)
        if "(" in head or "[" in head:  # f().g, a[0].h: the receiver's type is unknown
            return self._by_member_name(rest[-1]) if rest else []
        found = self._bare(path, scope, head, callable_only=not rest and not types_only)
        if not rest:
            return found
        return self._descend(found, rest) or self._by_member_name(rest[-1])

    def _bare(self, path: str, scope: str | None, name: str, callable_only: bool) -> Candidates:
        table, language = self.table, self._language(path)
        for enclosing in self._scope_chain(path, scope, language):
            found = [d for d in table.children_named(enclosing.qualname, name) if d.path == path]
            if found:
                return _spread(found, CERTAIN)
        found = table.top_level(path, name)
        if found:
            return _spread(found, CERTAIN)
        binding = self._file_bindings(path).get(name)
        if binding is not None:
            return self._binding_targets(path, binding, 0)
        for wild in self._file_wildcards(path):
            module = self._module(path, wild.module)
            found = self._module_member(module, name, 0) if module else []
            if found:
                return found
        if language in _PACKAGE_SCOPED:
            found = self._package_member(path, name, language)
            if found:
                return _spread(found, PACKAGE)
        return self._by_name(name, callable_only)

    def _scope_chain(self, path: str, scope: str | None, language: str):
        """Enclosing definitions, innermost first; class bodies only where bare names
        reach members (not in Python or JS, where a method must say self./this.)."""
        seen = 0
        while scope and seen < 32:
            d = self.table.in_file(path, scope)
            if d is None:
                return
            if d.kind not in CLASSLIKE or language in _IMPLICIT_MEMBERS:
                yield d
            scope, seen = d.parent, seen + 1

    def _package_member(self, path: str, name: str, language: str) -> list[Def]:
        table = self.table
        if language == "go":
            peers = table.dirs.get(path.rpartition("/")[0] or ".", ())
        else:
            module = table.module_of(path)
            peers = table.files_of_module(module) if module else ()
        return [d for p in peers if p != path for d in table.top_level(p, name)]

    @functools.lru_cache(maxsize=None)  # noqa: B019 - one Resolver per run
    def _by_name(self, name: str, callable_only: bool) -> Candidates:
        defs = [d for d in self.table.by_name.get(name, ())
                if d.kind in CLASSLIKE or (d.kind in CALLABLE and d.kind != "method")
                or not callable_only]
        if not defs or len(defs) > MAX_CANDIDATES:
            return []
        return _spread(defs, BY_NAME)

    @functools.lru_cache(maxsize=None)  # noqa: B019 - one Resolver per run
    def _by_member_name(self, name: str) -> Candidates:
        methods = [d for d in self.table.by_name.get(_clean(name), ()) if d.kind == "method"]
        if not methods or len(methods) > MAX_CANDIDATES:
            return []
        return _spread(methods, RECEIVER_UNKNOWN)

    # -- members and bases ---------------------------------------------------------------

    def _descend(self, found: Candidates, rest: list[str]) -> Candidates:
        for part in rest:
            part = _clean(part)
            step: Candidates = []
            for target, conf in found:
                if isinstance(target, Module):
                    step.extend(self._module_member(target, part, 0, conf))
                elif target.kind in CLASSLIKE:
                    step.extend((d, conf) for d in self.member(target, part))
            if not step:
                return []
            found = step
        return found

    def member(self, owner: Def, name: str, depth: int = 0) -> list[Def]:
        """A member of a class, or else of the nearest base class that has it."""
        found = self.table.members(owner, name)
        if found or depth >= MAX_DEPTH:
            return found
        for base, _ in self.bases(owner):
            if isinstance(base, Def) and base.qualname != owner.qualname:
                found = self.member(base, name, depth + 1)
                if found:
                    return found
        return []

    def bases(self, owner: Def) -> Candidates:
        key = (owner.path, owner.qualname)
        if key not in self._bases:
            self._bases[key] = []  # a cycle (class A(B), class B(A)) ends here
            refs = self._base_refs(owner.path).get(owner.qualname, [])
            self._bases[key] = [c for r in refs for c in self.resolve(owner.path, r)]
        return self._bases[key]

    @functools.lru_cache(maxsize=None)  # noqa: B019 - one Resolver per run
    def _base_refs(self, path: str) -> dict[str, list[Reference]]:
        out: dict[str, list[Reference]] = {}
        for r in self.refs_of(path):
            if r.kind in ("inherit", "implement") and r.scope:
                out.setdefault(r.scope, []).append(r)
        return out

    def _enclosing_class(self, path: str, scope: str | None) -> Def | None:
        seen = 0
        while scope and seen < 32:
            d = self.table.in_file(path, scope)
            if d is None:  # Go methods and C++ out-of-line methods name an owner elsewhere
                owners = self.table.by_qualname.get(scope, ())
                return next((o for o in owners if o.kind in CLASSLIKE), None)
            if d.kind in CLASSLIKE:
                return d
            scope, seen = d.parent, seen + 1
        return None

    def _is_go_receiver(self, path: str, scope: str | None, head: str) -> bool:
        if not scope or self._language(path) != "go":
            return False
        d = self.table.in_file(path, scope)
        return d is not None and d.kind == "method" and head in self._receiver_names(d)

    def _receiver_names(self, d: Def) -> tuple[str, ...]:
        m = re.match(r"func\s*\(\s*(\w+)", d.signature)
        return (m.group(1),) if m else ()

    # -- imports -----------------------------------------------------------------------

    def _binding_targets(self, path: str, b: Binding, depth: int) -> Candidates:
        if self._language(path) in ("java", "csharp", "php") and b.member not in (None, WILDCARD):
            sep = "\\" if self._language(path) == "php" else "."
            exact = self.table.by_qualname.get(f"{b.module}{sep}{b.member}", ())
            if exact:
                return _spread(list(exact), CERTAIN)
        module = self._module(path, b.module)
        if module is None:
            return []
        if b.member is None or b.member == WILDCARD:
            return [(module, CERTAIN)]
        return self._module_member(module, b.member, depth)

    def _module(self, path: str, spec: str) -> Module | None:
        paths = self._module_paths(path, spec)
        if self._language(path) != "python":
            return Module(spec, paths) if paths else None
        name = python_absolute(self.table, spec, path)
        if paths:
            return Module(self.table.module_of(paths[0]), paths)
        return Module(name, ()) if self.table.is_package(name) else None

    def _module_member(self, module: Module, name: str, depth: int,
                       conf: float = CERTAIN) -> Candidates:
        """`name` as seen from outside a module: its definition, a submodule, or a re-export."""
        table, paths = self.table, module.paths
        found = [d for p in paths for d in table.top_level(p, name)]
        if found:
            return _spread(found, conf)
        if depth >= MAX_DEPTH:
            return []
        sub = f"{module.name}.{name}"
        if table.files_of_module(sub) and (not paths or self._language(paths[0]) == "python"):
            return [(Module(sub, tuple(table.files_of_module(sub))), conf)]
        if not paths and table.is_package(sub):
            return [(Module(sub, ()), conf)]
        for p in paths:  # re-exports: `from .x import name` in a package, `export * from`
            binding = self._file_bindings(p).get(name)
            if binding is not None:
                return self._binding_targets(p, binding, depth + 1)
            for wild in self._file_wildcards(p):
                inner = self._module(p, wild.module)
                found = self._module_member(inner, name, depth + 1) if inner else []
                if found:
                    return found
        return []

    def _module_paths(self, path: str, spec: str) -> tuple[str, ...]:
        language = self._language(path)
        key = (language, spec, path if spec.startswith(".") or language == "python" else "")
        if key not in self._modules:
            self._modules[key] = tuple(module_files(self.table, language, spec, path))
        return self._modules[key]

    def _file_bindings(self, path: str) -> dict[str, Binding]:
        if path not in self._bindings:
            language = self._language(path)
            found = [parse_binding(language, r.name, r.line)
                     for r in self.refs_of(path) if r.kind == "import"]
            self._bindings[path] = {b.alias: b for b in found if b.alias}
            self._wildcards[path] = [b for b in found if b.member == WILDCARD]
        return self._bindings[path]

    def _file_wildcards(self, path: str) -> list[Binding]:
        self._file_bindings(path)
        return self._wildcards[path]

    def _language(self, path: str) -> str:
        return self.table.languages.get(path, "")


def _clean(part: str) -> str:
    return part.split("(", 1)[0].split("<", 1)[0].lstrip("@$*&").strip() or part


def _spread(defs: list[Def], conf: float) -> Candidates:
    """Several candidates for one name share the confidence: none is picked at random."""
    unique = list(dict.fromkeys(defs))
    return [(d, conf / len(unique)) for d in unique]


def _only(found: Candidates, kinds: frozenset[str]) -> Candidates:
    return [(t, c) for t, c in found if isinstance(t, Module) or t.kind in kinds]


def _node(target: Target) -> tuple[str, str]:
    if isinstance(target, Module):
        return target.paths[0], ""
    return target.path, target.qualname


def bare_name(kind: str, name: str) -> str:
    """The name a definition must have to satisfy a reference (kept with each edge)."""
    if kind == "imports":
        target = name.partition(" as ")[0]
        target = target.rsplit(":", 1)[-1] if ":" in target else target
        parts = [p for p in re.split(r"[./\\:]+", target) if p and p != "*"]
        return parts[-1] if parts else target
    parts = [p for p in _SPLIT.split(name) if p]
    return _clean(parts[-1]) if parts else name
