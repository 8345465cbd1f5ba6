"""Parse a deep-language source file with tree-sitter into Symbols and References; never raises.
One compiled query per language (ingest/queries/<lang>.scm) finds definitions and uses.
"""

# The stages: this driver runs the parser and the query once and sorts the matches;
# parse_symbols.py nests and describes definitions, named by parse_names.py (the qualified
# name conventions are listed there); parse_refs.py and parse_imports.py name the uses.

from __future__ import annotations

from codesift.ingest.languages import load_grammar
from codesift.ingest.parse_common import SPACE, Def, SourceText
from codesift.ingest.parse_names import python_module
from codesift.ingest.parse_refs import REFERENCE_CAP, build_references
from codesift.ingest.parse_symbols import SIGNATURE_CAP, build_symbols
from codesift.model import ParsedFile

__all__ = ["PARSER_VERSION", "REFERENCE_CAP", "SIGNATURE_CAP", "parse_source", "python_module"]

# Bump when what the parser records changes (symbols, references) but chunks do not: the
# next `codesift index` re-parses every file in place, and vectors, keyed by the chunk
# text, are kept. (A chunk format change bumps CHUNKER_VERSION: a full rebuild.)
# 4: Rust inline test modules and #[test] functions are test code
# 5: windows of top-level code are named by the data declaration they lie in (chunk.py);
#    boundaries are unchanged, so only those windows are embedded again
PARSER_VERSION = "5"

try:
    from tree_sitter import QueryCursor  # tree-sitter >= 0.25
except ImportError:  # pragma: no cover - older bindings match on the Query itself
    QueryCursor = None


def parse_source(path: str, text: str, language: str) -> ParsedFile:
    """Symbols and references of one file; on failure a ParsedFile with `error` set."""
    try:
        return _parse(path, text, language)
    except Exception as exc:  # the chunker falls back to plain splitting; never stop indexing
        reason = SPACE.sub(" ", f"{type(exc).__name__}: {exc}").strip()
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
    ctx = SourceText(src, language, grammar.spec.sep, prefix)
    if module_node is not None:
        ctx.prefix = ctx.compact(module_node)
    symbols, scopes = build_symbols(defs, ctx)
    references = build_references(refs, scopes, ctx)
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
    if QueryCursor is None:
        return query.matches(root)
    return QueryCursor(query).matches(root)


def _collect(matches) -> tuple[list[Def], list[tuple[int, str, object]], object | None]:
    """Definitions (first match per node wins), (start byte, kind, node) uses, module node."""
    defs: dict[tuple[int, int, str], Def] = {}
    refs: list[tuple[int, str, object]] = []
    module = None
    for _, caps in matches:
        for cap, nodes in caps.items():
            if cap[:4] == "ref.":  # most captures are uses
                kind = cap[4:]
                for node in nodes:
                    refs.append((node.start_byte, kind, node))
            elif cap[:4] == "def.":
                node = nodes[0]
                key = (node.start_byte, node.end_byte, node.type)
                if key not in defs and "name" in caps:
                    body = caps.get("body")
                    defs[key] = Def(node, cap[4:], caps["name"][0], body[0] if body else None)
            elif cap == "module" and module is None:
                module = nodes[0]
    return list(defs.values()), refs, module
