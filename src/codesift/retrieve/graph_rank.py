"""Graph-aware ranking: pass part of the top hits' scores along call edges to their
callers and callees, and boost definitions that many places call (centrality prior).
"""

# Both are switchable (Settings.graph_expand / graph_prior, 0 = off) and kept only where
# bench/eval_history.py shows them helping: see docs/benchmarks.md for the ablation.
# Expansion follows the idea of graph-based retrieval in code-graph RAG systems (seed
# with hybrid search, then walk one hop); the prior is in-degree, the cheapest
# centrality, on a log scale so a utility called from everywhere cannot swamp relevance.

from __future__ import annotations

import math
import sqlite3

from ..model import ChunkRow

SEEDS = 10  # top hits whose neighbours are pulled in
MIN_CONFIDENCE = 0.5  # name-only guesses do not carry a score
_DEFINITION_KINDS = frozenset({"function", "method", "class", "struct", "interface",
                               "trait", "enum", "impl"})
_PRIOR_SCALE = math.log1p(50)  # in-degree 50 gives the full boost


def expand(db: sqlite3.Connection, ordered: list[int], rows: dict[int, ChunkRow],
           scores: dict[int, float], weight: float) -> list[int]:
    """Add `weight * seed score * edge confidence` to the callers and callees of the top
    SEEDS hits; returns the ids of chunks this brought in that were not candidates."""
    gains: dict[tuple[str, str], float] = {}
    for cid in ordered[:SEEDS]:
        row = rows[cid]
        if row.kind not in _DEFINITION_KINDS or not row.symbol:
            continue
        for path, symbol, conf in _neighbours(db, row.path, row.symbol):
            key = (path, symbol)
            gains[key] = max(gains.get(key, 0.0), weight * scores[cid] * conf)
    if not gains:
        return []
    found = _chunks_of(db, gains)
    new = []
    for cid, key in found:
        if cid not in scores:
            new.append(cid)
        scores[cid] = scores.get(cid, 0.0) + gains[key]
    return new


def centrality_prior(db: sqlite3.Connection, rows: dict[int, ChunkRow],
                     scores: dict[int, float], weight: float) -> None:
    """Multiply each candidate definition's score by 1 + weight * log-scaled in-degree."""
    keys = {(r.path, r.symbol) for r in rows.values() if r.symbol and r.kind in _DEFINITION_KINDS}
    indegree = _indegree(db, keys)
    for cid, row in rows.items():
        n = indegree.get((row.path, row.symbol), 0)
        if n:
            scores[cid] *= 1.0 + weight * min(1.0, math.log1p(n) / _PRIOR_SCALE)


def _neighbours(db: sqlite3.Connection, path: str, symbol: str):
    callees = db.execute(
        "SELECT e.dst_path, e.dst, MAX(e.confidence) FROM files f JOIN edges e"
        " ON e.src_file = f.id WHERE f.path = ? AND e.src = ? AND e.kind = 'calls'"
        " AND e.dst_path IS NOT NULL AND e.dst != '' AND e.confidence >= ?"
        " GROUP BY e.dst_path, e.dst", (path, symbol, MIN_CONFIDENCE)).fetchall()
    callers = db.execute(
        "SELECT f.path, e.src, MAX(e.confidence) FROM edges e JOIN files f ON f.id = e.src_file"
        " WHERE e.dst = ? AND e.dst_path = ? AND e.kind = 'calls' AND e.src != ''"
        " AND e.confidence >= ? GROUP BY f.path, e.src", (symbol, path, MIN_CONFIDENCE)).fetchall()
    return [(p, s, c) for p, s, c in (*callees, *callers) if (p, s) != (path, symbol)]


def _chunks_of(db: sqlite3.Connection, keys) -> list[tuple[int, tuple[str, str]]]:
    out = []
    for path, symbol in keys:
        out.extend((r[0], (path, symbol)) for r in db.execute(
            "SELECT c.id FROM files f JOIN chunks c ON c.file_id = f.id"
            " WHERE f.path = ? AND c.symbol = ?", (path, symbol)))
    return out


def _indegree(db: sqlite3.Connection, keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    symbols = sorted({s for _, s in keys})
    for start in range(0, len(symbols), 500):
        part = symbols[start:start + 500]
        marks = ",".join("?" * len(part))
        for dst_path, dst, n in db.execute(
                f"SELECT dst_path, dst, COUNT(DISTINCT src_file || ':' || src) FROM edges"
                f" WHERE dst IN ({marks}) AND kind = 'calls' AND confidence >= ?"
                " GROUP BY dst_path, dst", (*part, MIN_CONFIDENCE)):
            if (dst_path, dst) in keys:
                out[(dst_path, dst)] = n
    return out
