"""Two encoders compared on the same queries: paired bootstrap differences (B - A, 95%
interval) from the JSON of two `eval_devsets.py` runs and two `eval_cosqa.py` runs, for
codesift hybrid and its dense-only variant (issue 16).

    python bench/compare_encoders.py --devsets A.json B.json --cosqa A.json B.json
"""

from __future__ import annotations

import argparse
import json
import sys

import _common  # noqa: F401  (sets the import path)

from codesift.evaluate.compare import paired_bootstrap

HISTORY_METRICS = ("F@1", "F@5", "MRR", "S!@10")
COSQA_METRICS = ("MRR", "R@1", "R@5", "R@10")


def devset_scores(path: str, system: str) -> dict[str, list]:
    sets = json.load(open(path, encoding="utf-8"))["sets"]
    out: dict[str, list] = {m: [] for m in HISTORY_METRICS}
    for data in sets.values():
        for per_system in data["queries"].values():
            for q in per_system[system]:
                for m in HISTORY_METRICS:
                    out[m].append(q.get(m))
    return out


def cosqa_scores(path: str, system: str, k: int = 10) -> dict[str, list]:
    ranks = [q["rank"] for q in json.load(open(path, encoding="utf-8"))["queries"][system]]
    return {"MRR": [1 / r if r else 0.0 for r in ranks],
            **{f"R@{n}": [float(bool(r) and r <= n) for r in ranks] for n in (1, 5, 10)}}


def show(title: str, a: dict[str, list], b: dict[str, list], metrics) -> None:
    cells = []
    for m in metrics:
        iv = paired_bootstrap(b[m], a[m])
        mean_a = _mean(a[m])
        cells.append(f"{m} {mean_a:.3f} -> {mean_a + iv.diff:.3f} ({iv.diff:+.3f} [{iv.low:+.3f}, {iv.high:+.3f}])")
    print(f"{title}: " + "; ".join(cells))


def _mean(values: list) -> float:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--devsets", nargs=2, metavar=("A", "B"))
    ap.add_argument("--cosqa", nargs=2, metavar=("A", "B"))
    args = ap.parse_args()
    for system in ("codesift", "codesift[dense]"):
        if args.devsets:
            show(f"devsets {system}", devset_scores(args.devsets[0], system),
                 devset_scores(args.devsets[1], system), HISTORY_METRICS)
        if args.cosqa:
            show(f"cosqa {system}", cosqa_scores(args.cosqa[0], system),
                 cosqa_scores(args.cosqa[1], system), COSQA_METRICS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
