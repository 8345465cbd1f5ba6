"""Resolve the references of a file to definitions: lexical scope first (nested functions,
members of the enclosing class and namespace), then the file, its imports, the package,
and the whole repository by name.

Each step that finds something stops the search and says how sure it is. A name that
several definitions could mean keeps all of them (confidence shared out); a reference no
step explains (builtins, other packages, dynamic dispatch) becomes an unresolved edge.
"""

from __future__ import annotations

import builtins
import functools
import re
from collections.abc import Callable

from ..model import Edge, Reference
from .bindings import import_target, parse_binding, rust_submodule
from .candidates import (BY_NAME, CERTAIN, PACKAGE, RECEIVER_UNKNOWN, Candidates, Module,
                         Target, merge, node, only, spread)
from .imports import MAX_DEPTH as IMPORT_DEPTH
from .imports import Imports
from .includes import IncludeGraph
from .symtab import CALLABLE, CLASSLIKE, Def, SymbolTable

MAX_CANDIDATES = 8  # more definitions than this for one name: left unresolved
MAX_DEPTH = 6  # base-class walks
MAX_INCLUDED = 512  # files a C/C++ file's include closure is followed to
REACH_MAX = 20_000  # files an include walk's reach is listed to (past it: walk anyway)

_SPLIT = re.compile(r"\?\.|\.|::|->|#|\\")
_SELF = frozenset({"self", "this", "cls", "Self", "static"})  # `static::` is PHP's
_SUPER = {"php": frozenset({"parent"}), "csharp": frozenset({"base"})}
_SUPER_DEFAULT = frozenset({"super"})
_NAMESPACES = frozenset({"module", "namespace", "package"})
_BASE_KINDS = CLASSLIKE | {"module"}  # Ruby mixes modules in with `include`
# Languages where a bare name inside a class body may be a member of that class.
_IMPLICIT_MEMBERS = frozenset({"java", "csharp", "cpp", "ruby", "c"})
# Languages whose namespaces are open: every file may add to `namespace util`, and code
# inside a namespace sees its members without an import.
_OPEN_NAMESPACES = frozenset({"cpp", "c", "csharp", "php", "ruby"})
# Languages where files of one directory / namespace see each other without imports, and
# those of them where that is the language's rule rather than a convention.
_PACKAGE_SCOPED = frozenset({"go", "java", "csharp", "rust", "c", "cpp", "ruby", "php"})
_PACKAGE_CERTAIN = frozenset({"go", "java", "csharp", "php"})
_STATIC_IMPORTS = frozenset({"java", "csharp"})  # `import static a.B.*` opens a class
_C = frozenset({"c", "cpp"})
# Lowercase receivers that are built-in types, never this repository's objects (int.Parse).
_BUILTIN_TYPES = frozenset({"int", "long", "short", "byte", "char", "bool", "float", "double",
                            "decimal", "string", "object", "str", "bytes", "dict", "list",
                            "set", "tuple", "frozenset"})
# Names a language provides without an import: a bare call to one of them that the file
# does not define or import is the builtin, never a same-named definition elsewhere
# (`str()` is not `locale.str`, `input()` is not `fileinput.input`).
_BUILTINS = {
    "python": frozenset(dir(builtins)),
    "javascript": frozenset({
        "parseInt", "parseFloat", "isNaN", "isFinite", "setTimeout", "setInterval",
        "clearTimeout", "clearInterval", "setImmediate", "queueMicrotask", "structuredClone",
        "encodeURIComponent", "decodeURIComponent", "encodeURI", "decodeURI", "fetch",
        "require", "Number", "String", "Boolean", "Object", "Array", "Symbol", "BigInt",
        "Promise", "Error", "TypeError", "RangeError", "Map", "Set", "WeakMap", "WeakSet",
        "Date", "RegExp", "Buffer", "URL", "Proxy", "Reflect"}),
}
_BUILTINS["typescript"] = _BUILTINS["tsx"] = _BUILTINS["javascript"]
# Python methods of the builtin types: `s.lower()`, `d.items()` on a receiver of unknown
# type is far likelier a str/dict/list method than this repository's method of that name.
_BUILTIN_METHODS = frozenset(
    name for typ in (str, bytes, list, dict, set, tuple, int, float, frozenset, bytearray)
    for name in dir(typ) if not name.startswith("_"))
_EDGE_KIND = {"call": "calls", "import": "imports", "inherit": "inherits",
              "implement": "implements", "reference": "references"}
# What a type use may name: a type, never an impl block, a function or a module.
_TYPE_KINDS = CLASSLIKE - {"impl"}

# A parameter's declared type in a signature, per language ("name: Type", "Type name",
# "name *Type"); quotes (Python forward references) and Optional[...] are looked through.
_TYPE_NAME = r"(?P<type>[A-Za-z_][\w.:]*)"


def _colon_typed(name: str) -> re.Pattern:
    return re.compile(rf"[(,\s\*&]{re.escape(name)}\s*\??:\s*(?:&\s*(?:mut\s+)?)?"
                      rf"[\"']?(?:(?:\w+\.)?Optional\[)?{_TYPE_NAME}")


def _prefix_typed(name: str) -> re.Pattern:
    return re.compile(rf"{_TYPE_NAME}(?:<[^>]*>)?\s+{re.escape(name)}\s*[,)=]")


def _go_typed(name: str) -> re.Pattern:
    return re.compile(rf"[(,]\s*{re.escape(name)}\s+\*?{_TYPE_NAME}")


_PARAMETER_TYPE = {
    "python": functools.lru_cache(maxsize=4096)(_colon_typed),
    "typescript": functools.lru_cache(maxsize=4096)(_colon_typed),
    "tsx": functools.lru_cache(maxsize=4096)(_colon_typed),
    "rust": functools.lru_cache(maxsize=4096)(_colon_typed),
    "java": functools.lru_cache(maxsize=4096)(_prefix_typed),
    "csharp": functools.lru_cache(maxsize=4096)(_prefix_typed),
    "go": functools.lru_cache(maxsize=4096)(_go_typed),
}

RefsOf = Callable[[str], list[Reference]]


class Resolver:
    """Resolves files' references against one SymbolTable; caches per run."""

    def __init__(self, table: SymbolTable, refs_of: RefsOf,
                 includes: IncludeGraph | None = None) -> None:
        self.table = table
        self.refs_of = refs_of
        self.imports = Imports(table, refs_of, includes)
        self._bases: dict[tuple[str, str], Candidates] = {}
        self._memo: dict[tuple, Candidates] = {}
        # Per-instance memos (a functools.lru_cache on a method is the class's: it kept every
        # Resolver a long-lived process made, and all it had found, for good).
        self._memos: dict[str, dict] = {"included": {}, "by_name": {}, "by_member": {},
                                        "base_refs": {}, "reach": {}}

    def _once(self, memo: str, key, compute, *args):
        """compute(*args), remembered under `key` in this resolver's memo `memo`."""
        table = self._memos[memo]
        if key not in table:
            table[key] = compute(*args)
        return table[key]

    # -- entry point -------------------------------------------------------------------

    def resolve_file(self, path: str) -> list[Edge]:
        edges: list[Edge] = []
        for ref in self.refs_of(path):
            found = self.resolve(path, ref)
            kind = _EDGE_KIND.get(ref.kind, ref.kind)
            src = ref.scope or ""
            if not any(isinstance(t, Def) or t.paths for t, _ in found):
                edges.append(Edge(kind, path, src, ref.name, ref.line))
            # Overloads and if/else twins are one node (path, qualname): one edge, summed.
            targets: dict[tuple[str, str], float] = {}
            for target, conf in found:
                if isinstance(target, Module) and not target.paths:
                    continue  # a package with no indexed file of its own
                key = node(target)
                targets[key] = min(CERTAIN, targets.get(key, 0.0) + conf)
            edges.extend(Edge(kind, path, src, ref.name, ref.line, dst_path, dst, round(conf, 4))
                         for (dst_path, dst), conf in targets.items())
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
            return self._import(path, ref)
        parts = [p for p in _SPLIT.split(ref.name) if p]
        if not parts:
            return []
        if ref.kind in ("inherit", "implement"):
            return only(self._dotted(path, ref.scope, ref.name, parts, "any"), _BASE_KINDS)
        if ref.kind == "reference":
            found = self._dotted(path, ref.scope, ref.name, parts, "type")
            return [(t, c) for t, c in found if isinstance(t, Def) and t.kind in _TYPE_KINDS]
        return self._dotted(path, ref.scope, ref.name, parts, "callable")

    # -- names -------------------------------------------------------------------------

    def _dotted(self, path: str, scope: str | None, name: str, parts: list[str],
                wanted: str) -> Candidates:
        """`wanted`: what a bare name found only by name may be ("callable", "type", "any")."""
        head, rest = _clean(parts[0]), parts[1:]
        if head in _SELF or self._is_go_receiver(path, scope, head):
            owner = self._enclosing_class(path, scope)
            if not owner or not rest:
                return []
            # Attributes set in __init__ or mixins the class does not name: by method name.
            return self._descend(path, [(owner, CERTAIN)], rest) or self._guess(path, rest[-1])
        if head in _SUPER.get(self._language(path), _SUPER_DEFAULT):
            return self._super(path, scope, rest)
        if rest:
            typed = self._typed_parameter(path, scope, head)
            if typed:
                return self._descend(path, typed, rest) or self._guess(path, rest[-1])
        if "(" in head or "[" in head:  # f().g, a[0].h: the receiver's type is unknown
            return self._guess(path, rest[-1]) if rest else []
        found = self._bare(path, scope, head, "any" if rest else wanted)
        if not rest:
            return found
        return self._descend(path, found, rest) or self._guess_member(path, name, found, parts)

    def _guess_member(self, path: str, name: str, found: Candidates, parts: list[str]
                      ) -> Candidates:
        """obj.method() with obj's type unknown: the methods of that name, unsure. Not when
        the receiver is a module, a type or an import: another library's `json.loads`,
        `Math.max` or `Box::new` says nothing about this repository's `loads`, `max`, `new`."""
        head = _clean(parts[0])
        static = name[len(parts[0]):len(parts[0]) + 2] in ("::", "\\")
        if static or head[:1].isupper() or head in _BUILTIN_TYPES \
                or head in self.imports.bindings(path):
            return []
        if found and all(isinstance(t, Module) for t, _ in found):
            return []
        return self._guess(path, parts[-1])

    def _typed_parameter(self, path: str, scope: str | None, name: str) -> Candidates:
        """`ctx.invoke()` where the enclosing function declares `ctx: Context` (or
        `Context ctx`, `ctx *Context`): the receiver's type, as the signature names it."""
        d = self.table.in_file(path, scope) if scope else None
        if d is None or d.kind not in CALLABLE or not d.signature:
            return []
        pattern = _PARAMETER_TYPE.get(self._language(path))
        m = pattern(name).search(d.signature) if pattern else None
        if not m:
            return []
        parts = [p for p in _SPLIT.split(m.group("type")) if p]
        found = self._dotted(path, d.parent, m.group("type"), parts, "type") if parts else []
        return [(t, c) for t, c in found if isinstance(t, Def) and t.kind in _TYPE_KINDS]

    def _guess(self, path: str, method: str) -> Candidates:
        if self._language(path) == "python" and _clean(method) in _BUILTIN_METHODS:
            return []
        return self._by_member_name(method)

    def _super(self, path: str, scope: str | None, rest: list[str]) -> Candidates:
        owner = self._enclosing_class(path, scope)
        bases = self.bases(owner) if owner else []
        if rest:
            return self._descend(path, bases, rest)
        language = self._language(path)
        if language == "python":
            return []  # super() makes a proxy: the call made through it is the edge
        if language == "ruby":  # a bare `super` calls the method it overrides
            method = self.table.in_file(path, scope) if scope else None
            return self._descend(path, bases, [method.name]) if method else []
        return only(bases, CLASSLIKE)  # super(...) in a constructor builds the base

    def _bare(self, path: str, scope: str | None, name: str, wanted: str) -> Candidates:
        table, language = self.table, self._language(path)
        found = self._in_scope(path, scope, name, language)
        if found:
            return found
        defs = table.top_level(path, name)
        if defs:
            return spread(defs, CERTAIN)
        found = self.imports.bound(path, name, 0)
        if found is not None:
            return found
        found = self._from_wildcards(path, name, language)
        if found:
            return found
        if language == "rust":  # `mod math;` in this file makes `math::f` reachable
            sub = rust_submodule(table, path, name)
            if sub:
                return [(Module(name, (sub,)), CERTAIN)]
        if language in _PACKAGE_SCOPED:
            defs = self._package_member(path, name, language)
            if defs:
                return spread(defs, CERTAIN if language in _PACKAGE_CERTAIN else PACKAGE)
        if name in _BUILTINS.get(language, ()):
            return []
        return self._by_name(name, wanted)

    def _in_scope(self, path: str, scope: str | None, name: str, language: str) -> Candidates:
        """`name` inside an enclosing definition: a nested function, a member of the class
        (where a bare `save()` means this.save()), a member of an enclosing namespace."""
        for d in self._scope_chain(path, scope, language):
            if d.kind in CLASSLIKE:
                found = spread(self.member(d, name), CERTAIN)
            elif d.kind in _NAMESPACES and language in _OPEN_NAMESPACES:
                found = self._namespace_member(path, d.qualname, name)
            else:
                found = spread([c for c in self.table.children_named(d.qualname, name)
                                if c.path == d.path], CERTAIN)
            if found:
                return found
        return []

    def _scope_chain(self, path: str, scope: str | None, language: str):
        """Enclosing definitions, innermost first, following an out-of-line method (C++
        `void Foo::bar() {}`) to its class in another file; class bodies only where bare
        names reach members (not in Python or JS, where a method must say self./this.)."""
        seen = 0
        while scope and seen < 32:
            d = self.table.in_file(path, scope) or self._declared_elsewhere(scope)
            if d is None:
                return
            if d.kind not in CLASSLIKE or language in _IMPLICIT_MEMBERS:
                yield d
            path, scope, seen = d.path, d.parent, seen + 1

    def _declared_elsewhere(self, qualname: str) -> Def | None:
        owners = self.table.by_qualname.get(qualname, ())
        return next((o for o in owners if o.kind in CLASSLIKE or o.kind in _NAMESPACES), None)

    def _namespace_member(self, path: str, namespace: str, name: str) -> Candidates:
        """A member of an open namespace, whichever file adds it. C and C++ prefer the
        files this one includes (two headers defining util::square collide, and the
        include decides) and are less sure of a definition they do not include."""
        found = self.table.children_named(namespace, name)
        if not found or self._language(path) not in _C:
            return spread(found, CERTAIN)
        included = self._included(path)
        seen = [d for d in found if d.path in included]
        return spread(seen, CERTAIN) if seen else spread(found, PACKAGE)

    def _included(self, path: str) -> frozenset[str]:
        return self._once("included", path, self._included_uncached, path)

    def _included_uncached(self, path: str) -> frozenset[str]:
        """The file and every file it includes, directly or not (up to MAX_INCLUDED)."""
        seen, todo = {path}, [path]
        while todo and len(seen) < MAX_INCLUDED:
            current = todo.pop()
            for wild in self.imports.wildcards(current):
                module = self.imports.module(current, wild.module)
                for p in module.paths if module else ():
                    if p not in seen:
                        seen.add(p)
                        todo.append(p)
        return frozenset(seen)

    def _maybe_included(self, path: str, name: str) -> bool:
        """False when no include walk from `path` can find `name`: nothing defines it (a
        macro, a libc function: every such name a C file used started a walk), or, in a
        pass without the whole include graph (an edit's few files), nothing within the
        walk's reach of `path` does. With the graph, Imports prunes the walk itself."""
        defs = self.table.by_name.get(name, ())
        if not defs:
            return False
        if self.imports.includes is not None:
            return True
        reach = self._once("reach", path, self._reachable, path)
        return reach is None or any(d.path in reach for d in defs)

    def _reachable(self, path: str) -> frozenset[str] | None:
        """Every file within the walk's include depth of `path` (None past REACH_MAX)."""
        seen, level = {path}, [path]
        for _ in range(IMPORT_DEPTH + 1):
            nxt = []
            for current in level:
                for wild in self.imports.wildcards(current):
                    module = self.imports.module(current, wild.module)
                    for p in module.paths if module else ():
                        if p not in seen:
                            seen.add(p)
                            nxt.append(p)
            if len(seen) > REACH_MAX:
                return None
            level = nxt
        return frozenset(seen)

    def _package_member(self, path: str, name: str, language: str) -> list[Def]:
        table = self.table
        module = table.module_of(path)
        if language == "go":  # one directory, one package (an _test package aside)
            peers = [p for p in table.dirs.get(path.rpartition("/")[0] or ".", ())
                     if table.module_of(p) == module]
        else:
            peers = table.files_of_module(module) if module else ()
        return [d for p in peers if p != path for d in table.top_level(p, name)]

    def _by_name(self, name: str, wanted: str) -> Candidates:
        return self._once("by_name", (name, wanted), self._by_name_uncached, name, wanted)

    def _by_name_uncached(self, name: str, wanted: str) -> Candidates:
        defs = self.table.by_name.get(name, ())
        if wanted == "callable":  # a call may construct a class
            defs = [d for d in defs if d.kind in CLASSLIKE
                    or (d.kind in CALLABLE and d.kind != "method")]
        elif wanted == "type":
            defs = [d for d in defs if d.kind in _TYPE_KINDS]
        if not defs or len(defs) > MAX_CANDIDATES:
            return []
        return spread(defs, BY_NAME)

    def _by_member_name(self, name: str) -> Candidates:
        return self._once("by_member", name, self._by_member_name_uncached, name)

    def _by_member_name_uncached(self, name: str) -> Candidates:
        methods = [d for d in self.table.by_name.get(_clean(name), ()) if d.kind == "method"]
        if not methods or len(methods) > MAX_CANDIDATES:
            return []
        return spread(methods, RECEIVER_UNKNOWN)

    # -- members and bases ---------------------------------------------------------------

    def _descend(self, path: str, found: Candidates, rest: list[str]) -> Candidates:
        for part in rest:
            part = _clean(part)
            step: Candidates = []
            for target, conf in found:
                step.extend(self._member_of(path, target, part, conf))
            if not step:
                return []
            found = merge(step)
        return found

    def _member_of(self, path: str, target: Target, name: str, conf: float) -> Candidates:
        if isinstance(target, Module):
            return self.imports.member(target, name, 0, conf)
        if target.kind in CLASSLIKE:
            found = self.member(target, name)
            if not found and name == "new":  # Ruby's Foo.new builds a Foo
                return [(target, conf)]
            return spread(found, conf)
        if target.kind in _NAMESPACES:  # C++ util::f, Ruby Shop::Util, TS namespaces
            return [(d, c * conf) for d, c in self._namespace_member(path, target.qualname, name)]
        return []

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

    def _base_refs(self, path: str) -> dict[str, list[Reference]]:
        return self._once("base_refs", path, self._base_refs_uncached, path)

    def _base_refs_uncached(self, path: str) -> dict[str, list[Reference]]:
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

    def _import(self, path: str, ref: Reference) -> Candidates:
        language = self._language(path)
        target = import_target(language, ref.name, ref.line)
        found = self.imports.targets(path, target, 0)
        binding = parse_binding(language, ref.name, ref.line)
        if found or target == binding:
            return found
        # `import os.path`: no os/path.py, but os.py binds `path` (to posixpath)
        return self._descend(path, self.imports.targets(path, binding, 0),
                             target.module.split(".")[1:])

    def _from_wildcards(self, path: str, name: str, language: str) -> Candidates:
        """`name` from a `from m import *`, `export * from`, `#include`, `using N;`."""
        if language in _C and not self._maybe_included(path, name):
            return []
        for wild in self.imports.wildcards(path):
            module = self.imports.module(path, wild.module)
            if module is not None:
                found = self.imports.member(module, name, 0)
            elif language in _STATIC_IMPORTS:  # import static a.B.*: B's members
                found = [(d, c) for cls in self.table.by_qualname.get(wild.module, ())
                         if cls.kind in CLASSLIKE for d, c in spread(self.member(cls, name), 1)]
            else:
                found = []
            if found:
                return found
        return []

    def _language(self, path: str) -> str:
        return self.table.languages.get(path, "")


def _clean(part: str) -> str:
    return part.split("(", 1)[0].split("<", 1)[0].lstrip("@$*&").strip() or part


def bare_name(kind: str, name: str) -> str:
    """The name a definition must have to satisfy a reference (kept with each edge)."""
    if kind == "imports":
        target = name.partition(" as ")[0]
        target = target.rsplit(":", 1)[-1] if ":" in target else target
        parts = [p for p in re.split(r"[./\\:]+", target) if p and p != "*"]
        return parts[-1] if parts else target
    parts = [p for p in _SPLIT.split(name) if p]
    return _clean(parts[-1]) if parts else name
