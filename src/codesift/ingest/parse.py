"""Parse a deep-language source file with tree-sitter into Symbols and References.

One compiled query per language (ingest/queries/<lang>.scm) finds definitions and uses;
this module names them, nests them and reads their signatures and docs. It never raises.

Qualified names (the retrieval layer matches the bare name and every `.`/`::` suffix):
  python   pkg.mod.Class.method, pkg.mod.outer.inner (module from the path: src/ and lib/
           dropped, __init__ -> the package); ParsedFile.module = "pkg.mod"
  go       pkg.Func, pkg.Type, pkg.(*Type).Method / pkg.(Type).Method; module = package name
  rust     Type::method (also inside `impl Trait for Type`), a::b::f for `mod`s; the impl
           block itself is a Symbol (kind impl) named "impl Trait for Type"
  java     com.acme.Outer.Inner.method (package prefix); module = package
  csharp   Ns.Sub.Class.Method (block or file-scoped namespaces)
  js/ts    Class.method, outer.inner, obj.prop for `obj.prop = function`, Foo.bar for
           `Foo.prototype.bar = ...`, Ns.Class for TS namespaces; module = ""
  c/cpp    ns::Class::method; `void Foo::bar() {}` -> Foo::bar (kind method, parent Foo)
  ruby     Mod::Class#method for instance methods, Mod::Class.method for `def self.x`
  php      Ns\\Sub\\Class::method, Ns\\func (namespace separator `\\`, member `::`)
Parents: the enclosing definition's qualname; Go methods and C++ out-of-line methods name
their receiver / owning class instead, since they have no syntactic enclosure.

Reference names: calls as written, whitespace removed around `.`, `::` and `->`
("self.save", "os.path.join", "Foo::new", "$this->save"). Imports are "module",
"module as alias" or "module:name" / "module:name as alias" / "module:*", e.g.
"os.path as p", ".x:y as z", "./y:default as x", "net/http as h", "java.util.List",
"a::b" (Rust use lists are expanded), "stdio.h", "A\\B as C"; Ruby require_relative
paths are given a leading "./". inherit / implement name the base type without generics.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from operator import itemgetter
from pathlib import PurePosixPath

from codesift.ingest.languages import load_grammar
from codesift.model import ParsedFile, Reference, Symbol

SIGNATURE_CAP = 300
REFERENCE_CAP = 200
_CLASSLIKE = frozenset({"class", "struct", "interface", "trait", "impl", "enum"})
# Nodes that wrap a definition and carry its keywords, decorators and doc comment.
_WRAPPERS = frozenset({
    "decorated_definition", "export_statement", "template_declaration", "ambient_declaration",
    "lexical_declaration", "variable_declaration", "expression_statement", "type_declaration",
})
_SINGLE_CHILD_WRAPPERS = frozenset({
    "lexical_declaration", "variable_declaration", "expression_statement", "type_declaration",
})
_SIG_FROM_WRAPPER = _WRAPPERS - {"decorated_definition", "expression_statement"}
_PREFIX_SIBLINGS = frozenset({"attribute_item", "decorator"})
_SIG_SKIP = frozenset({
    "decorator", "attribute_list", "attribute_item", "annotation", "marker_annotation",
    "comment", "line_comment", "block_comment",
})
_C_NAMES = frozenset({
    "identifier", "field_identifier", "qualified_identifier", "destructor_name",
    "operator_name", "template_function", "operator_cast", "type_identifier",
})
_NOT_CALLS = frozenset({"require", "require_relative", "import"})
_SPACE = re.compile(r"\s+")
_SPACE_AROUND_ACCESS = re.compile(r"\s*(\.|::|->|\?\.|\?->)\s*")
_GENERICS = re.compile(r"<.*>|\[.*\]$")
_COMMENT_LEAD = re.compile(r"^\s*(?:/\*\*?|/\*!|//[/!]?|#+|\*(?!/)|=begin|=end)?[ \t]?")
_COMMENT_TAIL = re.compile(r"\s*\*+/\s*$")
_XML_DOC_TAGS = re.compile(r"</?(?:summary|remarks|para)\s*>")  # C# XML doc wrappers
_PY_STRING = re.compile(r"^[rRbBuUfF]*(\"\"\"|'''|\"|')(.*)\1$", re.S)


@dataclass(frozen=True, slots=True)
class _Def:
    """A definition match before naming: the node, the query's kind, name and body nodes."""

    node: object
    kind: str
    name: object
    body: object | None


@dataclass(frozen=True, slots=True)
class _Named:
    name: str
    qualname: str
    kind: str
    parent: str | None
    child_prefix: str  # what nested definitions are qualified by (the type, for an impl)


@dataclass(frozen=True, slots=True)
class _Scope:
    start: int
    end: int
    qualname: str
    kind: str
    child_prefix: str
    ref_scope: str  # the scope references inside it belong to


class _Source:
    """The file's bytes, language and qualname prefix, shared by the helpers below."""

    __slots__ = ("src", "language", "sep", "prefix")

    def __init__(self, src: bytes, language: str, sep: str, prefix: str):
        self.src, self.language, self.sep, self.prefix = src, language, sep, prefix

    def text(self, node) -> str:
        return self.src[node.start_byte:node.end_byte].decode("utf-8", "replace")


def python_module(path: str) -> str:
    """`src/pkg/client.py` -> `pkg.client`; `pkg/__init__.py` -> `pkg`."""
    p = PurePosixPath(path)
    parts = list(p.parts[:-1]) + [p.stem if p.suffix in (".py", ".pyi", ".pyw") else p.name]
    if len(parts) > 1 and parts[0] in ("src", "lib"):
        parts = parts[1:]
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def parse_source(path: str, text: str, language: str) -> ParsedFile:
    """Symbols and references of one file; on failure a ParsedFile with `error` set."""
    try:
        return _parse(path, text, language)
    except Exception as exc:  # the chunker falls back to plain splitting; never stop indexing
        reason = _SPACE.sub(" ", f"{type(exc).__name__}: {exc}").strip()
        return ParsedFile(path, language, error=reason[:200])


def _parse(path: str, text: str, language: str) -> ParsedFile:
    grammar = load_grammar(language)
    try:
        src = text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from a lenient decoder
        src = text.encode("utf-8", "surrogatepass")
    root = grammar.parser().parse(src).root_node
    broken = _broken(root, len(src))
    if broken:
        return ParsedFile(path, language, error=broken)
    defs, refs, module_node = _collect(_matches(grammar.query, root))
    prefix = python_module(path) if language == "python" else ""
    ctx = _Source(src, language, grammar.spec.sep, prefix)
    if module_node is not None:
        ctx.prefix = _SPACE.sub("", ctx.text(module_node))
    symbols, scopes = _build_symbols(defs, ctx)
    references = _build_references(refs, scopes, ctx)
    module = ctx.prefix
    if not module and language in ("csharp", "php"):
        module = next((s.qualname for s in symbols if s.kind == "module"), "")
    return ParsedFile(path, language, tuple(symbols), tuple(references), module)


def _broken(root, size: int) -> str | None:
    """A reason to give up when errors swallow most of the file; partial errors are fine."""
    if not root.has_error:
        return None
    if root.type == "ERROR":
        return "syntax error: the file did not parse"
    bad = sum(c.end_byte - c.start_byte for c in root.children if c.type == "ERROR")
    if size and bad * 2 > size:
        return f"syntax errors cover {bad * 100 // size}% of the file"
    return None


def _matches(query, root):
    try:
        from tree_sitter import QueryCursor  # tree-sitter >= 0.25
    except ImportError:
        return query.matches(root)
    return QueryCursor(query).matches(root)


def _collect(matches) -> tuple[list[_Def], list[tuple[int, str, object]], object | None]:
    defs: dict[tuple[int, int, str], _Def] = {}
    refs: list[tuple[int, str, object]] = []
    module = None
    for _, caps in matches:
        for cap, nodes in caps.items():
            if cap.startswith("def."):
                node = nodes[0]
                key = (node.start_byte, node.end_byte, node.type)
                if key not in defs and "name" in caps:
                    body = caps.get("body")
                    defs[key] = _Def(node, cap[4:], caps["name"][0], body[0] if body else None)
            elif cap.startswith("ref."):
                kind = cap[4:]
                refs.extend((n.start_byte, kind, n) for n in nodes)
            elif cap == "module" and module is None:
                module = nodes[0]
    return list(defs.values()), refs, module


def _build_symbols(defs: list[_Def], ctx: _Source) -> tuple[list[Symbol], list[_Scope]]:
    outers = {id(d): _outer(d.node) for d in defs}
    defs.sort(key=lambda d: (outers[id(d)].start_byte, -outers[id(d)].end_byte))
    symbols: list[Symbol] = []
    scopes: list[_Scope] = []
    stack: list[_Scope] = []
    namer = _NAMERS.get(ctx.language, _name_default)
    for d in defs:
        outer = outers[id(d)]
        while stack and stack[-1].end <= outer.start_byte:
            stack.pop()
        named = namer(d, stack[-1] if stack else None, ctx)
        if named is None:
            continue
        first, doc = _leading(outer, ctx)
        if ctx.language == "python" and d.body is not None:
            doc = _py_docstring(d.body, ctx) or doc
        symbols.append(Symbol(
            name=named.name, qualname=named.qualname, kind=named.kind,
            signature=_signature(d, outer, ctx), doc=doc,
            start_line=first.start_point.row + 1, end_line=_end_row(outer) + 1,
            parent=named.parent, body_start_line=_body_line(d.body),
        ))
        ref_scope = named.child_prefix if named.kind == "impl" else named.qualname
        scope = _Scope(outer.start_byte, outer.end_byte, named.qualname, named.kind,
                       named.child_prefix, ref_scope)
        stack.append(scope)
        scopes.append(scope)
    return symbols, scopes


def _outer(node):
    outer = node
    while (p := outer.parent) is not None and p.type in _WRAPPERS:
        if p.type in _SINGLE_CHILD_WRAPPERS and p.named_child_count != 1:
            break
        outer = p
    return outer


def _end_row(node) -> int:
    # Some grammars end comments and items at column 0 of the next line.
    end = node.end_point
    return end.row - 1 if end.column == 0 and end.row > node.start_point.row else end.row


def _leading(outer, ctx: _Source):
    """The first attribute/decorator line above a definition and its doc comment block."""
    first, comments = outer, []
    row = outer.start_point.row
    sib = outer.prev_sibling
    if sib is None and outer.parent is not None:
        sib = outer.parent.prev_sibling  # Ruby puts a body's leading comments before the body
    while sib is not None and _end_row(sib) >= row - 1:
        if sib.type in _PREFIX_SIBLINGS:
            first = sib
        elif "comment" in sib.type:
            comments.append(sib)
        else:
            break
        row = sib.start_point.row
        sib = sib.prev_sibling
    return first, _clean_comments(reversed(comments), ctx)


def _clean_comments(nodes, ctx: _Source) -> str:
    lines: list[str] = []
    for node in nodes:
        for line in ctx.text(node).splitlines():
            lines.append(_COMMENT_TAIL.sub("", _COMMENT_LEAD.sub("", line, count=1)).rstrip())
    return _XML_DOC_TAGS.sub("", "\n".join(lines)).strip()


def _py_docstring(body, ctx: _Source) -> str:
    first = body.named_child(0) if body.named_child_count else None
    if first is None or first.type != "expression_statement" or first.named_child_count != 1:
        return ""
    string = first.named_child(0)
    if string.type != "string":
        return ""
    m = _PY_STRING.match(ctx.text(string))
    return inspect.cleandoc(m.group(2)) if m else ""


def _signature(d: _Def, outer, ctx: _Source) -> str:
    start_node = outer if outer.type in _SIG_FROM_WRAPPER else d.node
    start = _sig_start(start_node)
    end = d.body.start_byte if d.body is not None else d.node.end_byte
    lead = d.body.child(0) if d.body is not None and d.body.child_count else None
    if lead is not None and not lead.is_named and lead.type != "{":
        end = lead.end_byte  # a keyword opening the body, as in Go's `interface {`
    for child in d.node.children:  # Ruby keeps comments between the header and the body
        if child.start_byte >= end:
            break
        if "comment" in child.type and child.start_byte > start:
            end = child.start_byte
            break
    raw = ctx.src[start:end]
    if d.node.type == "type_definition" and d.body is not None:  # typedef struct {...} Name;
        raw += ctx.src[d.body.end_byte:d.node.end_byte]
    sig = _SPACE.sub(" ", raw.decode("utf-8", "replace")).strip().rstrip("{:;").rstrip()
    return sig if len(sig) <= SIGNATURE_CAP else sig[: SIGNATURE_CAP - 3] + "..."


def _sig_start(node) -> int:
    # Decorators and annotations are part of the range, not of the signature.
    for child in node.children:
        if child.type in _SIG_SKIP:
            continue
        if child.type == "modifiers":
            for mod in child.children:
                if mod.type not in _SIG_SKIP:
                    return mod.start_byte
            continue
        return child.start_byte
    return node.start_byte


def _body_line(body) -> int | None:
    """First line of the body's content, so `{` on the signature line stays with it."""
    if body is None:
        return None
    first = body.named_child(0) if body.named_child_count else None
    return (first or body).start_point.row + 1


# -- naming ------------------------------------------------------------------------------


def _join(prefix: str, sep: str, name: str) -> str:
    return f"{prefix}{sep}{name}" if prefix else name


def _bare(name: str) -> str:
    return re.split(r"::|\\|\.", name)[-1] or name


def _kind(kind: str, parent: _Scope | None, classlike=_CLASSLIKE) -> str:
    if kind in ("function", "method"):
        return "method" if parent is not None and parent.kind in classlike else "function"
    return kind


def _name_default(d: _Def, parent: _Scope | None, ctx: _Source, full: str | None = None) -> _Named:
    full = full if full is not None else _SPACE.sub("", ctx.text(d.name))
    base = parent.child_prefix if parent else ctx.prefix
    qual = _join(base, ctx.sep, full)
    return _Named(_bare(full), qual, _kind(d.kind, parent), parent.qualname if parent else None, qual)


def _name_go(d: _Def, parent: _Scope | None, ctx: _Source) -> _Named:
    if d.node.type != "method_declaration":
        return _name_default(d, parent, ctx)
    typ = d.node.child_by_field_name("receiver")
    typ = next((c.child_by_field_name("type") for c in typ.named_children
                if c.type == "parameter_declaration"), None) if typ else None
    star = ""
    if typ is not None and typ.type == "pointer_type":
        star, typ = "*", typ.named_child(0)
    owner = _GENERICS.sub("", ctx.text(typ)) if typ is not None else "?"
    name = ctx.text(d.name)
    qual = _join(ctx.prefix, ".", f"({star}{owner}).{name}")
    return _Named(name, qual, "method", _join(ctx.prefix, ".", owner), qual)


def _name_rust(d: _Def, parent: _Scope | None, ctx: _Source) -> _Named:
    if d.node.type != "impl_item":
        return _name_default(d, parent, ctx)
    typ = _SPACE.sub(" ", ctx.text(d.name))
    trait = d.node.child_by_field_name("trait")
    label = f"impl {_SPACE.sub(' ', ctx.text(trait))} for {typ}" if trait else f"impl {typ}"
    base = parent.child_prefix if parent else ctx.prefix
    owner = _join(base, "::", _GENERICS.sub("", typ).replace(" ", ""))
    return _Named(label, _join(base, "::", label), "impl", parent.qualname if parent else None, owner)


def _name_c(d: _Def, parent: _Scope | None, ctx: _Source) -> _Named | None:
    if d.node.type not in ("function_definition", "declaration"):
        return _name_default(d, parent, ctx)
    node, is_function = d.name, False
    for _ in range(8):  # pointer/reference/function declarators wrap the name
        if node is None or node.type in _C_NAMES:
            break
        is_function = is_function or node.type == "function_declarator"
        node = node.child_by_field_name("declarator") or node.named_child(0)
    if node is None or node.type not in _C_NAMES or not is_function:
        return None  # `int *p;` is a pointer variable, not a prototype
    full = _SPACE.sub("", ctx.text(node))
    if node.type != "qualified_identifier" or "::" not in full:
        return _name_default(d, parent, ctx, full)
    base = parent.child_prefix if parent else ctx.prefix
    owner, _, name = full.rpartition("::")
    qual = _join(base, "::", full)
    return _Named(name, qual, "method", _join(base, "::", owner), qual)


def _name_js(d: _Def, parent: _Scope | None, ctx: _Source) -> _Named:
    if d.name.type != "member_expression":
        return _name_default(d, parent, ctx)
    full = _SPACE.sub("", ctx.text(d.name))
    parent_qual = parent.qualname if parent else None
    if ".prototype." in full:  # Foo.prototype.bar = function () {} is a method of Foo
        full = full.replace(".prototype.", ".")
        return _Named(_bare(full), full, "method", full.rpartition(".")[0], full)
    return _Named(_bare(full), full, "function", parent_qual, full)


def _name_ruby(d: _Def, parent: _Scope | None, ctx: _Source) -> _Named:
    base = parent.child_prefix if parent else ""
    full = _SPACE.sub("", ctx.text(d.name))
    parent_qual = parent.qualname if parent else None
    if d.node.type == "method":
        qual = f"{base}#{full}" if base else full
        return _Named(full, qual, "method" if parent else "function", parent_qual, qual)
    if d.node.type == "singleton_method":
        qual = f"{base}.{full}" if base else full
        return _Named(full, qual, "method", parent_qual, qual)
    qual = _join(base, "::", full)
    return _Named(_bare(full), qual, d.kind, parent_qual, qual)


def _name_php(d: _Def, parent: _Scope | None, ctx: _Source) -> _Named:
    full = _SPACE.sub("", ctx.text(d.name))
    if parent is None or parent.kind == "module":
        base = parent.child_prefix if parent else ctx.prefix
        qual = _join(base, "\\", full)
    else:
        qual = f"{parent.child_prefix}::{full}"
    return _Named(_bare(full), qual, _kind(d.kind, parent), parent.qualname if parent else None, qual)


_NAMERS = {
    "go": _name_go, "rust": _name_rust, "c": _name_c, "cpp": _name_c, "ruby": _name_ruby,
    "php": _name_php, "javascript": _name_js, "typescript": _name_js, "tsx": _name_js,
}


# -- references --------------------------------------------------------------------------


def _build_references(refs, scopes: list[_Scope], ctx: _Source) -> list[Reference]:
    """Each use, tagged with the innermost enclosing definition by one sweep in byte order."""
    refs.sort(key=itemgetter(0))
    out: list[Reference] = []
    stack: list[_Scope] = []
    i = 0
    for pos, kind, node in refs:
        while i < len(scopes) and scopes[i].start <= pos:
            while stack and stack[-1].end <= scopes[i].start:
                stack.pop()
            stack.append(scopes[i])
            i += 1
        while stack and stack[-1].end <= pos:
            stack.pop()
        scope = stack[-1].ref_scope if stack else None
        line = node.start_point.row + 1
        if kind == "call":  # most references are calls: keep their path short
            name = _callee(node, ctx)
            if name and name not in _NOT_CALLS:
                out.append(Reference(kind, name[:REFERENCE_CAP], line, scope))
            continue
        for ref_kind, name in _reference_names(kind, node, ctx):
            if name:
                out.append(Reference(ref_kind, name[:REFERENCE_CAP], line, scope))
    return out


def _reference_names(kind: str, node, ctx: _Source):
    if kind == "import":
        return (("import", n) for n in _import_names(node, ctx))
    name = _GENERICS.sub("", _SPACE.sub("", ctx.text(node))).lstrip("*")
    if ctx.language == "csharp":
        kind = _csharp_base_kind(node, name)
    return ((kind, name),)


def _callee(node, ctx: _Source) -> str:
    """The called expression as written: up to the method name, never the arguments."""
    cut = node.child_by_field_name("name") or node.child_by_field_name("method")
    args = None if cut is not None else node.child_by_field_name("arguments")
    end = cut.end_byte if cut is not None else args.start_byte if args is not None else node.end_byte
    raw = ctx.src[node.start_byte:end].decode("utf-8", "replace")
    if " " not in raw and "\n" not in raw and "\t" not in raw:
        return raw  # the common case; the regexes below dominate parse time otherwise
    return _SPACE_AROUND_ACCESS.sub(r"\1", _SPACE.sub(" ", raw)).strip()


def _csharp_base_kind(node, name: str) -> str:
    # C# lists the base class and interfaces together; by convention only the first entry
    # of a class can be a class, and interface names start with I.
    decl = node.parent.parent if node.parent is not None else None
    if decl is None or decl.type == "interface_declaration":
        return "inherit"
    first = node.parent.named_child(0)
    is_first = first is not None and first.start_byte == node.start_byte
    looks_interface = re.match(r"I[A-Z]", _bare(name)) is not None
    if decl.type == "class_declaration" and is_first and not looks_interface:
        return "inherit"
    return "implement"


def _unquote(text: str) -> str:
    return text.strip().strip("\"'`<>")


def _import_names(node, ctx: _Source) -> list[str]:
    handler = _IMPORT_HANDLERS.get((ctx.language, node.type)) or _IMPORT_HANDLERS.get(node.type)
    if handler is not None:
        return handler(node, ctx)
    name = _unquote(_SPACE.sub(" ", ctx.text(node)))
    if ctx.language == "ruby" and name and not name.startswith("."):
        call = node.parent.parent if node.parent is not None else None
        method = call.child_by_field_name("method") if call is not None else None
        if method is not None and ctx.text(method) == "require_relative":
            name = "./" + name
    return [name]


def _py_import(node, ctx: _Source) -> list[str]:
    out = []
    for child in node.named_children:
        if child.type == "aliased_import":
            alias = child.child_by_field_name("alias")
            out.append(f"{ctx.text(child.child_by_field_name('name'))} as {ctx.text(alias)}")
        elif child.type == "dotted_name":
            out.append(ctx.text(child))
    return out


def _py_from_import(node, ctx: _Source) -> list[str]:
    module = node.child_by_field_name("module_name")
    mod = _SPACE.sub("", ctx.text(module)) if module is not None else ""
    names = [
        _SPACE.sub(" ", ctx.text(c)) for c in node.named_children
        if c != module and c.type in ("dotted_name", "aliased_import", "wildcard_import")
    ]
    return [f"{mod}:{n}" for n in names] or [mod]


def _js_import(node, ctx: _Source) -> list[str]:
    source = node.child_by_field_name("source")
    if source is None:
        return []
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


def _js_import_item(src: str, item, ctx: _Source) -> list[str]:
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


def _go_import(node, ctx: _Source) -> list[str]:
    path, alias = node.child_by_field_name("path"), node.child_by_field_name("name")
    name = _unquote(ctx.text(path)) if path is not None else ""
    return [f"{name} as {ctx.text(alias)}" if alias is not None else name]


def _java_import(node, ctx: _Source) -> list[str]:
    text = _SPACE.sub(" ", ctx.text(node)).strip().rstrip(";")
    text = re.sub(r"^import\s+(static\s+)?", "", text)
    return [text.replace(" ", "")]


def _rust_use(node, ctx: _Source, prefix: str = "") -> list[str]:
    if node.type == "scoped_use_list":
        path = node.child_by_field_name("path")
        head = prefix + (_SPACE.sub("", ctx.text(path)) + "::" if path is not None else "")
        lst = node.child_by_field_name("list")
        return _rust_use(lst, ctx, head) if lst is not None else [head.rstrip(":")]
    if node.type == "use_list":
        return [n for item in node.named_children for n in _rust_use(item, ctx, prefix)]
    if node.type == "use_as_clause":
        path, alias = node.child_by_field_name("path"), node.child_by_field_name("alias")
        return [f"{prefix}{_SPACE.sub('', ctx.text(path))} as {ctx.text(alias)}"]
    return [prefix + _SPACE.sub("", ctx.text(node))]


def _csharp_using(node, ctx: _Source) -> list[str]:
    alias = node.child_by_field_name("name")
    target = [c for c in node.named_children if c != alias and c.type != "comment"]
    if not target:
        return []
    name = _SPACE.sub("", ctx.text(target[-1]))
    return [f"{name} as {ctx.text(alias)}" if alias is not None else name]


def _php_use(node, ctx: _Source) -> list[str]:
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
    "import_spec": _go_import,
    "import_declaration": _java_import,
    "scoped_use_list": _rust_use, "use_list": _rust_use, "use_as_clause": _rust_use,
    "using_directive": _csharp_using,
    "namespace_use_declaration": _php_use,
}
