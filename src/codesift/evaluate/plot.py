"""The one plotting helper: panels of grouped bars (groups x series) with optional error bars,
written to PNG. Used by `codesift evaluate --plot` and the bench scripts.

matplotlib is imported only here, on the Agg backend (no screen), when a plot is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from ..errors import UsageError

__all__ = ["Panel", "bar_panels"]


@dataclass(frozen=True, slots=True)
class Panel:
    """One chart: a group of bars per entry of `groups`, a bar per series in each group.
    `errors` gives absolute (low, high) bounds per bar of a series."""

    title: str
    groups: Sequence[str]
    series: Mapping[str, Sequence[float]]
    errors: Mapping[str, Sequence[tuple[float, float]]] = field(default_factory=dict)
    ylabel: str = ""
    ylim: tuple[float, float] | None = None


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise UsageError("plotting needs matplotlib, which is not installed",
                         hint="pip install 'codesift[plot]' (or pip install matplotlib)") from exc
    return plt


def _draw(ax, panel: Panel) -> None:
    n = max(len(panel.series), 1)
    width = 0.8 / n
    for i, (name, values) in enumerate(panel.series.items()):
        xs = [g + (i - (n - 1) / 2) * width for g in range(len(panel.groups))]
        bounds = panel.errors.get(name)
        yerr = None
        if bounds:
            yerr = [[max(v - lo, 0) for v, (lo, _) in zip(values, bounds)],
                    [max(hi - v, 0) for v, (_, hi) in zip(values, bounds)]]
        bars = ax.bar(xs, values, width, label=name, yerr=yerr, capsize=3)
        ax.bar_label(bars, labels=[f"{v:+.2f}" if panel.ylim and panel.ylim[0] < 0 else f"{v:.2f}"
                                   for v in values], fontsize=7, padding=2)
    ax.set_xticks(range(len(panel.groups)), list(panel.groups))
    if panel.ylim and panel.ylim[0] < panel.ylim[1]:
        ax.set_ylim(*panel.ylim)
    if panel.ylim and panel.ylim[0] < 0:
        ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylabel(panel.ylabel)
    ax.set_title(panel.title, fontsize=10)
    ax.legend(fontsize=8, loc="best")
    ax.grid(axis="y", alpha=0.3)


def bar_panels(path: str | Path, panels: Sequence[Panel], *, title: str = "",
               note: str = "") -> Path:
    """Draw the panels side by side into one PNG; returns its path. The file is written
    beside and renamed, so a failed run never leaves half a picture."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise UsageError(f"{path.name}: plots are written as PNG", hint="name the file *.png")
    plt = _pyplot()
    width = sum(max(4.0, 0.9 * len(p.groups) * max(len(p.series), 1) / 2 + 1.5) for p in panels)
    fig, axes = plt.subplots(1, len(panels), figsize=(width, 4.4), dpi=120, squeeze=False)
    for ax, panel in zip(axes[0], panels):
        _draw(ax, panel)
    if title:
        fig.suptitle(title, fontsize=11)
    if note:
        fig.text(0.01, 0.01, note, fontsize=7, alpha=0.8)
    fig.tight_layout(rect=(0, 0.04 if note else 0, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    try:
        fig.savefig(tmp)
        tmp.replace(path)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)
    return path
