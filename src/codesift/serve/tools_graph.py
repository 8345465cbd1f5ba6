"""The structural agent tools over a `Workspace`: find_callers, find_callees, call_path,
repo_map and index_status (what the index holds, and how far it trails the files on disk).
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone

from ..errors import SymbolNotFoundError, UsageError
from ..graph.query import DEFAULT_MIN_CONFIDENCE
from ..model import GraphHit, GraphNode
from .bounds import fit
from .tools import NOT_FOUND_HINT, ToolOutput, Workspace

MAX_GRAPH_DEPTH = 5
STALE_LISTED = 10  # changed files named in index_status; the rest are counted


# -- callers and callees ---------------------------------------------------------------------

def find_callers(ws: Workspace, symbol: str, depth: int = 1,
                 min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> ToolOutput:
    return _walk(ws, "callers", symbol, depth, min_confidence)


def find_callees(ws: Workspace, symbol: str, depth: int = 1,
                 min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> ToolOutput:
    return _walk(ws, "callees", symbol, depth, min_confidence)


def _walk(ws: Workspace, direction: str, symbol: str, depth: int,
          min_confidence: float) -> ToolOutput:
    _check_walk(depth, min_confidence)
    graph = ws.index.graph()
    roots = _find(graph, symbol)
    hits = getattr(graph, direction)(roots, depth=depth, min_confidence=min_confidence)
    named = ", ".join(f"{r.symbol or '(module)'} ({_span(r)})" for r in roots[:5])
    more = f" and {len(roots) - 5} more" if len(roots) > 5 else ""
    header = f"{direction} of {named}{more}: {len(hits)} found, depth {depth}" if hits else \
        f"no {direction} of {named}{more} at min_confidence {min_confidence}" \
        " (calls through dynamic dispatch or callbacks are not always resolved; try search_code)"
    blocks = [_hit_line(direction, h) for h in hits]

    def note(shown: int) -> str:
        return (f"[truncated: {len(hits) - shown} of {len(hits)} {direction} left out by the "
                "output cap; use a smaller depth, a higher min_confidence or a qualified name]")
    out = fit(header, blocks, ws.bounds, note)
    return ToolOutput(out.text, {"query": direction, "symbol": symbol,
                                 "roots": [r.to_dict() for r in roots],
                                 "results": [h.to_dict() for h in hits[:out.shown]],
                                 "total": len(hits), "truncated": out.truncated})


def _hit_line(direction: str, hit: GraphHit) -> str:
    """One hit, indented by depth; past depth 1 it names the definition it was reached from."""
    node = hit.node
    name = node.symbol or "(module level)"
    sure = "" if hit.confidence >= 0.999 else f"  ~{hit.confidence:.2f}"
    again = "  (seen above)" if hit.seen_before else ""
    indent = "  " * (hit.depth - 1)
    if direction == "callers":  # where the call is written: the caller's file
        via = f"  calls {_short(hit.via)}" if hit.depth > 1 else ""
        return (f"{indent}- {node.path}:{hit.line}  in {name} [{node.kind}, "
                f"{_lines(node)}]{via}{sure}{again}")
    via = f" by {_short(hit.via)}" if hit.depth > 1 else ""
    return f"{indent}- {_span(node)}  {name} [{node.kind}]  called{via} at line {hit.line}" \
           f"{sure}{again}"


# -- call_path -------------------------------------------------------------------------------

def call_path(ws: Workspace, source: str, target: str, max_depth: int = 6,
              min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> ToolOutput:
    _check_walk(max_depth, min_confidence, high=10)
    graph = ws.index.graph()
    sources, targets = _find(graph, source), _find(graph, target)
    hits = graph.path(sources, targets, max_depth=max_depth, min_confidence=min_confidence)
    data = {"source": source, "target": target, "results": [h.to_dict() for h in hits]}
    if not hits:
        return ToolOutput(f"no call path from {source} to {target} within {max_depth} calls at "
                          f"min_confidence {min_confidence}; try a larger max_depth, a lower "
                          "min_confidence, or find_callers on the target", data)
    blocks = [_step_line(h) for h in hits]
    out = fit(f"call path from {source} to {target} ({len(hits) - 1} calls):", blocks, ws.bounds,
              lambda shown: f"[truncated: {len(hits) - shown} steps left out by the output cap]")
    return ToolOutput(out.text, data)


def _step_line(hit: GraphHit) -> str:
    where = f"{_span(hit.node)}  {hit.node.symbol or '(module level)'}"
    if hit.depth == 0:
        return f"  {where}"
    sure = "" if hit.confidence >= 0.999 else f", ~{hit.confidence:.2f}"
    return f"→ {where}  (called at line {hit.line}{sure})"


# -- repo_map --------------------------------------------------------------------------------

def repo_map(ws: Workspace, budget: int = 1024, focus: list[str] | None = None,
             query: str | None = None) -> ToolOutput:
    cap = ws.bounds.max_tokens - 100  # room for the footer line
    capped = budget > cap
    the_map = ws.index.repo_map(min(budget, cap), focus=focus or (), query=query)
    shown = sum(len(f.entries) for f in the_map.files)
    footer = f"({shown} definitions in {len(the_map.files)} files, {the_map.tokens} of " \
             f"{min(budget, cap)} tokens" + (f"; budget capped at {cap})" if capped else ")")
    if not the_map.files:
        footer += " the budget is too small for one definition; try budget=512"
    lines = the_map.text.split("\n") if the_map.text else []
    out = fit("", [*lines, footer], ws.bounds,
              lambda n: "[truncated by the output's byte cap: ask for a smaller budget]")
    data = the_map.to_dict()
    del data["text"]  # the text content carries it
    return ToolOutput(out.text, data)


# -- index_status ----------------------------------------------------------------------------

def index_status(ws: Workspace) -> ToolOutput:
    info = ws.index.status()
    store = ws.index.store()
    when = _last_indexed(ws.index.db_path)
    changed, missing = _changed_on_disk(ws.index.root, store.file_states())
    info.update(last_indexed=when and datetime.fromtimestamp(when, timezone.utc).isoformat(
        timespec="seconds"), changed_since_index=len(changed), missing_since_index=len(missing))
    lines = [f"repository: {info['repo']}",
             f"index: {info['index']} ({info['size_bytes'] / 1e6:.1f} MB), last indexed "
             + (_ago(when) if when else "unknown"),
             f"files {info['files']}, chunks {info['chunks']}, symbols {info['symbols']}, "
             f"vectors {info['vectors']}",
             "languages: " + (", ".join(f"{k} {v}" for k, v in info["languages"].items())
                              or "none"),
             _search_line(info), _graph_line(info["graph"])]
    lines.append(_freshness_line(changed, missing))
    info["changed_files"] = changed[:STALE_LISTED]
    info["missing_files"] = missing[:STALE_LISTED]
    out = fit("", lines, ws.bounds, lambda n: "[truncated by the output cap]")
    return ToolOutput(out.text, info)


def _freshness_line(changed: list[str], missing: list[str]) -> str:
    if not changed and not missing:
        return "up to date with the indexed files on disk (new files show after codesift index)"
    stale = changed + missing
    names = ", ".join(stale[:STALE_LISTED]) + (", ..." if len(stale) > STALE_LISTED else "")
    return (f"stale: {len(changed)} indexed files changed and {len(missing)} deleted on disk "
            f"since indexing ({names}); results in them may point at old lines: run "
            "codesift index")


def _search_line(info: dict) -> str:
    if not info["embedder"]:
        return "search: lexical + symbol only (indexed without vectors)"
    waiting = info["chunks_without_vector"]
    return f"search: hybrid lexical + dense ({info['embedder']})" + (
        f"; {waiting} chunks still wait for vectors" if waiting else "")


def _graph_line(graph: dict) -> str:
    if not graph.get("current"):
        return "graph: missing or stale; callers/callees/call_path/repo_map need: codesift index"
    edges = graph.get("edges", {})
    resolved = sum(v for k, v in edges.items() if not k.startswith("unresolved_"))
    missing = sum(v for k, v in edges.items() if k.startswith("unresolved_"))
    return f"graph: current, {resolved} resolved edges, {missing} unresolved references"


def _last_indexed(db_path) -> float | None:
    """When the database was last written: the WAL holds the newest commits until a
    checkpoint copies them in (an empty WAL is only a reader's)."""
    times = []
    for path, need_data in ((db_path, False), (db_path.with_name(db_path.name + "-wal"), True)):
        try:
            st = os.stat(path)
        except OSError:
            continue
        if st.st_size or not need_data:
            times.append(st.st_mtime)
    return max(times) if times else None


def _changed_on_disk(root, states: dict) -> tuple[list[str], list[str]]:
    """Indexed files whose size or mtime differ from the index's record, and those gone."""
    changed, missing = [], []
    for path, (_sha, size, mtime_ns) in sorted(states.items()):
        try:
            st = os.stat(os.path.join(root, path))
        except OSError:
            missing.append(path)
            continue
        if st.st_size != size or (mtime_ns and st.st_mtime_ns != mtime_ns):
            changed.append(path)
    return changed, missing


def _ago(when: float) -> str:
    stamp = datetime.fromtimestamp(when, timezone.utc).isoformat(timespec="seconds")
    secs = max(0, time.time() - when)
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if secs >= size:
            return f"{stamp} ({secs / size:.0f} {unit} ago)"
    return f"{stamp} ({secs:.0f} seconds ago)"


# -- shared ----------------------------------------------------------------------------------

def _find(graph, symbol: str) -> list[GraphNode]:
    try:
        return graph.find(symbol)
    except SymbolNotFoundError as exc:
        raise SymbolNotFoundError(str(exc), hint=NOT_FOUND_HINT) from exc


def _check_walk(depth: int, min_confidence: float, high: int = MAX_GRAPH_DEPTH) -> None:
    if not isinstance(depth, int) or not 1 <= depth <= high:
        raise UsageError(f"depth must be between 1 and {high}, not {depth!r}",
                         hint="start with 1; 2 or 3 show the wider neighbourhood")
    if not 0.0 <= min_confidence <= 1.0:
        raise UsageError(f"min_confidence must be between 0 and 1, not {min_confidence!r}",
                         hint="0.3 keeps certain edges and close guesses; 0 keeps every guess")


def _span(node: GraphNode) -> str:
    return f"{node.path}:{_lines(node)}"


def _lines(node: GraphNode) -> str:
    return f"{node.start_line}-{node.end_line}" if node.symbol else "module"


def _short(symbol: str) -> str:
    """`Class.method` of a qualified name: enough to recognise, short enough to repeat."""
    return ".".join(symbol.split(".")[-2:])
