"""Turn a parsed file into retrieval units: one chunk per definition, class skeletons,
a module header and leftover top-level blocks, so that no line of code goes unindexed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from codesift.ingest.declarations import declaration_spans, name_at
from codesift.ingest.languages import test_attribute_regex
from codesift.ingest.split import (
    Piece,
    fallback_chunks,
    is_blank,
    make_chunk,
    split_lines,
    title_words,
    trim,
    windows,
)
from codesift.model import Chunk, ParsedFile, SourceFile, Symbol

CHUNKER_VERSION = "2"  # bump whenever chunk boundaries or texts change: stored with the index

CONTAINER_KINDS = frozenset(
    "class struct interface trait impl module namespace enum object protocol union record "
    "extension mixin".split()
)
MAX_DEFINITION_LINES = 120
PART_LINES = 80
MAX_BLOCK_LINES = 60
_MAX_HEADER_LINES = 8
# Lines that belong to the definition below them when nothing separates them from it.
_ATTACHED_PREFIXES = {
    "python": ("@", "#"),
    "ruby": ("#",),
    "go": ("//",),
    "rust": ("#[", "///", "//", "/*", "*"),
    "c": ("//", "/*", "*"),
    "cpp": ("//", "/*", "*", "[["),
    "c_sharp": ("//", "/*", "*", "["),
}
_DEFAULT_ATTACHED = ("@", "//", "/*", "*")
_COMMENTS = ("#", "//", "/*", "*", "--")
# A line at the body's base indentation that starts with these continues a statement.
_CONTINUATIONS = (")", "]", "}", "else", "elif", "except", "finally", "catch", "end")


@dataclass(frozen=True, slots=True)
class _Def:
    """A symbol placed in the file: its chunk range (with attached decorators and comments),
    where its signature ends, and the indexes of the definitions directly inside it."""

    symbol: Symbol
    start: int
    header_end: int
    children: tuple[int, ...]


def chunk_file(source: SourceFile, text: str, parsed: ParsedFile | None, *, is_test: bool,
               max_definition_lines: int = MAX_DEFINITION_LINES) -> list[Chunk]:
    """All chunks of one file, in line order. Every non-blank line lies in some chunk's range."""
    if parsed is None or parsed.error is not None:
        return fallback_chunks(source, text, is_test=is_test)
    lines = split_lines(text)
    defs, top = _place(parsed.symbols, lines, source.language)
    chunks: list[Chunk] = []
    for d in defs:
        if d.children and d.symbol.kind in CONTAINER_KINDS:
            chunks.append(_skeleton_chunk(source, lines, d, defs, is_test))
        else:
            chunks += _definition_chunks(source, lines, d, is_test, max_definition_lines)
    chunks += _top_level_chunks(source, lines, parsed, [defs[i] for i in top], is_test)
    chunks = [c for c in chunks if c is not None and c.context_text.strip()]
    if not is_test:
        chunks = _mark_inline_tests(chunks, lines, defs, source.language)
    chunks.sort(key=lambda c: (c.start_line, -c.end_line))
    return chunks


def _mark_inline_tests(chunks: list[Chunk], lines: list[str], defs: list[_Def],
                       language: str) -> list[Chunk]:
    """Test code inside a file that is not a test file (Rust's `#[cfg(test)] mod tests`)
    is marked as such, chunk by chunk, by the attributes attached above its definition."""
    regex = test_attribute_regex(language)
    if regex is None:
        return chunks
    ranges = [(d.start, d.symbol.end_line) for d in defs
              if any(regex.search(lines[i - 1]) for i in range(d.start, d.symbol.start_line + 1))]
    if not ranges:
        return chunks
    return [replace(c, is_test=True) if any(a <= c.start_line and c.end_line <= b for a, b in ranges)
            else c for c in chunks]


# ---------------------------------------------------------------- placing symbols


def _place(symbols: tuple[Symbol, ...], lines: list[str], language: str) -> tuple[list[_Def], list[int]]:
    """Nest symbols by line range (sturdier than trusting `parent` names) and compute each
    one's chunk start and signature end. Returns the placed defs and the top-level indexes."""
    n = len(lines)
    seen: set[tuple[int, int]] = set()
    syms: list[Symbol] = []
    for s in sorted(symbols, key=lambda s: (s.start_line, -s.end_line)):
        start, end = max(1, s.start_line), min(n, s.end_line)
        if start > end or (start, end) in seen:
            continue  # out of range, or the same range reported twice
        seen.add((start, end))
        syms.append(s)
    kids = _nest(syms)
    floors = {}
    for p, siblings in kids.items():
        floor = syms[p].start_line + 1 if p is not None else 1
        for i in siblings:
            floors[i] = floor
            floor = syms[i].end_line + 1  # decorators above a def never reach into its sibling
    prefixes = _ATTACHED_PREFIXES.get(language, _DEFAULT_ATTACHED)
    defs = []
    for i, s in enumerate(syms):
        start = _attached_start(lines, max(1, s.start_line), floors[i], prefixes)
        end = min(n, s.end_line)
        defs.append(_Def(s, start, _header_end(lines, s, end, language), tuple(kids.get(i, ()))))
    return defs, kids.get(None, [])


def _nest(syms: list[Symbol]) -> dict[int | None, list[int]]:
    """Children of each symbol index (None: top level), given symbols sorted by (start, -end)."""
    kids: dict[int | None, list[int]] = {}
    stack: list[int] = []
    for i, s in enumerate(syms):
        while stack and syms[stack[-1]].end_line < s.end_line:
            stack.pop()  # also pops partial overlaps, which are then treated as siblings
        kids.setdefault(stack[-1] if stack else None, []).append(i)
        stack.append(i)
    return kids


def _attached_start(lines: list[str], start: int, floor: int, prefixes: tuple[str, ...]) -> int:
    """Move a definition's start up over decorators and doc comments directly above it. A
    `/** ... */` block still belongs to the definition across one blank line (a common
    JSDoc / Javadoc layout)."""
    while True:
        if start - 1 >= floor and lines[start - 2].lstrip().startswith(prefixes):
            start -= 1
        elif (start - 2 >= floor and is_blank(lines[start - 2])
              and lines[start - 3].strip().endswith("*/") and _opens_doc_block(lines, start - 2)):
            start -= 1  # the blank line; the comment block is taken on the next turns
        else:
            return start


def _opens_doc_block(lines: list[str], end: int) -> bool:
    """Whether the comment block ending on line `end` (1-based) starts with `/**`."""
    for line in range(end, max(0, end - 200), -1):
        text = lines[line - 1].lstrip()
        if text.startswith("/*"):
            return text.startswith("/**")
        if not text.startswith(("*", "/*")) and line != end:
            return False
    return False


_COMMENT_MARKERS = re.compile(r"^\s*(?:/\*\*?|\*/|\*|///?|#)\s?")


def _leading_doc(lines: list[str], start: int, def_line: int) -> str:
    """Doc text from the comment lines attached above a definition (markers stripped),
    for definitions whose parser found no doc (e.g. a JSDoc block a blank line above)."""
    text = []
    for line in lines[start - 1:def_line - 1]:
        stripped = line.strip()
        if stripped.startswith(("@", "#[", "[")) or not stripped:
            continue
        text.append(_COMMENT_MARKERS.sub("", stripped).removesuffix("*/").strip())
    return " ".join(t for t in text if t)


def _header_end(lines: list[str], s: Symbol, end: int, language: str) -> int:
    """The last line of a definition's signature, found from the body start when known."""
    start = max(1, s.start_line)
    body = s.body_start_line
    if body is not None and start < body <= end:
        # The parser reports the body's first content line, so `{` stays with the signature;
        # comments opening the body are body, not signature.
        last = min(body - 1, start + _MAX_HEADER_LINES - 1)
        while last > start and (is_blank(lines[last - 1]) or lines[last - 1].lstrip().startswith(_COMMENTS)):
            last -= 1
        return last
    opener = ":" if language == "python" else "{"
    for line in range(start, min(end, start + _MAX_HEADER_LINES - 1) + 1):
        code = lines[line - 1].split("#" if language == "python" else "//", 1)[0].rstrip()
        if code.endswith(opener) or (opener == "{" and (opener in code or code.endswith(";"))):
            return line
    return start


# ---------------------------------------------------------------- definitions and skeletons


def _definition_chunks(source: SourceFile, lines: list[str], d: _Def, is_test: bool,
                       max_lines: int) -> list[Chunk]:
    s = d.symbol
    end = min(len(lines), s.end_line)
    title = title_words(_short_name(s))
    common = dict(title=title, signature=s.signature, parent=s.parent)
    piece = Piece(d.start, end, s.kind, s.qualname, s.name)
    doc = s.doc or _leading_doc(lines, d.start, max(1, s.start_line))
    if end - d.start + 1 <= max_lines:
        body = _body_text(lines, d.header_end + 1 if d.header_end < end else d.start, end, s.doc)
        return [make_chunk(source, lines, piece, is_test, doc=doc, body=body, **common)]
    header = lines[max(1, s.start_line) - 1:d.header_end]
    marker = _indent_of_body(lines, d.header_end + 1, end) + "..."
    chunks = []
    for i, (ps, pe) in enumerate(_split_definition(lines, d.start, end, d.header_end)):
        part = Piece(ps, pe, s.kind, s.qualname, s.name)
        context = None
        body = _body_text(lines, max(ps, d.header_end + 1), pe, s.doc if i == 0 else "")
        if i:
            span = trim(lines, ps, pe) or (ps, pe)
            context = "\n".join(header + [marker] + lines[span[0] - 1:span[1]])
        chunks.append(make_chunk(source, lines, part, is_test, context=context,
                                 doc=doc if i == 0 else "", body=body, **common))
    return chunks


def _body_text(lines: list[str], start: int, end: int, doc: str) -> str:
    """The body for the embedding, minus a leading docstring the doc line already carries."""
    return _without_docstring(lines[start - 1:end], doc)


def _without_docstring(body: list[str], doc: str) -> str:
    first = next((i for i, line in enumerate(body) if not is_blank(line)), None)
    if doc and first is not None:
        head = body[first].lstrip().lstrip("rbuRBU")
        quote = head[:3] if head[:3] in ('"""', "'''") else ""
        if quote:
            close = next((i for i in range(first, len(body))
                          if body[i].count(quote) >= (2 if i == first else 1)), None)
            if close is not None:
                body = body[close + 1:]
    return "\n".join(body)


def _split_definition(lines: list[str], start: int, end: int, header_end: int) -> list[tuple[int, int]]:
    """Parts of at most PART_LINES lines, cut where a statement at the body's base indent begins
    (best right after a blank line), else after a blank line, else hard."""
    base = len(_indent_of_body(lines, header_end + 1, end))
    parts = []
    pos = start
    while end - pos + 1 > PART_LINES:
        cut, best = pos + PART_LINES, 0
        for nxt in range(pos + PART_LINES, max(pos + PART_LINES // 2, header_end + 1), -1):
            line = lines[nxt - 1]
            at_base = (not is_blank(line) and len(line) - len(line.lstrip()) == base
                       and not line.lstrip().startswith(_CONTINUATIONS))
            score = 2 * at_base + is_blank(lines[nxt - 2])
            if score > best:
                cut, best = nxt, score
                if score == 3:
                    break
        parts.append((pos, cut - 1))
        pos = cut
    parts.append((pos, end))
    return parts


def _indent_of_body(lines: list[str], start: int, end: int) -> str:
    for line in lines[start - 1:end]:
        if not is_blank(line):
            return line[: len(line) - len(line.lstrip())]
    return "    "


def _skeleton_chunk(source: SourceFile, lines: list[str], d: _Def, defs: list[_Def],
                    is_test: bool) -> Chunk | None:
    """The container's own lines (signature, doc, fields) with each member reduced to its
    signature and an elided body, so one chunk answers "what does this class offer"."""
    s = d.symbol
    end = min(len(lines), s.end_line)
    out: list[str] = []
    pos = d.start
    for k in d.children:
        child = defs[k]
        child_end = min(end, child.symbol.end_line)
        out += lines[pos - 1:child.start - 1]
        out += lines[child.start - 1:child.header_end]
        if child_end > child.header_end:
            out.append(_indent_of_body(lines, child.header_end + 1, child_end) + "...")
            closing = lines[child_end - 1].strip()
            if closing.startswith("}") or closing == "end":
                out.append(lines[child_end - 1])
        pos = child_end + 1
    out += lines[pos - 1:end]
    out = _squeeze_blanks(out)
    piece = Piece(d.start, end, s.kind, s.qualname, s.name)
    # The skeleton opens with the container's own signature lines; the embedding has those already.
    body = _without_docstring(out[d.header_end - d.start + 1:], s.doc)
    return make_chunk(source, lines, piece, is_test, title=title_words(_short_name(s)),
                      context="\n".join(out).strip("\n"), signature=s.signature, doc=s.doc,
                      parent=s.parent, body=body)


def _squeeze_blanks(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if is_blank(line) and out and is_blank(out[-1]):
            continue
        out.append(line)
    return out


def _short_name(s: Symbol) -> str:
    """The name from the enclosing type down ("HttpClient.send", "Point::new"), without the
    module path, which the embedding text carries separately."""
    if s.parent and s.qualname.startswith(s.parent):
        tail = re.split(r"[.:#\\]+", s.parent)[-1]
        return f"{tail}.{s.name}" if tail and tail != s.name else s.name
    if s.parent:  # Go receivers, Rust impls: the qualname already names the owner
        parts = [p for p in re.split(r"[.:#\\]+", s.qualname) if p]
        return ".".join(parts[-2:]) or s.name
    return s.name or s.qualname


# ---------------------------------------------------------------- module header and leftovers


def _top_level_chunks(source: SourceFile, lines: list[str], parsed: ParsedFile,
                      top: list[_Def], is_test: bool) -> list[Chunk]:
    """Lines outside every definition: the run at the top of the file is the module header,
    later runs (`if __name__ == "__main__":`, script statements) become blocks."""
    runs = []
    pos = 1
    for d in sorted(top, key=lambda d: d.start):
        if d.start > pos:
            runs.append((pos, d.start - 1))
        pos = max(pos, min(len(lines), d.symbol.end_line) + 1)
    if pos <= len(lines):
        runs.append((pos, len(lines)))
    module = parsed.module or source.path
    chunks = []
    for run_start, run_end in runs:
        span = trim(lines, run_start, run_end)
        if span is None:
            continue
        # A table in code (file types, handlers, error codes) spans many windows: each one
        # is named by the declaration it lies in, so the name finds every part of it.
        declared = declaration_spans(lines, span[0], span[1], source.language)
        for ws, we in windows(lines, span[0], span[1], MAX_BLOCK_LINES):
            if run_start == 1 and not chunks:
                name = module.replace("/", ".").rsplit(".", 1)[-1] if parsed.module else ""
                piece = Piece(ws, we, "module", module, name)
                title = f"module {title_words(module)}"
            elif data := name_at(declared, ws, we):
                piece = Piece(ws, we, "block", data, data)
                title = f"{title_words(data)} in {module}"
            else:
                piece = Piece(ws, we, "block", "", "")
                title = f"top-level code in {module}"
            chunks.append(make_chunk(source, lines, piece, is_test, title=title))
    return chunks
