"""Definitions (functions, methods, type-like classes) and their line ranges, per language.

BM25-chunk cuts its chunks from them; history mining maps changed lines to symbols with them.
"""

# Self-contained on purpose, like baselines.py: the engine's parser (ingest/parse.py) may
# change what it calls a definition, and the floor and the gold symbols must not move with it.
# One walk, configured per grammar by a table, so a language is a row rather than a module.

from __future__ import annotations

import importlib
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Callable, Mapping, Sequence

__all__ = ["Definition", "SOURCE_EXTENSIONS", "definitions", "innermost", "language_of"]


@dataclass(frozen=True, slots=True)
class Definition:
    kind: str  # "function", "method" or "class" (any type-like container, Rust impl blocks too)
    # Qualified: Class.method, outer.inner, Receiver.method (Go), Type.fn (Rust impl), no
    # namespaces or packages. A JS class expression's name is "", as the floor always had it.
    name: str
    start_line: int  # 1-based, inclusive; decorators / attributes / annotations included
    end_line: int  # 1-based, inclusive
    leaf: bool  # not nested inside a function: what BM25-chunk makes a chunk of


_LANGUAGES: dict[str, str] = {
    **dict.fromkeys((".py", ".pyi"), "python"),
    **dict.fromkeys((".js", ".mjs", ".cjs", ".jsx"), "javascript"),
    **dict.fromkeys((".ts", ".mts", ".cts", ".tsx"), "typescript"),
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    # .h is C, as the engine's registry says; a header written in C++ is recognised by its
    # text in definitions() and parsed as C++ (the C grammar turns classes into errors).
    **dict.fromkeys((".c", ".h"), "c"),
    **dict.fromkeys((".cc", ".cpp", ".cxx", ".hpp", ".hh", ".hxx", ".h++", ".c++"), "cpp"),
    ".cs": "c_sharp",
    ".rb": "ruby",
    ".php": "php",
}
SOURCE_EXTENSIONS: frozenset[str] = frozenset(_LANGUAGES)

_CPP_HEADER = re.compile(
    r"^[ \t]*(?:class[ \t]+\w+[^;{()]*\{|namespace\b[\w: \t]*\{|template[ \t]*<"
    r"|(?:public|private|protected)[ \t]*:|extern[ \t]+\"C\+\+\")",
    re.MULTILINE,
)


def language_of(path: str) -> str | None:
    return _LANGUAGES.get(PurePosixPath(path).suffix.lower())


# --- names --------------------------------------------------------------------------------

def _text(node) -> str:
    return node.text.decode("utf-8", "replace") if node is not None else ""


def _field_name(node) -> str:
    return _text(node.child_by_field_name("name"))


_WRAPPED_TYPES = frozenset({"pointer_type", "reference_type", "parenthesized_type",
                            "generic_type", "dynamic_type", "bounded_type", "abstract_type"})


def _type_name(node) -> str:
    """The bare name of a written type: `*List[T]` → List, `&'a std::vec::Vec<u8>` → Vec,
    `dyn Tuplable + '_` → Tuplable; `[u8]` or `(A, B)` as written."""
    while node is not None:
        if node.type in _WRAPPED_TYPES:
            node = (node.child_by_field_name("type") or node.child_by_field_name("trait")
                    or (node.named_children[0] if node.type == "bounded_type" else None)
                    or (node.named_children[-1] if node.named_children else None))
        elif node.type in ("scoped_type_identifier", "qualified_type", "template_type",
                           "qualified_identifier"):
            node = node.child_by_field_name("name")
        else:
            return _text(node)
    return ""


def _go_method_name(node) -> str:
    receiver = node.child_by_field_name("receiver")
    params = receiver.named_children if receiver is not None else []
    params = [c for c in params if c.type == "parameter_declaration"]
    owner = _type_name(params[0].child_by_field_name("type")) if params else ""
    name = _field_name(node)
    return f"{owner}.{name}" if owner and name else name


_C_NAMES = frozenset({"identifier", "field_identifier", "type_identifier", "destructor_name",
                      "operator_name", "operator_cast", "template_function",
                      "qualified_identifier"})


_C_KEYWORDS = frozenset("namespace class struct union enum template typedef extern return if "
                        "else while for switch do case sizeof".split())


def _declared(decl):
    """The name node a C declarator chain ends in: `(*getfn(void))(int)` → getfn."""
    while decl is not None and decl.type not in _C_NAMES:
        decl = decl.child_by_field_name("declarator") or next(
            (c for c in decl.named_children
             if c.type.endswith("declarator") or c.type in _C_NAMES), None)
    return decl


def _c_function_name(node) -> str:
    """C `int *make(void)` → make; C++ `Stack<T>::size` → Stack.size, every written scope
    kept (a namespace and a class look alike there)."""
    decl = _declared(node.child_by_field_name("declarator"))
    parts: list[str] = []
    while decl is not None and decl.type == "qualified_identifier":
        scope = decl.child_by_field_name("scope")
        if scope is not None:
            parts.append(_type_name(scope))
        decl = decl.child_by_field_name("name")
    if decl is None:
        return ""
    if decl.type == "template_function":
        decl = decl.child_by_field_name("name")
    if decl.type == "operator_cast":  # operator bool() const → operator bool
        name = "operator " + " ".join(_text(decl.child_by_field_name("type")).split())
    else:
        name = " ".join(_text(decl).split())
    if name in _C_KEYWORDS:  # a macro read as a type: `BEGIN_NS namespace x {`; look inside
        return ""
    return ".".join(p for p in [*parts, name] if p)


def _c_type_name(node) -> str:
    name = node.child_by_field_name("name")
    if name is not None:
        return _type_name(name)
    parent = node.parent  # typedef struct { ... } name_t;
    if parent is not None and parent.type == "type_definition":
        return _text(_declared(parent.child_by_field_name("declarator")))
    return ""


def _rust_impl_name(node) -> str:
    return _type_name(node.child_by_field_name("type"))


def _ruby_name(node) -> str:
    return _field_name(node).replace("::", ".").lstrip(".")


def _cs_operator_name(node) -> str:
    if node.type == "operator_declaration":  # operator +
        return "operator" + _text(node.child_by_field_name("operator"))
    return "operator " + _text(node.child_by_field_name("type"))  # implicit operator int


def _tilde_name(node) -> str:
    return "~" + _field_name(node)


# --- what counts ----------------------------------------------------------------------------


def _has_body(node) -> bool:
    # A method without a body (abstract, interface) is a declaration: its lines stay with
    # its class, as TypeScript signatures and C prototypes do.
    return node.child_by_field_name("body") is not None


def _cs_property_has_code(node) -> bool:
    if node.child_by_field_name("value") is not None:  # int X => 1;
        return node.child_by_field_name("value").type == "arrow_expression_clause"
    accessors = node.child_by_field_name("accessors")
    return accessors is not None and any(
        a.child_by_field_name("body") is not None for a in accessors.named_children)


def _go_type_is_class(node) -> bool:
    kind = node.child_by_field_name("type")
    return kind is not None and kind.type in ("struct_type", "interface_type")


def _decorated(node):
    return node.child_by_field_name("definition") or node


def _template_target(node):
    while node.type == "template_declaration":
        inner = next((c for c in node.named_children if c.type in _CPP_TEMPLATED), None)
        if inner is None:
            return node
        node = inner
    return node


_CPP_FUNCS = frozenset({"function_definition"})
_CPP_CLASSES = frozenset({"class_specifier", "struct_specifier", "union_specifier",
                          "enum_specifier"})
_CPP_TEMPLATED = _CPP_FUNCS | _CPP_CLASSES | {"template_declaration"}


@dataclass(frozen=True, slots=True)
class _Grammar:
    loader: tuple[str, str]  # (module, function) giving the tree-sitter language
    functions: frozenset[str]
    classes: frozenset[str]
    scopes: frozenset[str] = frozenset()  # prefix what they hold, define nothing (Rust mod)
    methods: frozenset[str] = frozenset()  # methods wherever written (an anonymous class's)
    # node type → the definition it holds; the wrapper lends it its first line (decorators)
    wrappers: Mapping[str, Callable] = field(default_factory=dict)
    attributes: frozenset[str] = frozenset()  # preceding siblings that belong to the next item
    names: Mapping[str, Callable] = field(default_factory=dict)  # node type → name; else `name`
    accept: Mapping[str, Callable] = field(default_factory=dict)  # node type → is it one
    js_bindings: bool = False  # `const f = () => ...` and `obj.prop = function` define f, obj.prop
    unnamed: bool = False  # keep a definition without a name (JS class expressions, as ever)


_JS = dict(
    functions=frozenset({"function_declaration", "generator_function_declaration",
                         "method_definition"}),
    classes=frozenset({"class_declaration", "class"}),
    js_bindings=True,
    unnamed=True,
)
_C_FAMILY = dict(
    names={"function_definition": _c_function_name, **dict.fromkeys(_CPP_CLASSES, _c_type_name)},
    accept=dict.fromkeys(_CPP_CLASSES, _has_body),
)
_JAVA_METHODS = frozenset({"method_declaration", "constructor_declaration",
                           "compact_constructor_declaration"})
_CS_METHODS = frozenset({"method_declaration", "constructor_declaration", "destructor_declaration",
                         "operator_declaration", "conversion_operator_declaration",
                         "property_declaration"})
_GRAMMARS: dict[str, _Grammar] = {
    "python": _Grammar(
        ("tree_sitter_python", "language"), frozenset({"function_definition"}),
        frozenset({"class_definition"}), wrappers={"decorated_definition": _decorated}),
    "javascript": _Grammar(("tree_sitter_javascript", "language"), **_JS),
    "typescript": _Grammar(("tree_sitter_typescript", "language_typescript"), **_JS),
    "tsx": _Grammar(("tree_sitter_typescript", "language_tsx"), **_JS),
    "go": _Grammar(
        ("tree_sitter_go", "language"), frozenset({"function_declaration", "method_declaration"}),
        frozenset({"type_spec"}), methods=frozenset({"method_declaration"}),
        names={"method_declaration": _go_method_name},
        accept={"type_spec": _go_type_is_class}),
    "rust": _Grammar(
        ("tree_sitter_rust", "language"), frozenset({"function_item"}),
        frozenset({"struct_item", "enum_item", "union_item", "trait_item", "impl_item"}),
        scopes=frozenset({"mod_item"}), attributes=frozenset({"attribute_item"}),
        names={"impl_item": _rust_impl_name}),
    "java": _Grammar(
        ("tree_sitter_java", "language"),
        _JAVA_METHODS, frozenset({"class_declaration", "interface_declaration", "enum_declaration",
                                  "record_declaration", "annotation_type_declaration"}),
        methods=_JAVA_METHODS,
        accept={"method_declaration": _has_body}),
    "c": _Grammar(("tree_sitter_c", "language"), _CPP_FUNCS, _CPP_CLASSES - {"class_specifier"},
                  **_C_FAMILY),
    "cpp": _Grammar(("tree_sitter_cpp", "language"), _CPP_FUNCS, _CPP_CLASSES,
                    wrappers={"template_declaration": _template_target}, **_C_FAMILY),
    "c_sharp": _Grammar(
        ("tree_sitter_c_sharp", "language"),
        _CS_METHODS | {"local_function_statement"},
        frozenset({"class_declaration", "struct_declaration", "interface_declaration",
                   "enum_declaration", "record_declaration"}),
        methods=_CS_METHODS,
        names={"destructor_declaration": _tilde_name, "operator_declaration": _cs_operator_name,
               "conversion_operator_declaration": _cs_operator_name},
        accept={"method_declaration": _has_body, "property_declaration": _cs_property_has_code}),
    "ruby": _Grammar(
        ("tree_sitter_ruby", "language"), frozenset({"method", "singleton_method"}),
        frozenset({"class", "module"}), names={"class": _ruby_name, "module": _ruby_name}),
    "php": _Grammar(
        ("tree_sitter_php", "language_php"),
        frozenset({"function_definition", "method_declaration"}),
        frozenset({"class_declaration", "interface_declaration", "trait_declaration",
                   "enum_declaration"}),
        methods=frozenset({"method_declaration"}), accept={"method_declaration": _has_body}),
}


@lru_cache(maxsize=None)
def _parser(grammar: str):
    import tree_sitter

    module, function = _GRAMMARS[grammar].loader
    language = tree_sitter.Language(getattr(importlib.import_module(module), function)())
    return tree_sitter.Parser(language)


@lru_cache(maxsize=None)
def _candidates(grammar: str):
    """A query for every node that may be or hold a definition. The walk skips each subtree
    without one: visiting every node in Python cost 2-3x the parse; the query runs in C."""
    import tree_sitter

    g, language = _GRAMMARS[grammar], _parser(grammar).language
    kinds = g.functions | g.classes | g.scopes | (_FUNC_VALUES if g.js_bindings else frozenset())
    present = sorted(k for k in kinds if language.id_for_node_kind(k, True))
    return tree_sitter.Query(language, "[" + " ".join(f"({k})" for k in present) + "] @d")


def _grammar_of(path: str, text: str) -> str | None:
    language = language_of(path)
    suffix = PurePosixPath(path).suffix.lower()
    if suffix == ".tsx":
        return "tsx"
    if suffix == ".h" and _CPP_HEADER.search(text):
        return "cpp"
    return language


# --- the walk -------------------------------------------------------------------------------

_FUNC_VALUES = frozenset({"function_expression", "function", "arrow_function",
                          "generator_function"})


def _js_function_binding(node) -> str | None:
    """`const f = () => ...` → f, `obj.prop = function () {...}` → obj.prop, else None."""
    if node.type in ("lexical_declaration", "variable_declaration"):
        decls = [c for c in node.named_children if c.type == "variable_declarator"]
        if len(decls) == 1:
            value = decls[0].child_by_field_name("value")
            if value is not None and value.type in _FUNC_VALUES:
                return _field_name(decls[0])
    if node.type == "expression_statement" and node.named_children:
        expr = node.named_children[0]
        if expr.type == "assignment_expression":
            right = expr.child_by_field_name("right")
            left = expr.child_by_field_name("left")
            if right is not None and right.type in _FUNC_VALUES and left is not None:
                return _text(left)
    return None


def _first_line(node, g: _Grammar) -> int:
    start = node.start_point[0]
    prev = node.prev_named_sibling
    while prev is not None and prev.type in g.attributes:  # Rust: #[derive(..)] struct S
        start, prev = prev.start_point[0], prev.prev_named_sibling
    return start + 1


def _walk(root, g: _Grammar, starts: Sequence[int]) -> list[Definition]:
    """Every definition under `root` in source order (a parent before its members).

    A class contributes only its body; a function is walked whole for nested definitions,
    which are not leaves. Anything else is looked through, keeping the name prefix, so a
    definition inside a namespace, an `if`, or an anonymous function is found at its
    enclosing level. A function directly in a named class is a method, and so is one whose
    name is written qualified (a Go receiver, C++ `Foo::bar`) or whose node type is only
    ever a method (Java's inside an anonymous class).
    """
    out: list[Definition] = []
    # (children still to visit, name prefix, inside a function, directly in a named class)
    stack = [(iter(root.named_children), "", False, False)]
    while stack:
        children, prefix, in_func, in_class = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            continue
        unwrap = g.wrappers.get(child.type)
        target = unwrap(child) if unwrap else child
        kind, name = _classify(target, g)
        if kind is None and g.js_bindings:
            name = _js_function_binding(child)
            kind = "binding" if name is not None else None
        if kind is None or (not name and not g.unnamed):
            if _holds(starts, child, inclusive=True):
                stack.append((iter(child.named_children), prefix, in_func, in_class))
            continue
        qual = f"{prefix}.{name}" if prefix else name
        if kind == "scope":
            body = target.child_by_field_name("body")
            if body is not None and _holds(starts, body, inclusive=True):
                stack.append((iter(body.named_children), qual, in_func, False))
            continue
        span = (_first_line(child, g) if g.attributes else child.start_point[0] + 1,
                child.end_point[0] + 1)
        if kind == "class":
            out.append(Definition("class", qual, *span, not in_func))
            body = target.child_by_field_name("body")
            if body is not None and _holds(starts, body, inclusive=True):
                stack.append((iter(body.named_children), qual, in_func, bool(qual)))
            continue
        method = kind == "function" and (
            in_class or target.type in g.methods or (target.type in g.names and "." in name))
        out.append(Definition("method" if method else "function", qual, *span, not in_func))
        nested = child if kind == "binding" else target
        if _holds(starts, nested):
            stack.append((iter(nested.named_children), qual, True, False))
    return out


def _holds(starts: Sequence[int], node, inclusive: bool = False) -> bool:
    """Whether a candidate starts inside `node` (at its first byte too when inclusive)."""
    i = (bisect_left if inclusive else bisect_right)(starts, node.start_byte)
    return i < len(starts) and starts[i] < node.end_byte


def _classify(node, g: _Grammar) -> tuple[str | None, str]:
    kind = ("function" if node.type in g.functions else "class" if node.type in g.classes
            else "scope" if node.type in g.scopes else None)
    if kind is None:
        return None, ""
    accept = g.accept.get(node.type)
    if accept is not None and not accept(node):
        return None, ""
    return kind, g.names.get(node.type, _field_name)(node)


def definitions(path: str, text: str) -> list[Definition]:
    """All definitions in `text`, nested ones included, sorted by (start_line, -end_line).

    [] for an unknown language or when tree-sitter gives no tree. A syntax error does not
    empty the list: tree-sitter recovers and the definitions around the error still count.
    """
    grammar = _grammar_of(path, text)
    if grammar is None:
        return []
    try:
        tree = _parser(grammar).parse(text.encode("utf-8", "replace"))
    except (ValueError, UnicodeError):  # cancelled or impossible parse: no tree
        return []
    if tree is None:
        return []
    from tree_sitter import QueryCursor

    candidates = QueryCursor(_candidates(grammar)).captures(tree.root_node).get("d", ())
    found = _walk(tree.root_node, _GRAMMARS[grammar], sorted(n.start_byte for n in candidates))
    found.sort(key=lambda d: (d.start_line, -d.end_line))  # stable: ties keep source order
    return found


def innermost(defs: Sequence[Definition], line: int) -> Definition | None:
    """The smallest definition containing the 1-based `line` (the later one on a tie,
    which is the nested one in definitions()' order)."""
    best: Definition | None = None
    for d in defs:
        if d.start_line <= line <= d.end_line and (
                best is None or d.end_line - d.start_line <= best.end_line - best.start_line):
            best = d
    return best
