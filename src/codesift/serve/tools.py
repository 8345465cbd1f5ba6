"""The agent tools as plain functions over a `Workspace` (one open Index): search_code,
get_symbol, read_range. Each returns compact, citable text plus the same facts as data.
"""

# Every tool returns a ToolOutput whose text fits the workspace's Bounds; the transport
# (serve/mcp.py) only wraps it. Text lines start with `path:start-end` so an agent can
# cite and re-read them; the data mirrors exactly what the text shows, no more.

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from ..api import Index
from ..errors import SymbolNotFoundError, UsageError
from ..model import GraphNode
from .bounds import Bounds, fit
from .reading import Excerpt, FileReader

MAX_K = 50
MAX_OFFSET = 500
MAX_DEFINITIONS = 20  # an ambiguous bare name lists at most this many definitions
SOURCE_DEFINITIONS = 3  # ... and shows the source of at most this many
SKELETON_KINDS = frozenset({"class", "struct", "interface", "trait", "enum", "impl", "module",
                            "namespace", "object", "protocol", "record"})
NOT_FOUND_HINT = ("try search_code with the name or a description of what it does; "
                  "get_symbol takes a qualified name, a suffix like Class.method, a bare name "
                  "or path:line")


@dataclass(frozen=True, slots=True)
class ToolOutput:
    text: str
    data: dict[str, Any] = field(default_factory=dict)


IndexSource = Callable[[], AbstractContextManager[Index]]


@dataclass(frozen=True, slots=True)
class Workspace:
    """What one tool call works with: an index and the bounds of its output."""

    index: Index
    bounds: Bounds = field(default_factory=Bounds)

    def reader(self) -> FileReader:
        s = self.index.settings
        return FileReader(self.index.root, self.index.store(), max_file_bytes=s.max_file_bytes,
                          redact_secrets=s.redact_secrets)


class Backend:
    """Where a server's tool calls get their index: one Index held for the server's life, or
    a source lending one per call (the HTTP server's registry: `lambda: reg.using(name)`).
    A held Index serves one call at a time (it caches a query embedder and vectors and has
    one SQLite connection); a lender does its own locking."""

    def __init__(self, index: Index | IndexSource, bounds: Bounds | None = None,
                 observe: Callable[[str], AbstractContextManager] | None = None) -> None:
        self.bounds = bounds or Bounds()
        self._observe = observe or (lambda name: nullcontext())
        self._borrow = self._held if isinstance(index, Index) else index
        self._index = index
        self._lock = threading.Lock()
        self._inode: int | None = None

    def run(self, tool: Callable[..., ToolOutput], /, **arguments) -> ToolOutput:
        with self._observe(tool.__name__), self._borrow() as index:
            return tool(Workspace(index, self.bounds), **arguments)

    @contextmanager
    def _held(self) -> Iterator[Index]:
        with self._lock:
            self._follow_rebuild()
            yield self._index

    def _follow_rebuild(self) -> None:
        """`codesift index --rebuild` swaps a new database file in; a connection to the old
        one would keep answering from it, so reopen when the file is another one."""
        try:
            inode = os.stat(self._index.db_path).st_ino
        except OSError:
            inode = None
        if self._inode is not None and inode != self._inode:
            self._index.close()
        self._inode = inode


# -- search_code -----------------------------------------------------------------------------

def search_code(ws: Workspace, query: str, k: int = 10, offset: int = 0,
                lang: Sequence[str] = (), path: str | None = None, kind: Sequence[str] = (),
                exclude_tests: bool = False) -> ToolOutput:
    check_range("k", k, 1, MAX_K, "ask for at most 50 hits and page with offset")
    check_range("offset", offset, 0, MAX_OFFSET, "narrow the query or add a path filter")
    hits = ws.index.search(query, k=offset + k, languages=tuple(lang or ()), path=path or None,
                           kinds=tuple(kind or ()), exclude_tests=exclude_tests)[offset:]
    shown_query = query if len(query) <= 80 else query[:77] + "..."
    if not hits:
        past = " past that offset" if offset else ""
        return ToolOutput(f"no results for {shown_query!r}{past}; try other words, an "
                          "identifier, or fewer filters", {"query": query, "offset": offset,
                                                           "hits": []})
    header = f"{len(hits)} results for {shown_query!r} (best first):"
    blocks = [hit_block(offset + i, h) for i, h in enumerate(hits, start=1)]

    def note(shown: int) -> str:
        return (f"[truncated: results {offset + shown + 1}-{offset + len(hits)} left out by the "
                f"output cap; get them with offset={offset + shown}, or ask for a smaller k]")
    out = fit(header, blocks, ws.bounds, note)
    data = {"query": query, "offset": offset, "hits": [h.to_dict() for h in hits[:out.shown]]}
    if out.truncated:
        data["next_offset"] = offset + out.shown
    return ToolOutput(out.text, data)


def hit_block(rank: int, hit, repo: str | None = None) -> str:
    """A hit as `rank. path:start-end  symbol  [kind, language]` and its snippet; `repo`
    (a search over several) goes first, in brackets."""
    test = ", test" if hit.is_test and hit.file_kind != "test" else ""
    kind = "" if hit.file_kind == "source" else f", {hit.file_kind}"
    where = f"[{repo}] " if repo else ""
    head = f"{rank}. {where}{hit.path}:{hit.start_line}-{hit.end_line}  {hit.symbol or '(block)'}  " \
           f"[{hit.kind}, {hit.language}{kind}{test}]"
    snippet = [f"    {line.rstrip()}" for line in hit.snippet.splitlines()]
    return "\n".join([head, *snippet])


# -- read_range ------------------------------------------------------------------------------

def read_range(ws: Workspace, path: str, start_line: int = 1,
               end_line: int | None = None) -> ToolOutput:
    excerpt = ws.reader().read(path, start_line, end_line)
    header = f"{excerpt.path}:{excerpt.start_line}-{excerpt.end_line} " \
             f"(of {excerpt.total_lines} lines)" + _redaction_note(excerpt)
    blocks = _numbered(excerpt)

    def note(shown: int) -> str:
        nxt = excerpt.start_line + shown
        return (f"[truncated: lines {nxt}-{excerpt.end_line} left out by the output cap; "
                f"ask for more with start_line={nxt}]")
    out = fit(header, blocks, ws.bounds, note)
    last = excerpt.start_line + out.shown - 1 if out.truncated else excerpt.end_line
    data = {"path": excerpt.path, "start_line": excerpt.start_line, "end_line": last,
            "total_lines": excerpt.total_lines, "redactions": excerpt.redactions,
            "text": "\n".join(excerpt.lines[:out.shown if out.truncated else None])}
    if out.truncated:
        data["next_start_line"] = last + 1
    return ToolOutput(out.text, data)


def _numbered(excerpt: Excerpt) -> list[str]:
    return [f"{n}│{line}" for n, line in enumerate(excerpt.lines, start=excerpt.start_line)]


def _redaction_note(excerpt: Excerpt) -> str:
    return f" [{excerpt.redactions} secret(s) redacted]" if excerpt.redactions else ""


# -- get_symbol ------------------------------------------------------------------------------

def get_symbol(ws: Workspace, name: str, include_source: bool = True) -> ToolOutput:
    graph = ws.index.graph()
    try:
        nodes = graph.find(name)
    except SymbolNotFoundError as exc:
        raise SymbolNotFoundError(str(exc), hint=NOT_FOUND_HINT) from exc
    listed = nodes[:MAX_DEFINITIONS]
    with_source = include_source and len(nodes) <= SOURCE_DEFINITIONS
    header = (f"{len(nodes)} definitions match {name!r}" if len(nodes) > 1
              else f"definition of {name!r}:")
    if len(nodes) > len(listed):
        header += f" (first {len(listed)} shown)"
    if include_source and not with_source:
        header += "; for one's source, ask again with its qualified name or path:line"
    defs = [_definition(ws, node, with_source) for node in listed]
    blocks: list[str] = []
    resume: list[str] = []  # per block: how to get what a cut there leaves out
    for d in defs:
        for block, how in d.blocks:
            blocks.append(block)
            resume.append(how)

    def note(shown: int) -> str:
        return f"[truncated by the output cap: {resume[shown]}]"
    out = fit(header, blocks, ws.bounds, note)
    return ToolOutput(out.text, {"query": name, "definitions": [d.data for d in defs],
                                 "truncated": out.truncated})


@dataclass(frozen=True, slots=True)
class _Definition:
    data: dict[str, Any]
    blocks: list[tuple[str, str]]  # (text, how to ask for it if the cut falls here)


def _definition(ws: Workspace, node: GraphNode, with_source: bool) -> _Definition:
    doc = _doc(ws, node)
    span = f"{node.path}:{node.start_line}-{node.end_line}"
    data = {**node.to_dict(), "doc": doc}
    ask_this = f"call get_symbol with {node.path}:{node.start_line} for this definition"
    blocks = [(f"\n{span}  {node.symbol or '(module)'}  [{node.kind}]", ask_this)]
    if node.signature:
        blocks.append((f"signature: {node.signature}", ask_this))
    source: list[tuple[str, str]] = []
    if with_source and node.symbol:
        source = _source(ws, node)
        data["source"] = "\n".join(line for line, _ in source)
    if doc and not any(doc.splitlines()[0].strip() in line for line, _ in source):
        blocks.append((f"doc: {_first_paragraph(doc)}", ask_this))
    return _Definition(data, blocks + source)


def _source(ws: Workspace, node: GraphNode) -> list[tuple[str, str]]:
    """A container's skeleton (members' bodies elided) when the index has one, else the
    definition's numbered lines; each with how to read on from it."""
    def read_from(line: int) -> str:
        return (f"read on with read_range(path={node.path!r}, start_line={line}, "
                f"end_line={node.end_line})")
    if node.kind in SKELETON_KINDS:
        skeleton = _skeleton(ws, node)
        if skeleton:
            whole = read_from(node.start_line)
            return [("(members' bodies elided; get_symbol Class.member for one)", whole),
                    *((line, whole) for line in skeleton)]
    excerpt = ws.reader().read(node.path, node.start_line, node.end_line)
    return [(line, read_from(n)) for n, line in
            enumerate(_numbered(excerpt), start=excerpt.start_line)]


def _skeleton(ws: Workspace, node: GraphNode) -> list[str]:
    row = ws.index.store().db.execute(
        "SELECT context_text FROM chunks WHERE path = ? AND symbol = ? AND kind = ?"
        " AND start_line >= ? AND end_line <= ? ORDER BY end_line - start_line DESC LIMIT 1",
        (node.path, node.symbol, node.kind, node.start_line, node.end_line)).fetchone()
    if not row or "\n" not in row[0]:
        return []
    # Stored text is redacted at index time already; this also covers older indexes.
    text, _findings = ws.reader().redact(row[0], node.path)
    return text.split("\n")


def _doc(ws: Workspace, node: GraphNode) -> str:
    row = ws.index.store().db.execute(
        "SELECT s.doc FROM symbols s JOIN files f ON f.id = s.file_id"
        " WHERE f.path = ? AND s.qualname = ? AND s.start_line = ?",
        (node.path, node.symbol, node.start_line)).fetchone()
    return row[0] if row else ""


def _first_paragraph(doc: str, limit: int = 400) -> str:
    para = " ".join(doc.strip().split("\n\n")[0].split())
    return para if len(para) <= limit else para[:limit - 3] + "..."


def check_range(name: str, value: int, low: int, high: int, hint: str) -> None:
    if not isinstance(value, int) or not low <= value <= high:
        raise UsageError(f"{name} must be between {low} and {high}, not {value!r}", hint=hint)
