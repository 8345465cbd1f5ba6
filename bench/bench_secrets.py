"""Secret redaction over the CPython standard library: cost, what it finds, and what the
choices in ingest/secrets.py buy (the prefilter; entropy detectors on config files only).

    cd /work/main && .venv/bin/python bench/bench_secrets.py [--mode default|no-prefilter|entropy-everywhere]

Prints files and lines, the share of lines the prefilter lets through to detect-secrets, the
CPU time of `redact` over every .py file, and the findings by kind.
"""

from __future__ import annotations

import argparse
import collections
import sysconfig
import time
from pathlib import Path

import _common  # noqa: F401  (sets the import path)

from codesift.ingest import secrets as S


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", default=sysconfig.get_paths()["stdlib"])
    p.add_argument("--mode", default="default",
                   choices=("default", "no-prefilter", "entropy-everywhere"))
    args = p.parse_args()
    root = Path(args.corpus)
    files = sorted(f for f in root.rglob("*.py") if "site-packages" not in f.parts)
    texts = [(str(f.relative_to(root)), f.read_text("utf-8", "surrogateescape")) for f in files]
    n_lines = sum(t.count("\n") + 1 for _, t in texts)
    # The two alternatives are measured by swapping the module's own choices out.
    if args.mode == "entropy-everywhere":
        S._is_config = lambda path: True
    if args.mode == "no-prefilter":
        S._candidate_lines = lambda text, *a: dict.fromkeys(range(text.count("\n") + 1), True)
    S._detectors()  # import and build once, outside the timing
    candidates = sum(len(S._candidate_lines(t)) for _, t in texts)
    started = time.process_time()
    found = [S.redact(t, path) for path, t in texts]
    seconds = time.process_time() - started
    kinds = collections.Counter(f.kind for r in found for f in r.findings)
    print(f"mode {args.mode}: {len(texts):,} files, {n_lines:,} lines; prefilter passes "
          f"{candidates:,} lines ({100 * candidates / n_lines:.1f}%)")
    print(f"redact: {seconds:.2f} s CPU ({n_lines / seconds / 1000:.0f}k lines/s); "
          f"{sum(kinds.values())} findings: {dict(kinds.most_common())}")


if __name__ == "__main__":
    main()
