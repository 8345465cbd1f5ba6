"""Definition matches to Symbols: nesting, line ranges, signatures and doc comments/strings.
Definitions are visited once in source order with a stack of the scopes that enclose them.
"""

from __future__ import annotations

import inspect
import re

from codesift.ingest.parse_common import Def, Scope, SourceText
from codesift.ingest.parse_names import namer_for
from codesift.model import Symbol

SIGNATURE_CAP = 300
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
_COMMENT_LEAD = re.compile(r"^\s*(?:/\*\*?|/\*!|//[/!]?|#+|\*(?!/)|=begin|=end)?[ \t]?")
_COMMENT_TAIL = re.compile(r"\s*\*+/\s*$")
_XML_DOC_TAGS = re.compile(r"</?(?:summary|remarks|para)\s*>")  # C# XML doc wrappers
_PY_STRING = re.compile(r"^[rRbBuUfF]*(\"\"\"|'''|\"|')(.*)\1$", re.S)


def build_symbols(defs: list[Def], ctx: SourceText) -> tuple[list[Symbol], list[Scope]]:
    """Symbols in source order and the scopes they open (the same order, unnamed ones left out)."""
    order = []
    for i, d in enumerate(defs):
        outer = _outer(d.node)
        order.append((outer.start_byte, -outer.end_byte, i, outer))
    order.sort()
    symbols: list[Symbol] = []
    scopes: list[Scope] = []
    stack: list[Scope] = []
    namer = namer_for(ctx.language)
    python = ctx.language == "python"
    for start, neg_end, i, outer in order:
        d = defs[i]
        while stack and stack[-1].end <= start:
            stack.pop()
        named = namer(d, stack[-1] if stack else None, ctx)
        if named is None:
            continue
        first, doc = _leading(outer, ctx)
        body, body_first = d.body, None
        if body is not None and body.named_child_count:
            body_first = body.named_child(0)
        if python and body_first is not None:
            doc = _py_docstring(body_first, ctx) or doc
        symbols.append(Symbol(
            name=named.name, qualname=named.qualname, kind=named.kind,
            signature=_signature(d, outer, ctx), doc=doc,
            start_line=first.start_point.row + 1, end_line=_end_row(outer) + 1,
            parent=named.parent,
            body_start_line=None if body is None else (body_first or body).start_point.row + 1,
        ))
        ref_scope = named.child_prefix if named.kind == "impl" else named.qualname
        scope = Scope(start, -neg_end, named.qualname, named.kind, named.child_prefix, ref_scope)
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


def _leading(outer, ctx: SourceText):
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
    return first, _clean_comments(reversed(comments), ctx) if comments else ""


def _clean_comments(nodes, ctx: SourceText) -> str:
    lines: list[str] = []
    for node in nodes:
        for line in ctx.text(node).splitlines():
            lines.append(_COMMENT_TAIL.sub("", _COMMENT_LEAD.sub("", line, count=1)).rstrip())
    return _XML_DOC_TAGS.sub("", "\n".join(lines)).strip()


def _py_docstring(first, ctx: SourceText) -> str:
    """The docstring, given the first statement of a body."""
    if first.type != "expression_statement" or first.named_child_count != 1:
        return ""
    string = first.named_child(0)
    if string.type != "string":
        return ""
    m = _PY_STRING.match(ctx.text(string))
    if m is None:
        return ""
    doc = m.group(2)
    # inspect.cleandoc of a one-line string, without its per-line machinery
    return doc.expandtabs().lstrip() if "\n" not in doc else inspect.cleandoc(doc)


def _signature(d: Def, outer, ctx: SourceText) -> str:
    children = d.node.children
    if outer.type in _SIG_FROM_WRAPPER:
        start = _sig_start(outer, outer.children)
    else:
        start = _sig_start(d.node, children)
    body = d.body
    end = body.start_byte if body is not None else d.node.end_byte
    lead = body.child(0) if body is not None and body.child_count else None
    if lead is not None and not lead.is_named and lead.type != "{":
        end = lead.end_byte  # a keyword opening the body, as in Go's `interface {`
    for child in children:  # Ruby keeps comments between the header and the body
        if child.start_byte >= end:
            break
        if "comment" in child.type and child.start_byte > start:
            end = child.start_byte
            break
    raw = ctx.src[start:end]
    if d.node.type == "type_definition" and body is not None:  # typedef struct {...} Name;
        raw += ctx.src[body.end_byte:d.node.end_byte]
    # " ".join(split()) is SPACE.sub(" ", ...).strip(): both split on str.isspace, 3x faster
    sig = " ".join(raw.decode("utf-8", "replace").split()).rstrip("{:;").rstrip()
    return sig if len(sig) <= SIGNATURE_CAP else sig[: SIGNATURE_CAP - 3] + "..."


def _sig_start(node, children) -> int:
    # Decorators and annotations are part of the range, not of the signature.
    for child in children:
        if child.type in _SIG_SKIP:
            continue
        if child.type == "modifiers":
            for mod in child.children:
                if mod.type not in _SIG_SKIP:
                    return mod.start_byte
            continue
        return child.start_byte
    return node.start_byte
