"""Import statements to import names, one handler per language's import syntax.
Each handler returns the names one statement imports, in the forms listed below.
"""

# Imports are "module", "module as alias" or "module:name" / "module:name as alias" /
# "module:*", e.g. "os.path as p", ".x:y as z", "./y:default as x", "net/http as h",
# "java.util.List", "a::b" (Rust use lists are expanded), "stdio.h", "A\B as C";
# Ruby require_relative paths are given a leading "./". JavaScript's `const x =
# require('./y')` is "./y as x", `const {a, b: c} = require('./y')` is "./y:a" and
# "./y:b as c", and `export default name;` is ":name as default" (module "": the file itself).

from __future__ import annotations

import re

from codesift.ingest.parse_common import SPACE, SourceText

_JAVA_IMPORT = re.compile(r"^import\s+(static\s+)?")


def _unquote(text: str) -> str:
    return text.strip().strip("\"'`<>")


def import_names(node, ctx: SourceText) -> list[str]:
    """The names one import node (a statement, spec, use list or require argument) brings in."""
    handler = _IMPORT_HANDLERS.get((ctx.language, node.type)) or _IMPORT_HANDLERS.get(node.type)
    if handler is not None:
        return handler(node, ctx)
    name = _unquote(SPACE.sub(" ", ctx.text(node)))
    if ctx.language == "ruby" and name and not name.startswith("."):
        call = node.parent.parent if node.parent is not None else None
        method = call.child_by_field_name("method") if call is not None else None
        if method is not None and ctx.text(method) == "require_relative":
            name = "./" + name
    return [name]


def _py_import(node, ctx: SourceText) -> list[str]:
    out = []
    for child in node.named_children:
        if child.type == "aliased_import":
            alias = child.child_by_field_name("alias")
            out.append(f"{ctx.text(child.child_by_field_name('name'))} as {ctx.text(alias)}")
        elif child.type == "dotted_name":
            out.append(ctx.text(child))
    return out


def _py_from_import(node, ctx: SourceText) -> list[str]:
    module = node.child_by_field_name("module_name")
    mod = SPACE.sub("", ctx.text(module)) if module is not None else ""
    names = [
        SPACE.sub(" ", ctx.text(c)) for c in node.named_children
        if c != module and c.type in ("dotted_name", "aliased_import", "wildcard_import")
    ]
    return [f"{mod}:{n}" for n in names] or [mod]


def _js_import(node, ctx: SourceText) -> list[str]:
    source = node.child_by_field_name("source")
    if source is None:
        return _js_sourceless(node, ctx)
    src = _unquote(ctx.text(source))
    out = []
    for clause in node.named_children:
        if clause.type not in ("import_clause", "export_clause", "namespace_export"):
            continue
        for item in [clause, *clause.named_children] if clause.type != "import_clause" else clause.named_children:
            out.extend(_js_import_item(src, item, ctx))
    if node.type == "export_statement" and not out:
        out.append(f"{src}:*")
    return out or [src]


def _js_import_item(src: str, item, ctx: SourceText) -> list[str]:
    if item.type == "identifier":
        return [f"{src}:default as {ctx.text(item)}"]
    if item.type in ("namespace_import", "namespace_export"):
        alias = item.named_child(item.named_child_count - 1) if item.named_child_count else None
        return [f"{src}:* as {ctx.text(alias)}"] if alias is not None else [f"{src}:*"]
    if item.type == "named_imports":
        return [n for spec in item.named_children for n in _js_import_item(src, spec, ctx)]
    if item.type in ("import_specifier", "export_specifier"):
        name, alias = item.child_by_field_name("name"), item.child_by_field_name("alias")
        if name is None:
            return []
        return [f"{src}:{ctx.text(name)}" + (f" as {ctx.text(alias)}" if alias is not None else "")]
    return []


def _js_sourceless(node, ctx: SourceText) -> list[str]:
    """`export default name;` and TypeScript's `import x = require('./y')`."""
    value = node.child_by_field_name("value")
    if value is not None and value.type == "identifier":
        return [f":{ctx.text(value)} as default"]
    for clause in node.named_children:
        source = clause.child_by_field_name("source")
        if clause.type == "import_require_clause" and source is not None:
            alias = clause.named_child(0)
            return [f"{_unquote(ctx.text(source))} as {ctx.text(alias)}"]
    return []


def _js_require(node, ctx: SourceText) -> list[str]:
    """The string argument of require(): what the declaration around the call binds."""
    spec = _unquote(ctx.text(node))
    call = node.parent.parent if node.parent is not None else None
    outer = call.parent if call is not None else None
    member = None
    if outer is not None and outer.type == "member_expression":  # require('./y').x
        member = outer.child_by_field_name("property")
        outer = outer.parent
    if outer is None or outer.type != "variable_declarator":
        return [spec]  # a bare require() runs the module for its side effects
    target = outer.child_by_field_name("name")
    if target is not None and target.type == "identifier":
        name = ctx.text(target)
        if member is not None:
            return [f"{spec}:{ctx.text(member)} as {name}"]
        return [f"{spec} as {name}"]
    if target is not None and target.type == "object_pattern" and member is None:
        return [n for item in target.named_children for n in _js_pattern_item(spec, item, ctx)]
    return [spec]


def _js_pattern_item(spec: str, item, ctx: SourceText) -> list[str]:
    if item.type == "shorthand_property_identifier_pattern":
        return [f"{spec}:{ctx.text(item)}"]
    key, value = item.child_by_field_name("key"), item.child_by_field_name("value")
    if item.type == "pair_pattern" and key is not None and value is not None \
            and value.type == "identifier":
        return [f"{spec}:{ctx.text(key)} as {ctx.text(value)}"]
    return []


def _go_import(node, ctx: SourceText) -> list[str]:
    path, alias = node.child_by_field_name("path"), node.child_by_field_name("name")
    name = _unquote(ctx.text(path)) if path is not None else ""
    return [f"{name} as {ctx.text(alias)}" if alias is not None else name]


def _java_import(node, ctx: SourceText) -> list[str]:
    text = SPACE.sub(" ", ctx.text(node)).strip().rstrip(";")
    text = _JAVA_IMPORT.sub("", text)
    return [text.replace(" ", "")]


def _rust_use(node, ctx: SourceText, prefix: str = "") -> list[str]:
    if node.type == "scoped_use_list":
        path = node.child_by_field_name("path")
        head = prefix + (SPACE.sub("", ctx.text(path)) + "::" if path is not None else "")
        lst = node.child_by_field_name("list")
        return _rust_use(lst, ctx, head) if lst is not None else [head.rstrip(":")]
    if node.type == "use_list":
        return [n for item in node.named_children for n in _rust_use(item, ctx, prefix)]
    if node.type == "use_as_clause":
        path, alias = node.child_by_field_name("path"), node.child_by_field_name("alias")
        return [f"{prefix}{SPACE.sub('', ctx.text(path))} as {ctx.text(alias)}"]
    return [prefix + SPACE.sub("", ctx.text(node))]


def _csharp_using(node, ctx: SourceText) -> list[str]:
    alias = node.child_by_field_name("name")
    target = [c for c in node.named_children if c != alias and c.type != "comment"]
    if not target:
        return []
    name = SPACE.sub("", ctx.text(target[-1]))
    return [f"{name} as {ctx.text(alias)}" if alias is not None else name]


def _php_use(node, ctx: SourceText) -> list[str]:
    prefix, out = "", []
    group = node.child_by_field_name("body")
    for child in node.named_children:
        if child.type == "namespace_name" and group is not None:
            prefix = ctx.text(child).strip("\\") + "\\"
    clauses = group.named_children if group is not None else node.named_children
    for clause in clauses:
        if clause.type != "namespace_use_clause":
            continue
        alias = clause.child_by_field_name("alias")
        target = next((c for c in clause.named_children if c != alias), None)
        if target is None:
            continue
        name = prefix + ctx.text(target).lstrip("\\")
        out.append(f"{name} as {ctx.text(alias)}" if alias is not None else name)
    return out


_IMPORT_HANDLERS = {
    ("python", "import_statement"): _py_import,
    "import_from_statement": _py_from_import,
    "export_statement": _js_import,
    ("javascript", "import_statement"): _js_import,
    ("typescript", "import_statement"): _js_import,
    ("tsx", "import_statement"): _js_import,
    ("javascript", "string"): _js_require,
    ("typescript", "string"): _js_require,
    ("tsx", "string"): _js_require,
    "import_spec": _go_import,
    "import_declaration": _java_import,
    "scoped_use_list": _rust_use, "use_list": _rust_use, "use_as_clause": _rust_use,
    "using_directive": _csharp_using,
    "namespace_use_declaration": _php_use,
}
