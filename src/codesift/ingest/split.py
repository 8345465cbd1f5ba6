"""Split files that have no parse tree: docs by heading, config by key, SQL by statement, else windows.

Also holds the helpers every chunk is built with (line windows, bounded embedding text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from codesift.model import Chunk, SourceFile

MAX_EMBED_CHARS = 1000  # all-MiniLM-L6-v2 sees 256 tokens; code runs ~4 chars per token
WINDOW_LINES = 50


@dataclass(frozen=True, slots=True)
class Piece:
    """A line range a splitter found, before it becomes a Chunk. Lines are 1-based, inclusive."""

    start: int
    end: int
    kind: str = "block"
    symbol: str = ""
    name: str = ""


# ---------------------------------------------------------------- shared helpers


def identifier_words(text: str) -> list[str]:
    """`HttpClient.send_all` -> ["http", "client", "send", "all"]: how people type a query."""
    words = []
    for token in re.findall(r"[A-Za-z0-9]+", text):
        words += re.findall(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+", token)
    return [w.lower() for w in words]


def title_words(name: str) -> str:
    """"HttpClient.send" -> "HttpClient send — http client send" (the spoken form only if new)."""
    display = " ".join(re.findall(r"[A-Za-z_$][\w$]*|\d+", name)) or name.strip()
    spoken = " ".join(identifier_words(name))
    if not spoken or spoken == display.lower():
        return display
    return f"{display} — {spoken}"


def embedding_text(title: str, path: str, signature: str = "", doc: str = "", body: str = "") -> str:
    """Name in words, path, signature, doc summary, then as much body as fits the window."""
    parts = [p for p in (title.strip(), path) if p]
    if signature:
        parts.append(" ".join(signature.split())[:300])
    if doc:
        parts.append(" ".join(doc.split())[:300])
    head = "\n".join(parts)
    room = MAX_EMBED_CHARS - len(head) - 1
    if body and room > 40:
        # Indentation and blank lines spend tokens without telling the model anything.
        compact = "\n".join(line.strip() for line in body.split("\n") if line.strip())
        head += "\n" + compact[:room]
    return head[:MAX_EMBED_CHARS]


def is_blank(line: str) -> bool:
    return not line.strip()


def trim(lines: list[str], start: int, end: int) -> tuple[int, int] | None:
    """Narrow [start, end] to its first and last non-blank line; None if all blank."""
    while start <= end and is_blank(lines[start - 1]):
        start += 1
    while end >= start and is_blank(lines[end - 1]):
        end -= 1
    return (start, end) if start <= end else None


def windows(lines: list[str], start: int, end: int, size: int = WINDOW_LINES) -> list[tuple[int, int]]:
    """Cut [start, end] into ranges of at most `size` lines, preferring to cut after a blank
    line that is followed by an unindented line, then after any blank line."""
    out = []
    pos = start
    while end - pos + 1 > size:
        cut = pos + size  # first line of the next window
        best = 0
        for nxt in range(pos + size, pos + size // 2, -1):
            if not is_blank(lines[nxt - 2]):
                continue
            score = 2 if lines[nxt - 1][:1] not in (" ", "\t", "") else 1
            if score > best:
                best, cut = score, nxt
                if score == 2:
                    break
        out.append((pos, cut - 1))
        pos = cut
    out.append((pos, end))
    return out


def make_chunk(source: SourceFile, lines: list[str], piece: Piece, is_test: bool,
               title: str = "", context: str | None = None, signature: str = "",
               doc: str = "", parent: str | None = None, body: str | None = None) -> Chunk | None:
    """Build a Chunk for a piece, trimmed to non-blank lines; None if nothing is left.
    `body` is what the embedding sees after name, signature and doc (default: the context)."""
    span = trim(lines, piece.start, piece.end)
    if span is None:
        return None
    start, end = span
    text = "\n".join(lines[start - 1:end]) if context is None else context
    if not text.strip():
        return None
    title = title or (title_words(piece.symbol) if piece.symbol else f"{piece.kind} in {source.path}")
    return Chunk(
        path=source.path, language=source.language, kind=piece.kind, symbol=piece.symbol,
        start_line=start, end_line=end, context_text=text, is_test=is_test, parent=parent,
        embedding_text=embedding_text(title, source.path, signature, doc, text if body is None else body),
        name=piece.name,
    )


def split_lines(text: str) -> list[str]:
    """Lines as editors and grep count them (LF only: str.splitlines also breaks on \\x0c etc)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


# ---------------------------------------------------------------- fallback splitters


def fallback_chunks(source: SourceFile, text: str, *, is_test: bool) -> list[Chunk]:
    """Chunks for a file without a usable parse tree, chosen by its language or extension."""
    lines = split_lines(text)
    if not lines:
        return []
    suffix = source.path.rsplit(".", 1)[-1].lower() if "." in source.path else ""
    language = source.language
    if language == "markdown":
        pieces = _sections(lines, _markdown_headings(lines))
    elif language == "rst":
        pieces = _sections(lines, _rst_headings(lines))
    elif language == "sql":
        pieces = _sql_pieces(lines)
    elif language in ("yaml", "toml", "json") or suffix in ("ini", "cfg", "conf"):
        pieces = _key_blocks(lines, language if language != "text" else "ini")
    else:
        pieces = [Piece(s, e) for s, e in windows(lines, 1, len(lines))]
    chunks = (make_chunk(source, lines, p, is_test) for p in pieces)
    return [c for c in chunks if c is not None]


def _resplit(lines: list[str], piece: Piece, limit: int) -> list[Piece]:
    """Keep a piece whole up to `limit` lines, else cut it into windows that keep its name."""
    if piece.end - piece.start + 1 <= limit:
        return [piece]
    return [Piece(s, e, piece.kind, piece.symbol, piece.name) for s, e in windows(lines, piece.start, piece.end)]


# Markdown and reStructuredText: one section per heading, named by its heading path.

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t#]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")


def _markdown_headings(lines: list[str]) -> list[tuple[int, int, str, int]]:
    """(line, level, title, first body line) of each heading outside fences and front matter."""
    found = []
    fence = ""
    i = 0
    if lines and lines[0].strip() in ("---", "+++"):  # YAML / TOML front matter
        closing = lines[0].strip()
        i = next((j + 1 for j in range(1, len(lines)) if lines[j].strip() == closing), 0)
    for i in range(i, len(lines)):
        line = lines[i]
        match = _FENCE.match(line)
        if match:
            mark = match.group(1)
            if not fence:
                fence = mark[0] * 3
            elif mark.startswith(fence):
                fence = ""
            continue
        if fence:
            continue
        match = _ATX.match(line)
        if match:
            found.append((i + 1, len(match.group(1)), (match.group(2) or "").strip(), i + 2))
        elif (i + 1 < len(lines) and _SETEXT.match(lines[i + 1]) and not is_blank(line)
              and not line.startswith((" " * 4, "\t", "-", "*", ">", "|"))):
            found.append((i + 1, 1 if lines[i + 1].strip()[0] == "=" else 2, line.strip(), i + 3))
    return found


_RST_ADORNMENT = re.compile(r"^([=\-~^\"'`#*+<>:._!$%&,/;?@\\|])\1{2,}\s*$")


def _rst_headings(lines: list[str]) -> list[tuple[int, int, str, int]]:
    """Underlined (optionally overlined) titles; levels in order of first appearance."""
    styles: list[tuple[str, bool]] = []
    found = []
    for i in range(len(lines) - 1):
        title, under = lines[i], lines[i + 1]
        if is_blank(title) or _RST_ADORNMENT.match(title) or not _RST_ADORNMENT.match(under):
            continue
        if len(under.rstrip()) < len(title.strip()) or title.startswith((" ", "\t")):
            continue
        over = i > 0 and lines[i - 1].rstrip() == under.rstrip()
        style = (under.strip()[0], over)
        if style not in styles:
            styles.append(style)
        found.append((i if over else i + 1, styles.index(style) + 1, title.strip(), i + 3))
    return found


def _sections(lines: list[str], headings: list[tuple[int, int, str, int]]) -> list[Piece]:
    """A piece per heading (heading path as symbol); a heading with no text of its own is
    merged into the next section so "# Install" + "## From source" stay one unit."""
    pieces: list[Piece] = []
    if not headings or headings[0][0] > 1:
        first = headings[0][0] - 1 if headings else len(lines)
        pieces.append(Piece(1, first, "section"))
    stack: list[tuple[int, str]] = []
    pending: int | None = None
    for idx, (line, level, title, body) in enumerate(headings):
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        end = headings[idx + 1][0] - 1 if idx + 1 < len(headings) else len(lines)
        start = pending or line
        if idx + 1 < len(headings) and trim(lines, body, end) is None:
            pending = start
            continue
        pending = None
        path = " > ".join(t for _, t in stack if t)
        pieces.append(Piece(start, end, "section", path, title))
    return [p for piece in pieces for p in _resplit(lines, piece, 60)]


# Config files: blocks of top-level keys or [tables], small neighbours merged.

_YAML_KEY = re.compile(r"""^(?:"[^"]+"|'[^']+'|[^\s#\-:][^:#]*?)\s*:(?:\s|$)""")
_TABLE = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:[#;].*)?$")
_TOML_KEY = re.compile(r"^([A-Za-z0-9_\-\"'.]+)\s*=")
_JSON_KEY = re.compile(r'^(\s*)"((?:[^"\\]|\\.)*)"\s*:')


def _key_blocks(lines: list[str], dialect: str) -> list[Piece]:
    starts = _key_starts(lines, dialect)
    if not starts:
        return [Piece(s, e) for s, e in windows(lines, 1, len(lines))]
    if starts[0][0] > 1:
        starts.insert(0, (1, ""))
    blocks = []
    for idx, (line, key) in enumerate(starts):
        end = starts[idx + 1][0] - 1 if idx + 1 < len(starts) else len(lines)
        blocks.append(Piece(line, end, "block", key, key.rsplit(".", 1)[-1]))
    return _merge_small(lines, blocks)


def _key_starts(lines: list[str], dialect: str) -> list[tuple[int, str]]:
    """First line of each top-level key; comments directly above a key belong to it."""
    starts = []
    if dialect == "json":
        indent = next((m.group(1) for m in map(_JSON_KEY.match, lines) if m), None)
        for i, line in enumerate(lines):
            match = _JSON_KEY.match(line)
            if match and match.group(1) == indent:
                starts.append((i + 1, match.group(2)))
        return starts
    for i, line in enumerate(lines):
        if dialect == "yaml":
            key = line.split(":", 1)[0].strip().strip("\"'") if _YAML_KEY.match(line) else None
        else:
            match = _TABLE.match(line)
            key = match.group(1) if match else None
            if key is None and dialect == "toml" and not starts and _TOML_KEY.match(line):
                key = ""  # keys before the first table form the file's root table
        if key is not None:
            start = i + 1
            while start > 1 and lines[start - 2].lstrip().startswith(("#", ";")):
                start -= 1
            starts.append((start, key))
    return starts


def _merge_small(lines: list[str], blocks: list[Piece]) -> list[Piece]:
    """Join runs of short neighbouring blocks so a file of one-line keys is not fifty chunks."""
    out: list[Piece] = []
    for block in blocks:
        prev = out[-1] if out else None
        if prev and block.end - prev.start + 1 <= WINDOW_LINES and block.end - block.start < 10:
            keys = [k for k in (prev.symbol, block.symbol) if k]
            symbol = ", ".join(keys) if len(keys) < 2 or len(", ".join(keys)) <= 80 else prev.symbol
            out[-1] = Piece(prev.start, block.end, "block", symbol, "")
        else:
            out.append(block)
    return [p for piece in out for p in _resplit(lines, piece, 60)]


# SQL: statement by statement; CREATE TABLE/VIEW/... named, the rest grouped.

_SQL_CREATE = re.compile(
    r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:GLOBAL|LOCAL)\s+)?(?:TEMP(?:ORARY)?\s+)?(?:UNLOGGED\s+)?"
    r"(TABLE|MATERIALIZED\s+VIEW|VIEW|FUNCTION|PROCEDURE|TRIGGER|TYPE)\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    r"([\w.\"`\[\]]+)",
    re.IGNORECASE,
)


def _sql_statements(lines: list[str]) -> list[tuple[int, int]]:
    """Ranges ending at a line that ends with `;`, outside $$-quoted function bodies."""
    spans = []
    start = 1
    in_dollar = False
    for i, line in enumerate(lines, 1):
        code = line.split("--", 1)[0].rstrip()
        if code.count("$$") % 2:
            in_dollar = not in_dollar
        if code.endswith(";") and not in_dollar:
            spans.append((start, i))
            start = i + 1
    if start <= len(lines):
        spans.append((start, len(lines)))
    return spans


def _sql_pieces(lines: list[str]) -> list[Piece]:
    pieces: list[Piece] = []
    for start, end in _sql_statements(lines):
        body = "\n".join(l for l in lines[start - 1:end] if not l.lstrip().startswith("--"))
        match = _SQL_CREATE.match(body)
        if match:
            kind = match.group(1).split()[-1].lower()
            kind = "materialized view" if match.group(1).upper().startswith("MATERIALIZED") else kind
            name = re.sub(r"[\"`\[\]]", "", match.group(2))
            pieces += _resplit(lines, Piece(start, end, kind, name, name.rsplit(".", 1)[-1]), 120)
            continue
        prev = pieces[-1] if pieces else None
        if prev and prev.kind == "block" and end - prev.start + 1 <= WINDOW_LINES:
            pieces[-1] = Piece(prev.start, end)
        else:
            pieces += _resplit(lines, Piece(start, end), WINDOW_LINES)
    return pieces
