"""Reference matches to References: calls, imports, inherit/implement, type uses, each
tagged with the innermost enclosing definition and its line, in one sweep in byte order.
"""

# Reference names: calls as written, whitespace removed around `.`, `::` and `->`
# ("self.save", "os.path.join", "Foo::new", "$this->save"). Imports: see parse_imports.py.
# inherit / implement name the base type without generics. reference: a type name an
# annotation uses (parse_types.py), recorded once per enclosing definition however often
# that definition writes it: a type use says "depends on", not "how often".

from __future__ import annotations

import re
from operator import itemgetter

from codesift.ingest.parse_common import GENERICS, SPACE, Scope, SourceText, bare
from codesift.ingest.parse_imports import import_names
from codesift.ingest.parse_types import type_names
from codesift.model import Reference

REFERENCE_CAP = 200
_NOT_CALLS = frozenset({"require", "require_relative", "import"})
_SPACE_AROUND_ACCESS = re.compile(r"\s*(\.|::|->|\?\.|\?->)\s*")
_INTERFACE_NAME = re.compile(r"I[A-Z]")


def build_references(refs: list[tuple[int, str, object]], scopes: list[Scope],
                     ctx: SourceText) -> list[Reference]:
    """refs are (start byte, kind, node); scopes are in source order, as build_symbols gives."""
    refs.sort(key=itemgetter(0))
    src = ctx.src
    out: list[Reference] = []
    stack: list[Scope] = []
    i, n_scopes = 0, len(scopes)
    scope = None
    line, seen = 1, 0  # lines counted up to byte `seen`: cheaper than node.start_point
    locals_of: dict[tuple[int, int], frozenset[str]] = {}
    types_seen: set[tuple[str | None, str]] = set()
    for pos, kind, node in refs:
        if (i < n_scopes and scopes[i].start <= pos) or (stack and stack[-1].end <= pos):
            i = _enter(scopes, i, pos, stack)
            scope = stack[-1].ref_scope if stack else None
        line += src.count(b"\n", seen, pos)
        seen = pos
        if kind == "call":  # most references are calls: keep their path short
            name = _callee(node, src)
            if name and name not in _NOT_CALLS:
                out.append(Reference(kind, name[:REFERENCE_CAP], line, scope))
            continue
        if kind == "reference":
            for name, start in type_names(node, ctx):
                if (scope, name) not in types_seen:
                    types_seen.add((scope, name))
                    out.append(Reference(kind, name[:REFERENCE_CAP],
                                         line + src.count(b"\n", pos, start), scope))
            continue
        if kind == "name_call":  # Ruby: a bare name is a call unless it is a local
            if not _ruby_local(node, ctx, locals_of):
                out.append(Reference("call", ctx.text(node), line, scope))
            continue
        for ref_kind, name in _reference_names(kind, node, ctx):
            if name:
                out.append(Reference(ref_kind, name[:REFERENCE_CAP], line, scope))
    return out


def _enter(scopes: list[Scope], i: int, pos: int, stack: list[Scope]) -> int:
    """Bring the stack of enclosing scopes up to byte `pos`; returns the next scope to enter."""
    while i < len(scopes) and scopes[i].start <= pos:
        while stack and stack[-1].end <= scopes[i].start:
            stack.pop()
        stack.append(scopes[i])
        i += 1
    while stack and stack[-1].end <= pos:
        stack.pop()
    return i


def _reference_names(kind: str, node, ctx: SourceText):
    if kind == "import":
        return (("import", n) for n in import_names(node, ctx))
    name = GENERICS.sub("", ctx.compact(node)).lstrip("*")
    if ctx.language == "csharp":
        kind = _csharp_base_kind(node, name)
    return ((kind, name),)


def _callee(node, src: bytes) -> str:
    """The called expression as written: up to the method name, never the call's arguments."""
    end = node.end_byte
    if node.child_count:  # a leaf (most callees are bare identifiers) has no fields
        cut = node.child_by_field_name("name") or node.child_by_field_name("method")
        if cut is not None:
            end = cut.end_byte
        # A callee with arguments of its own is a call's result (`getattr(o, n)()`): kept
        # whole, so the dynamic call stays visible instead of posing as a second `getattr`.
    raw = src[node.start_byte:end].decode("utf-8", "replace")
    if " " not in raw and "\n" not in raw and "\t" not in raw:
        return raw  # the common case; the regexes below dominate parse time otherwise
    return _SPACE_AROUND_ACCESS.sub(r"\1", SPACE.sub(" ", raw)).strip()


_RUBY_SCOPES = frozenset({"method", "singleton_method", "class", "module", "program", "lambda"})
_RUBY_PARAMS = frozenset({"method_parameters", "block_parameters", "lambda_parameters"})
_RUBY_ASSIGN = frozenset({"assignment", "operator_assignment"})


def _ruby_local(node, ctx: SourceText, cache: dict[tuple[int, int], frozenset[str]]) -> bool:
    """A bare Ruby name reads a local when the enclosing method assigns it or takes it as a
    parameter (blocks see their method's locals); otherwise it calls a method on self."""
    scope = node.parent
    while scope is not None and scope.type not in _RUBY_SCOPES:
        scope = scope.parent
    if scope is None:
        return False
    key = (scope.start_byte, scope.end_byte)  # a class at byte 0 starts where the file does
    names = cache.get(key)
    if names is None:
        names = cache[key] = _ruby_assigned(scope, ctx)
    return ctx.text(node) in names


def _ruby_assigned(scope, ctx: SourceText) -> frozenset[str]:
    names: set[str] = set()
    todo = list(scope.named_children)
    while todo:
        node = todo.pop()
        if node.type in _RUBY_SCOPES and node.type != "lambda":
            continue  # a nested def or class has locals of its own
        if node.type in _RUBY_PARAMS:
            for param in node.named_children:
                name = param if param.type == "identifier" else param.child_by_field_name("name")
                if name is not None:
                    names.add(ctx.text(name))
        elif node.type in _RUBY_ASSIGN or node.type == "left_assignment_list":
            left = node.child_by_field_name("left") if node.type in _RUBY_ASSIGN else node
            targets = left.named_children if left.type == "left_assignment_list" else [left]
            names.update(ctx.text(t) for t in targets if t.type == "identifier")
        todo.extend(node.named_children)
    return frozenset(names)


def _csharp_base_kind(node, name: str) -> str:
    # C# lists the base class and interfaces together; by convention only the first entry
    # of a class can be a class, and interface names start with I.
    decl = node.parent.parent if node.parent is not None else None
    if decl is None or decl.type == "interface_declaration":
        return "inherit"
    first = node.parent.named_child(0)
    is_first = first is not None and first.start_byte == node.start_byte
    looks_interface = _INTERFACE_NAME.match(bare(name)) is not None
    if decl.type == "class_declaration" and is_first and not looks_interface:
        return "inherit"
    return "implement"
