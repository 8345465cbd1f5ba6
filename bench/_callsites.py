"""Ground truth for bench_graph.py: the call sites of module-level Python functions, found
with the standard `ast` module and Python's scoping rules, independently of codesift.
"""

# A call `g(...)` counts as a call of M.f when the name g, looked up through the enclosing
# function scopes to the module (class bodies are skipped, as Python skips them), is bound
# by `def f` at the top of M itself, by `from M import f [as g]` (relative imports made
# absolute), or by a re-export of it (`from .x import f` or `from .x import *` in a package);
# `m.f(...)` and `a.b.f(...)` count when the head is bound by an import of the module M
# (`import M as m`, `from pkg import M`, `import a.b`, `m = importlib.import_module("M")`,
# or a module another module re-binds, like os.path). Assignments and parameter defaults
# that name a dotted name (`g = mod.f`, `def h(x, _f=f)`) mean what that name means. A name
# with several bindings in its scope (if/else, try/except, a later assignment, a wildcard
# import) may mean any of them: the call counts for each target it may reach. Data flow
# beyond that (attributes, containers, return values) is not followed. Call sites are
# (path, line where the call expression starts), as codesift records them.

from __future__ import annotations

import ast
import keyword
import warnings
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

Target = tuple[str, str]  # (module, function name)
Site = tuple[str, int]  # (path relative to the corpus root, line)
MAX_DEPTH = 6  # re-export chains
_IMPORTERS = frozenset({"import_module", "import_fresh_module"})
_TEST_DIRS = frozenset({"test", "tests", "idle_test", "testing"})


@dataclass(frozen=True, slots=True)
class Binding:
    """What an assignment of a name in one scope binds it to."""

    kind: str  # "def" (a function at the top of `module`), "module", "from", "alias", "other"
    module: str = ""  # def: where it is defined; module: the module; from: the module imported from
    name: str = ""  # def: the function's name; from: the member imported
    line: int = 0
    end: int = 0
    chain: tuple[str, ...] = ()  # alias: the dotted name assigned (`g = mod.f`, `def h(g=f)`)
    scope: Scope | None = None  # alias: where that name is read


OTHER = Binding("other")


@dataclass(eq=False, slots=True)
class Scope:
    kind: str  # module, function, class
    parent: Scope | None
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    globals_: set[str] = field(default_factory=set)
    nonlocals: set[str] = field(default_factory=set)
    wildcards: list[str] = field(default_factory=list)  # `from M import *` (module scope)


@dataclass(slots=True)
class FileFacts:
    path: str
    module: str
    root: Scope
    calls: list[tuple[int, tuple[str, ...] | None, Scope]]  # line, dotted callee, scope
    all_names: frozenset[str] | None  # a literal __all__, when the module has one


def module_name(rel: str) -> str:
    """`json/decoder.py` -> `json.decoder`; `json/__init__.py` -> `json`."""
    parts = rel[:-3].split("/")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_test_path(rel: str) -> bool:
    parts = rel.split("/")
    name = parts[-1]
    return (any(p in _TEST_DIRS for p in parts[:-1]) or name.startswith("test_")
            or name.endswith("_test.py") or name in ("test.py", "tests.py", "conftest.py"))


class _Scanner(ast.NodeVisitor):
    """One pass over a module: the bindings of each scope and every call with its scope."""

    def __init__(self, module: str, is_package: bool) -> None:
        self.module = module
        self.package = module if is_package else module.rpartition(".")[0]
        self.root = self.scope = Scope("module", None)
        self.calls: list[tuple[int, tuple[str, ...] | None, Scope]] = []

    def bind(self, name: str, binding: Binding = OTHER) -> None:
        scope = self.scope
        if name in scope.nonlocals:
            return
        if name in scope.globals_:
            scope = self.root
        if binding.kind == "def" and scope is not self.root:
            binding = OTHER  # a nested function is no module-level target
        scope.bindings.setdefault(name, []).append(binding)

    def _enter(self, kind: str) -> Scope:
        self.scope = Scope(kind, self.scope)
        return self.scope

    def _leave(self, scope: Scope) -> None:
        self.scope = scope.parent

    def _args(self, args: ast.arguments, outer: Scope) -> None:
        """Parameters; one whose default is a dotted name (`def f(x, join=os.path.join)`, a
        common speed idiom) means what that name meant where the def stands."""
        positional = (*args.posonlyargs, *args.args)
        defaults = dict(zip(positional[len(positional) - len(args.defaults):], args.defaults))
        defaults.update(zip(args.kwonlyargs, args.kw_defaults))
        for a in (*positional, *args.kwonlyargs, args.vararg, args.kwarg):
            if a is not None:
                chain = dotted(defaults[a]) if defaults.get(a) is not None else None
                self.bind(a.arg, Binding("alias", chain=chain, scope=outer) if chain else OTHER)

    def visit_FunctionDef(self, node) -> None:
        args = node.args
        annotations = [a.annotation for a in (*args.posonlyargs, *args.args, *args.kwonlyargs,
                                               args.vararg, args.kwarg) if a is not None]
        for expr in (*node.decorator_list, *args.defaults, *filter(None, args.kw_defaults),
                     *filter(None, (*annotations, node.returns))):
            self.visit(expr)
        self.bind(node.name, Binding("def", self.module, node.name, node.lineno,
                                     node.end_lineno or node.lineno))
        outer = self.scope
        scope = self._enter("function")
        self._args(node.args, outer)
        for stmt in node.body:
            self.visit(stmt)
        self._leave(scope)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for expr in (*node.args.defaults, *filter(None, node.args.kw_defaults)):
            self.visit(expr)
        outer = self.scope
        scope = self._enter("function")
        self._args(node.args, outer)
        self.visit(node.body)
        self._leave(scope)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expr in (*node.decorator_list, *node.bases, *node.keywords):
            self.visit(expr)
        self.bind(node.name)
        scope = self._enter("class")
        for stmt in node.body:
            self.visit(stmt)
        self._leave(scope)

    def _comprehension(self, node, *parts) -> None:
        self.visit(node.generators[0].iter)  # evaluated in the enclosing scope
        scope = self._enter("function")
        for i, gen in enumerate(node.generators):
            if i:
                self.visit(gen.iter)
            self.visit(gen.target)
            for cond in gen.ifs:
                self.visit(cond)
        for part in parts:
            self.visit(part)
        self._leave(scope)

    def visit_ListComp(self, node) -> None:
        self._comprehension(node, node.elt)

    visit_SetComp = visit_GeneratorExp = visit_ListComp

    def visit_DictComp(self, node: ast.DictComp) -> None:
        self._comprehension(node, node.key, node.value)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.bind(alias.asname, Binding("module", alias.name, line=node.lineno))
            else:
                head = alias.name.split(".")[0]
                self.bind(head, Binding("module", head, line=node.lineno))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = self.absolute(node.module or "", node.level)
        for alias in node.names:
            if alias.name == "*":
                self.root.wildcards.append(module)
            else:
                self.bind(alias.asname or alias.name,
                          Binding("from", module, alias.name, line=node.lineno))

    def absolute(self, module: str, level: int) -> str:
        if not level:
            return module
        parts = self.package.split(".") if self.package else []
        parts = parts[: len(parts) - (level - 1)] if level > 1 else parts
        return ".".join([*parts, module] if module else parts)

    def visit_Global(self, node: ast.Global) -> None:
        self.scope.globals_.update(node.names)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self.scope.nonlocals.update(node.names)

    def visit_Assign(self, node: ast.Assign) -> None:
        """`g = f`, `g = mod.f`: g means what the right side means; `m = import_module("M")`
        binds the module M."""
        self.visit(node.value)
        binding = self._assigned(node.value)
        for target in node.targets:
            if isinstance(target, ast.Name) and binding is not None:
                self.bind(target.id, binding)
            else:
                self.visit(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.visit(node.annotation)
        if node.value is not None:
            self.visit(node.value)
        binding = self._assigned(node.value) if node.value is not None else None
        if isinstance(node.target, ast.Name) and binding is not None:
            self.bind(node.target.id, binding)
        else:
            self.visit(node.target)

    def _assigned(self, value: ast.expr) -> Binding | None:
        chain = dotted(value)
        if chain:
            return Binding("alias", chain=chain, scope=self.scope)
        if (isinstance(value, ast.Call) and value.args and (dotted(value.func) or ("",))[-1]
                in _IMPORTERS and isinstance(value.args[0], ast.Constant)
                and isinstance(value.args[0].value, str) and not value.args[0].value.startswith(".")):
            return Binding("module", value.args[0].value, "import_module()", line=value.lineno)
        return None

    def visit_Name(self, node: ast.Name) -> None:
        if not isinstance(node.ctx, ast.Load):
            self.bind(node.id)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self.bind(node.name)
        self.generic_visit(node)

    def visit_MatchAs(self, node) -> None:
        if node.name:
            self.bind(node.name)
        self.generic_visit(node)

    visit_MatchStar = visit_MatchAs

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        if node.rest:
            self.bind(node.rest)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        self.calls.append((node.lineno, dotted(node.func), self.scope))
        self.generic_visit(node)


def _label(b: Binding) -> str:
    """How a name is bound, in words (for diagnostics)."""
    if b.kind == "module":
        return "import_module()" if b.name == "import_module()" else "import"
    if b.kind == "from":
        return "from M import *" if b.line == 0 else "from-import"
    return {"def": "def", "alias": "alias (g = x.f, g=f default)"}.get(b.kind, "local variable")


def dotted(expr: ast.expr) -> tuple[str, ...] | None:
    """`a.b.c` -> ("a", "b", "c"); None for anything but a name and attributes on it."""
    parts = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    parts.append(expr.id)
    return tuple(reversed(parts))


def _literal_all(tree: ast.Module) -> frozenset[str] | None:
    names: set[str] | None = None
    for stmt in tree.body:
        targets = (stmt.targets if isinstance(stmt, ast.Assign) else
                   [stmt.target] if isinstance(stmt, ast.AugAssign) else [])
        if not any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            continue
        try:
            value = ast.literal_eval(stmt.value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return None  # built dynamically: fall back to the public names
        names = (names or set()) | set(value)
    return frozenset(names) if names is not None else None


class CallSites:
    """Every .py file of a tree scanned once; call sites of module-level functions on demand."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, FileFacts] = {}
        self.modules: dict[str, str] = {}  # module name -> path
        self.unparsed: list[str] = []
        for path in sorted(root.rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            facts = self._scan(path, rel)
            if facts is None:
                self.unparsed.append(rel)
                continue
            self.files[rel] = facts
            self.modules.setdefault(facts.module, rel)
        self._exports: dict[Target, frozenset[Target]] = {}
        self._attrs: dict[tuple[str, str], set[str]] = {}
        self._by_line: dict[str, dict[int, list]] = {}

    def _scan(self, path: Path, rel: str) -> FileFacts | None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(path.read_bytes(), filename=rel)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        module = module_name(rel)
        scanner = _Scanner(module, rel.endswith("/__init__.py") or rel == "__init__.py")
        scanner.visit(tree)
        return FileFacts(rel, module, scanner.root, scanner.calls, _literal_all(tree))

    # -- what a module exports ------------------------------------------------------------

    def _facts(self, module: str) -> FileFacts | None:
        return self.files.get(self.modules.get(module, ""))

    def export(self, module: str, name: str, depth: int = 0) -> frozenset[Target]:
        """The module-level functions `module.name` may be, following re-exports."""
        key = (module, name)
        if key in self._exports:
            return self._exports[key]
        self._exports[key] = frozenset()  # a re-export cycle ends here
        facts = self._facts(module)
        out: set[Target] = set()
        if facts is not None and depth < MAX_DEPTH:
            for b in self._module_level(facts.root, name):
                out |= self._targets(b, depth + 1)
        self._exports[key] = frozenset(out)
        return self._exports[key]

    def _module_level(self, root: Scope, name: str) -> list[Binding]:
        """A module-level name's bindings: its own, and every `from M import *` that may
        provide it (which one wins depends on the order at run time)."""
        return [*root.bindings.get(name, ()),
                *(Binding("from", star, name) for star in root.wildcards
                  if self._exported(star, name))]

    def _exported(self, module: str, name: str) -> bool:
        facts = self._facts(module)
        if facts is None:
            return False
        return name in facts.all_names if facts.all_names is not None else not name.startswith("_")

    def _targets(self, b: Binding, depth: int) -> set[Target]:
        if depth > MAX_DEPTH:
            return set()
        if b.kind == "def":
            return {(b.module, b.name)}
        if b.kind == "from":
            return set(self.export(b.module, b.name, depth))
        if b.kind == "alias":
            return self._chain_targets(b.scope, b.chain, depth + 1)
        return set()

    def _modules_of(self, b: Binding, depth: int) -> set[str]:
        """The modules a binding may name."""
        if depth > MAX_DEPTH:
            return set()
        if b.kind == "module":
            return {b.module}
        if b.kind == "from":
            return self.module_attr(b.module, b.name, depth + 1)
        if b.kind == "alias":
            return self._chain_modules(b.scope, b.chain, depth + 1)
        return set()

    def module_attr(self, module: str, attr: str, depth: int = 0) -> set[str]:
        """What `module.attr` names when it is a module: a submodule or a module it imports."""
        sub = f"{module}.{attr}"
        if sub in self.modules:
            return {sub}
        key = (module, attr)
        if key not in self._attrs:
            self._attrs[key] = set()  # an alias cycle between modules ends here
            facts = self._facts(module)
            if facts is not None and depth < MAX_DEPTH:
                self._attrs[key] = {m for b in facts.root.bindings.get(attr, ())
                                    for m in self._modules_of(b, depth + 1)}
        return self._attrs[key]

    # -- calls ---------------------------------------------------------------------------

    def lookup(self, scope: Scope, name: str) -> list[Binding]:
        """The bindings a name read in `scope` may have (LEGB, class bodies skipped)."""
        root = scope
        while root.parent is not None:
            root = root.parent
        s, first = scope, True
        while s is not None:
            if name in s.globals_:
                s = root
            elif name in s.nonlocals or (s.kind == "class" and not first):
                s, first = s.parent, False
                continue
            if s is root:
                return self._module_level(root, name)
            if name in s.bindings:
                return s.bindings[name]
            s, first = s.parent, False
        return []

    def _chain_modules(self, scope: Scope, chain: tuple[str, ...], depth: int) -> set[str]:
        modules = {m for b in self.lookup(scope, chain[0]) for m in self._modules_of(b, depth)}
        for attr in chain[1:]:
            modules = {m2 for m in modules for m2 in self.module_attr(m, attr)}
        return modules

    def _chain_targets(self, scope: Scope, chain: tuple[str, ...], depth: int) -> set[Target]:
        if len(chain) == 1:
            return {t for b in self.lookup(scope, chain[0]) for t in self._targets(b, depth)}
        modules = self._chain_modules(scope, chain[:-1], depth)
        return {t for m in modules for t in self.export(m, chain[-1])}

    def call_targets(self, chain: tuple[str, ...] | None, scope: Scope) -> set[Target]:
        return self._chain_targets(scope, chain, 0) if chain else set()

    def all_sites(self) -> dict[Target, set[Site]]:
        out: dict[Target, set[Site]] = defaultdict(set)
        for facts in self.files.values():
            for line, chain, scope in facts.calls:
                for target in self.call_targets(chain, scope):
                    out[target].add((facts.path, line))
        return out

    def calls_at(self, path: str, line: int) -> list[dict]:
        """The calls starting on one line, as the ground truth reads them (for diagnostics)."""
        facts = self.files.get(path)
        if facts is None:
            return []
        if path not in self._by_line:
            self._by_line[path] = defaultdict(list)
            for call in facts.calls:
                self._by_line[path][call[0]].append(call)
        return [{"callee": ".".join(chain) if chain else "<expression>",
                 "targets": sorted(".".join(t) for t in self.call_targets(chain, scope)),
                 "head": sorted({_label(b) for b in self.lookup(scope, chain[0])}) if chain else []}
                for _, chain, scope in self._by_line[path].get(line, ())]

    # -- what to sample ------------------------------------------------------------------

    def candidates(self) -> Iterator[tuple[str, Binding]]:
        """Module-level functions bound exactly once in their module, public, outside tests:
        (path, their def binding)."""
        for path, facts in self.files.items():
            if is_test_path(path) or not all(p.isidentifier() for p in facts.module.split(".")):
                continue
            for name in facts.root.bindings:
                bindings = self._module_level(facts.root, name)
                if (len(bindings) == 1 and bindings[0].kind == "def" and not name.startswith("_")
                        and not keyword.iskeyword(name)):
                    yield path, bindings[0]
