"""Markdown tables and win/loss lines for benchmark results.

Pure formatting over the row dictionaries that metrics.summarize_packages returns.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

__all__ = ["HISTORY_COLUMNS", "markdown_table", "history_table", "wins_line", "fmt"]

HISTORY_COLUMNS = ("n", "n_sym", "F@1", "F@5", "F@10", "MRR", "S!@10", "S@10",
                   "p50 ms", "p95 ms", "index s")
_HEADERS = {"n_sym": "n sym"}


def fmt(key: str, value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if key in ("n", "n_sym"):
        return str(int(value))
    if key.endswith("ms"):
        return f"{value:.1f}" if value < 100 else f"{value:.0f}"
    if key == "index s":
        return f"{value:.1f}"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def markdown_table(first: str, rows: Mapping[str, Mapping[str, float]],
                   columns: Sequence[str], bold: Sequence[str] = ()) -> str:
    head = [first, *(_HEADERS.get(c, c) for c in columns)]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, row in rows.items():
        label = f"**{name}**" if name in bold else name
        out.append("| " + " | ".join([label, *(fmt(c, row.get(c, math.nan)) for c in columns)]) + " |")
    return "\n".join(out)


def history_table(rows: Mapping[str, Mapping[str, float]]) -> str:
    renamed = {("overall (" + k + ")" if k in ("micro", "macro") else k): v for k, v in rows.items()}
    return markdown_table("package", renamed, HISTORY_COLUMNS,
                          bold=("overall (micro)", "overall (macro)"))


def wins_line(name: str, ours: Mapping[str, float], baselines: Mapping[str, Mapping[str, float]],
              keys: Sequence[str] = ("F@1", "MRR", "S!@10")) -> str:
    """`rich: F@1 0.62 (file 0.58 ✓, chunk 0.60 ✓) ...`; ✓ means strictly better than that baseline."""
    parts = []
    total = 0
    for key in keys:
        mine = ours.get(key, math.nan)
        cmp = []
        for bname, brow in baselines.items():
            other = brow.get(key, math.nan)
            won = not math.isnan(mine) and not math.isnan(other) and mine > other
            total += won
            cmp.append(f"{bname} {fmt(key, other)} {'win' if won else 'tie' if mine == other else 'loss'}")
        parts.append(f"{key} {fmt(key, mine)} ({', '.join(cmp)})")
    return f"- {name}: " + "; ".join(parts) + f" — {total}/{len(keys) * len(baselines)} wins"
