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
    return [p for p in table.languages if p == spec or p.endswith("/" + spec)][:4]


def _rust_files(table: SymbolTable, spec: str, from_path: str) -> list[str]:
    parts = [p for p in spec.split("::") if p not in ("crate", "self", "super", "")]
    if not parts:
        return [from_path]
    tail = "/".join(parts)
    return [p for p in table.languages if p.endswith((f"{tail}.rs", f"{tail}/mod.rs"))][:4]
