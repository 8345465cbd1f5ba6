"""What an import statement binds, per language, and which indexed files a module spec names.

Import references arrive in parse_imports.py's forms ("os.path as p", ".x:y as z",
"./y:default as x", "net/http as h", "java.util.List", "a::b::C as D", "A\\B as C").
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from .symtab import SymbolTable

WILDCARD = "*"
_JS_EXTENSIONS = ("", ".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".d.ts",
                  "/index.ts", "/index.tsx", "/index.js", "/index.jsx", "/index.mjs")
_JS = frozenset({"javascript", "typescript", "tsx"})
_C = frozenset({"c", "cpp"})


@dataclass(frozen=True, slots=True)
class Binding:
    """A name an import brings into a file. member None: the module itself;
    member "*": every top-level name of the module (alias is then None)."""

    alias: str | None
    module: str
    member: str | None
    line: int


def parse_binding(language: str, text: str, line: int) -> Binding:
    name, _, alias = text.partition(" as ")
    name, alias = name.strip(), alias.strip() or None
    if ":" in name and language not in ("rust", "cpp", "c"):  # Python / JS "module:member"
        module, member = name.split(":", 1)
        if member == WILDCARD:
            return Binding(alias, module, None if alias else WILDCARD, line)
        return Binding(alias or member.split(".")[0], module, member, line)
    if language == "python":
        # `import a.b` binds `a`; `import a.b as c` binds `c` to a.b.
        return Binding(alias, name, None, line) if alias else Binding(
            name.split(".")[0], name.split(".")[0], None, line)
    if language in _JS or language == "ruby" or language in _C:
        return Binding(alias, name, None if alias else WILDCARD, line)
    if language == "go":
        return Binding(alias or name.rstrip("/").rsplit("/", 1)[-1], name, None, line)
    sep = {"rust": "::", "php": "\\"}.get(language, ".")
    module, _, member = name.rpartition(sep)
    if member == WILDCARD:
        return Binding(None, module, WILDCARD, line)
    if language == "rust" and member == "self":  # `use std::io::{self}` binds io
        module, _, member = module.rpartition(sep)
    if language == "csharp" and not alias:  # `using System.Text;` opens a namespace
        return Binding(None, name, WILDCARD, line)
    return Binding(alias or member, module, member, line)


def import_target(language: str, text: str, line: int) -> Binding:
    """What an import statement names, which its edge points at: the binding, except that
    Python's `import a.b` binds `a` but imports a.b."""
    binding = parse_binding(language, text, line)
    if language == "python" and binding.member is None and ":" not in text and " as " not in text:
        return Binding(None, text.strip(), None, line)
    return binding


def module_files(table: SymbolTable, language: str, spec: str, from_path: str) -> list[str]:
    """Indexed files that make up the module `spec` as imported from `from_path`."""
    if language == "python":
        return table.files_of_module(python_absolute(table, spec, from_path))
    if language in _JS:
        return _js_files(table, spec, from_path)
    if language == "go":
        return _go_files(table, spec)
    if language in _C or language == "ruby":
        return _path_files(table, spec, from_path, ".rb" if language == "ruby" else "")
    if language == "rust":
        return _rust_files(table, spec, from_path)
    return table.files_of_module(spec)


def python_absolute(table: SymbolTable, spec: str, from_path: str) -> str:
    """`..core` imported from pkg/sub/mod.py -> `pkg.core`."""
    dots = len(spec) - len(spec.lstrip("."))
    if not dots:
        return spec
    parts = table.module_of(from_path).split(".")
    if not from_path.endswith(("__init__.py", "__init__.pyi")):
        parts = parts[:-1]  # a module's package
    base = parts[: len(parts) - (dots - 1)] if dots > 1 else parts
    rest = spec[dots:]
    return ".".join([*base, rest] if rest else base)


def _js_files(table: SymbolTable, spec: str, from_path: str) -> list[str]:
    if not spec:  # `export default name;` names a definition of the file itself
        return [from_path]
    if spec.startswith("."):
        base = posixpath.normpath(posixpath.join(posixpath.dirname(from_path), spec))
    else:  # a bare specifier is a package unless the repo has it (baseUrl-style imports)
        base = spec.lstrip("/")
    stem, ext = posixpath.splitext(base)
    tries = [base + e for e in _JS_EXTENSIONS]
    if ext in (".js", ".jsx", ".mjs", ".cjs"):  # TS sources imported by their emitted name
        tries += [stem + ".ts", stem + ".tsx"]
    return [p for p in tries if p in table.languages][:1]


def _go_files(table: SymbolTable, spec: str) -> list[str]:
    # The module path prefix (github.com/org/repo) is not in the tree: match the
    # longest trailing run of the import path that is a directory of .go files.
    parts = spec.strip("/").split("/")
    for i in range(len(parts)):
        files = [p for p in table.dirs.get("/".join(parts[i:]), ())
                 if table.languages.get(p) == "go"]
        if files:
            return files
    return []


def _path_files(table: SymbolTable, spec: str, from_path: str, ext: str) -> list[str]:
    spec = spec if not ext or spec.endswith(ext) else spec + ext
    if spec.startswith("."):
        near = posixpath.normpath(posixpath.join(posixpath.dirname(from_path), spec))
        return [near] if near in table.languages else []
    near = posixpath.join(posixpath.dirname(from_path), spec)
    if near in table.languages:
        return [near]
    named = table.basenames.get(posixpath.basename(spec), ())
    return [p for p in named if p == spec or p.endswith("/" + spec)][:4]


def _rust_files(table: SymbolTable, spec: str, from_path: str) -> list[str]:
    """The file of the Rust module a `use` path names: `crate::` from the crate root,
    `super::` from the parent module, `self::` or a bare path from the current module
    (then from the crate root, as 2015-edition paths are); [] for another crate."""
    parts = [p for p in spec.split("::") if p]
    if not parts:
        return [from_path]
    head, rest = parts[0], parts[1:]
    if head == "crate":
        start = rust_crate_root(table, from_path)
    elif head == "self":
        start = from_path
    elif head == "super":
        start = rust_parent(table, from_path)
        while start and rest and rest[0] == "super":
            start, rest = rust_parent(table, start), rest[1:]
    else:
        found = _rust_walk(table, from_path, parts)
        root = rust_crate_root(table, from_path)
        if found is None and root and root != from_path:
            found = _rust_walk(table, root, parts)
        return [found] if found else []
    found = _rust_walk(table, start, rest) if start else None
    return [found] if found else []


def _rust_walk(table: SymbolTable, start: str, parts: list[str]) -> str | None:
    current: str | None = start
    for part in parts:
        current = rust_submodule(table, current, part) if current else None
    return current


def rust_submodule(table: SymbolTable, path: str, name: str) -> str | None:
    """The file of module `name` declared (`mod name;`) in the module at `path`."""
    base = _rust_module_dir(path)
    for candidate in (posixpath.join(base, f"{name}.rs"), posixpath.join(base, name, "mod.rs")):
        if candidate in table.languages:
            return candidate
    return None


def rust_parent(table: SymbolTable, path: str) -> str | None:
    """The file of the module that declares the module at `path`."""
    parent_dir = posixpath.dirname(_rust_module_dir(path))
    candidates = [posixpath.join(parent_dir, n) for n in ("mod.rs", "lib.rs", "main.rs")]
    for candidate in [*candidates, f"{parent_dir}.rs"] if parent_dir else candidates:
        if candidate in table.languages and candidate != path:
            return candidate
    return None


def rust_crate_root(table: SymbolTable, path: str) -> str | None:
    """lib.rs or main.rs in the nearest directory above `path` that has one."""
    folder = posixpath.dirname(path)
    while True:
        for name in ("lib.rs", "main.rs"):
            candidate = posixpath.join(folder, name)
            if candidate in table.languages:
                return candidate
        if not folder:
            return None
        folder = posixpath.dirname(folder)


def _rust_module_dir(path: str) -> str:
    """Where the submodules of the module at `path` live: beside mod.rs, lib.rs and
    main.rs, in a folder named after any other file (src/a.rs -> src/a/)."""
    folder, name = posixpath.split(path)
    if name in ("mod.rs", "lib.rs", "main.rs"):
        return folder
    return path[:-3] if path.endswith(".rs") else path
