"""The type names one annotation uses: `Optional[Foo]` -> Foo, `Map<string, a.Bar>` -> Map,
a.Bar. The queries capture whole annotations (@ref.reference); this walks each one.
"""

# A name is a leaf type node ("Foo") or a qualified one taken whole ("a.Bar", "pkg.Saver",
# "crate::m::Bar"); everything else is walked into (generic arguments, unions, pointers,
# function types). Left out: the language's own builtin type names where the grammar does
# not set them apart (Python's int/str, Go's int/string/error, Java's `var`), Python's typing
# special forms (Optional, Any: no repository defines them; `Optional[Foo]` still records
# Foo), Rust's `Self`, and single letters, which are type parameters by convention (T, K,
# V) — they would only resolve by name to some unrelated class `T`.

from __future__ import annotations

import builtins
import re

from codesift.ingest.parse_common import SourceText

_PY_CONTAINERS = frozenset({"type", "generic_type", "type_parameter", "union_type", "subscript",
                            "list", "tuple", "binary_operator", "parenthesized_expression"})
_FORWARD_REF = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
_TYPING_FORMS = frozenset(
    "Annotated Any Callable ClassVar Concatenate Dict Final FrozenSet List Literal LiteralString"
    " Never NoReturn NotRequired Optional Required Self Set Tuple TypeAlias TypeGuard Union"
    " Unpack".split())
_GO_PREDECLARED = frozenset(
    "any bool byte comparable complex64 complex128 error float32 float64 int int8 int16 int32"
    " int64 rune string uint uint8 uint16 uint32 uint64 uintptr".split())


class _Names:
    """Per-language node types: names, qualified names taken whole, subtrees not walked."""

    __slots__ = ("leaf", "qualified", "skip", "ignore")

    def __init__(self, leaf: str, qualified: str, skip: str = "", ignore=frozenset()):
        self.leaf = frozenset(leaf.split())
        self.qualified = frozenset(qualified.split())
        self.skip = frozenset(skip.split())
        self.ignore = ignore  # names never recorded


_TS = _Names("type_identifier", "nested_type_identifier",
             # a nested annotation (a function type's parameter) is captured on its own;
             # `typeof x` names a value
             "type_annotation type_parameters type_query predefined_type literal_type")
_NAMES = {
    "python": _Names("identifier", "attribute", ignore=frozenset(dir(builtins)) | _TYPING_FORMS),
    "typescript": _TS,
    "tsx": _TS,
    "java": _Names("type_identifier", "scoped_type_identifier",
                   "type_parameters marker_annotation annotation dimensions",
                   frozenset({"var"})),
    "go": _Names("type_identifier", "qualified_type", "type_parameter_list literal_value",
                 _GO_PREDECLARED),
    "rust": _Names("type_identifier", "scoped_type_identifier", "lifetime type_parameters",
                   frozenset({"Self"})),
    "csharp": _Names("identifier", "qualified_name alias_qualified_name",
                     "array_rank_specifier type_parameter_list", frozenset({"var", "dynamic"})),
}


def type_names(node, ctx: SourceText):
    """(name, start byte) of each type name in the annotation `node`, in source order."""
    names = _NAMES.get(ctx.language)
    if names is None:
        return []
    if ctx.language == "python":
        found = _python_names(node, ctx, names)
    else:
        found = _names(node, ctx, names)
    return [(n, pos) for n, pos in found if len(n) > 1 and n not in names.ignore]


def _names(node, ctx: SourceText, names: _Names) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    if node.type in names.leaf or node.type in names.qualified:
        todo = [node]
    else:  # the captured annotation itself may be of a kind not walked when nested
        todo = list(reversed(node.named_children))
    while todo:
        n = todo.pop()
        kind = n.type
        if kind in names.leaf:
            out.append((ctx.text(n), n.start_byte))
        elif kind in names.qualified:
            out.append((ctx.compact(n), n.start_byte))
        elif kind == "tuple_element":  # C#: (Foo a, int b) names its elements
            typ = n.child_by_field_name("type")
            if typ is not None:
                todo.append(typ)
        elif kind not in names.skip:
            todo.extend(reversed(n.named_children))
    return out


def _python_names(node, ctx: SourceText, names: _Names) -> list[tuple[str, int]]:
    """Python annotations are expressions: only the type-shaped ones are walked (never a
    call's arguments), and a string is a forward reference when it is one dotted name."""
    out: list[tuple[str, int]] = []
    todo = [node]
    while todo:
        n = todo.pop()
        kind = n.type
        if kind in names.leaf:
            out.append((ctx.text(n), n.start_byte))
        elif kind in names.qualified:
            out.append((ctx.compact(n), n.start_byte))
        elif kind == "string":
            text = ctx.text(n).strip("\"'")
            if _FORWARD_REF.fullmatch(text):
                out.append((text, n.start_byte))
        elif kind in _PY_CONTAINERS:
            children = n.named_children
            if kind in ("generic_type", "subscript") and children \
                    and ctx.text(children[0]).endswith("Literal"):
                children = children[:1]  # Literal["r", "w"] holds values, not types
            todo.extend(reversed(children))
    return out
