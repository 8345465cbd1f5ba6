"""Qualified names of definitions, one namer per language, and Python module names from paths.
A namer sees a definition match and its enclosing scope and returns a Named (or None: skip it).
"""

# Qualified names (the retrieval layer matches the bare name and every `.`/`::` suffix):
#   python   pkg.mod.Class.method, pkg.mod.outer.inner (module from the path: src/ and lib/
#            dropped, __init__ -> the package); ParsedFile.module = "pkg.mod"
#   go       pkg.Func, pkg.Type, pkg.(*Type).Method / pkg.(Type).Method; module = package name
#   rust     Type::method (also inside `impl Trait for Type`), a::b::f for `mod`s; the impl
#            block itself is a Symbol (kind impl) named "impl Trait for Type"
#   java     com.acme.Outer.Inner.method (package prefix); module = package
#   csharp   Ns.Sub.Class.Method (block or file-scoped namespaces)
#   js/ts    Class.method, outer.inner, obj.prop for `obj.prop = function`, Foo.bar for
#            `Foo.prototype.bar = ...`, Ns.Class for TS namespaces; module = ""
#   c/cpp    ns::Class::method; `void Foo::bar() {}` -> Foo::bar (kind method, parent Foo)
#   ruby     Mod::Class#method for instance methods, Mod::Class.method for `def self.x`
#   php      Ns\\Sub\\Class::method, Ns\\func (namespace separator `\\`, member `::`)
# Parents: the enclosing definition's qualname; Go methods and C++ out-of-line methods name
# their receiver / owning class instead, since they have no syntactic enclosure.

from __future__ import annotations

from pathlib import PurePosixPath

from codesift.ingest.parse_common import GENERICS, SPACE, Def, Named, Scope, SourceText, bare

_CLASSLIKE = frozenset({"class", "struct", "interface", "trait", "impl", "enum"})
_C_NAMES = frozenset({
    "identifier", "field_identifier", "qualified_identifier", "destructor_name",
    "operator_name", "template_function", "operator_cast", "type_identifier",
})


def python_module(path: str) -> str:
    """`src/pkg/client.py` -> `pkg.client`; `pkg/__init__.py` -> `pkg`."""
    p = PurePosixPath(path)
    parts = list(p.parts[:-1]) + [p.stem if p.suffix in (".py", ".pyi", ".pyw") else p.name]
    if len(parts) > 1 and parts[0] in ("src", "lib"):
        parts = parts[1:]
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def namer_for(language: str):
    """The naming function of a language: (Def, enclosing Scope | None, SourceText) -> Named."""
    return _NAMERS.get(language, name_default)


def _join(prefix: str, sep: str, name: str) -> str:
    return f"{prefix}{sep}{name}" if prefix else name


def _kind(kind: str, parent: Scope | None) -> str:
    if kind in ("function", "method"):
        return "method" if parent is not None and parent.kind in _CLASSLIKE else "function"
    return kind


def name_default(d: Def, parent: Scope | None, ctx: SourceText, full: str | None = None) -> Named:
    full = full if full is not None else ctx.compact(d.name)
    base = parent.child_prefix if parent else ctx.prefix
    qual = _join(base, ctx.sep, full)
    return Named(bare(full), qual, _kind(d.kind, parent), parent.qualname if parent else None, qual)


def _name_go(d: Def, parent: Scope | None, ctx: SourceText) -> Named:
    if d.node.type != "method_declaration":
        return name_default(d, parent, ctx)
    typ = d.node.child_by_field_name("receiver")
    typ = next((c.child_by_field_name("type") for c in typ.named_children
                if c.type == "parameter_declaration"), None) if typ else None
    star = ""
    if typ is not None and typ.type == "pointer_type":
        star, typ = "*", typ.named_child(0)
    owner = GENERICS.sub("", ctx.text(typ)) if typ is not None else "?"
    name = ctx.text(d.name)
    qual = _join(ctx.prefix, ".", f"({star}{owner}).{name}")
    return Named(name, qual, "method", _join(ctx.prefix, ".", owner), qual)


def _name_rust(d: Def, parent: Scope | None, ctx: SourceText) -> Named:
    if d.node.type != "impl_item":
        return name_default(d, parent, ctx)
    typ = SPACE.sub(" ", ctx.text(d.name))
    trait = d.node.child_by_field_name("trait")
    label = f"impl {SPACE.sub(' ', ctx.text(trait))} for {typ}" if trait else f"impl {typ}"
    base = parent.child_prefix if parent else ctx.prefix
    owner = _join(base, "::", GENERICS.sub("", typ).replace(" ", ""))
    return Named(label, _join(base, "::", label), "impl", parent.qualname if parent else None, owner)


def _name_c(d: Def, parent: Scope | None, ctx: SourceText) -> Named | None:
    if d.node.type not in ("function_definition", "declaration"):
        return name_default(d, parent, ctx)
    node, is_function = d.name, False
    for _ in range(8):  # pointer/reference/function declarators wrap the name
        if node is None or node.type in _C_NAMES:
            break
        is_function = is_function or node.type == "function_declarator"
        node = node.child_by_field_name("declarator") or node.named_child(0)
    if node is None or node.type not in _C_NAMES or not is_function:
        return None  # `int *p;` is a pointer variable, not a prototype
    full = ctx.compact(node)
    if node.type != "qualified_identifier" or "::" not in full:
        return name_default(d, parent, ctx, full)
    base = parent.child_prefix if parent else ctx.prefix
    owner, _, name = full.rpartition("::")
    qual = _join(base, "::", full)
    return Named(name, qual, "method", _join(base, "::", owner), qual)


def _name_js(d: Def, parent: Scope | None, ctx: SourceText) -> Named:
    if d.name.type != "member_expression":
        return name_default(d, parent, ctx)
    full = ctx.compact(d.name)
    parent_qual = parent.qualname if parent else None
    if ".prototype." in full:  # Foo.prototype.bar = function () {} is a method of Foo
        full = full.replace(".prototype.", ".")
        return Named(bare(full), full, "method", full.rpartition(".")[0], full)
    return Named(bare(full), full, "function", parent_qual, full)


def _name_ruby(d: Def, parent: Scope | None, ctx: SourceText) -> Named:
    base = parent.child_prefix if parent else ""
    full = ctx.compact(d.name)
    parent_qual = parent.qualname if parent else None
    if d.node.type == "method":
        qual = f"{base}#{full}" if base else full
        return Named(full, qual, "method" if parent else "function", parent_qual, qual)
    if d.node.type == "singleton_method":
        qual = f"{base}.{full}" if base else full
        return Named(full, qual, "method", parent_qual, qual)
    qual = _join(base, "::", full)
    return Named(bare(full), qual, d.kind, parent_qual, qual)


def _name_php(d: Def, parent: Scope | None, ctx: SourceText) -> Named:
    full = ctx.compact(d.name)
    if parent is None or parent.kind == "module":
        base = parent.child_prefix if parent else ctx.prefix
        qual = _join(base, "\\", full)
    else:
        qual = f"{parent.child_prefix}::{full}"
    return Named(bare(full), qual, _kind(d.kind, parent), parent.qualname if parent else None, qual)


_NAMERS = {
    "go": _name_go, "rust": _name_rust, "c": _name_c, "cpp": _name_c, "ruby": _name_ruby,
    "php": _name_php, "javascript": _name_js, "typescript": _name_js, "tsx": _name_js,
}
