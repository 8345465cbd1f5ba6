"""General ability kept (issue 16): paraphrase ROC-AUC of each model, and its change from the first.

    cd /work/main && PYTHONPATH=src .venv/bin/python bench/tune_general.py \
        --model local --model local:/path/to/tuned [--data FILE] [--json]

Each model embeds both sentences of every pair in bench/data/paraphrase_pairs.jsonl with
codesift's own embedder (the spec `codesift index --embedder` takes); a pair's score is the
cosine. ROC-AUC over all pairs; the issue allows a tuned model a drop of at most 0.03
against all-MiniLM-L6-v2 (`local`, give it first). The breakdown is paraphrases against
each kind of non-paraphrase alone (role swaps, negations, numbers, ...).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import _common  # noqa: F401  (sets the import path)
from _common import ROOT, environment

from codesift.embed import make_embedder
from codesift.errors import CodesiftError
from codesift.tune.general import breakdown, load_sentence_pairs, pair_scores, roc_auc

DEFAULT_DATA = ROOT / "bench" / "data" / "paraphrase_pairs.jsonl"
MAX_DROP = 0.03  # the allowance


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", action="append", metavar="SPEC",
                   help='embedder spec, repeatable: "local" (all-MiniLM-L6-v2), '
                        '"local:/path/to/folder"; the first is the baseline (default: local)')
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="JSONL of {a, b, label}")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    return p


def evaluate(spec: str, pairs) -> dict:
    started = time.perf_counter()
    scores = pair_scores(make_embedder(spec), pairs)
    labels = [p.label for p in pairs]
    return {"model": spec, "auc": roc_auc(scores, labels), "by_kind": breakdown(scores, pairs),
            "seconds": round(time.perf_counter() - started, 2)}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    specs = args.model or ["local"]
    try:
        pairs = load_sentence_pairs(args.data)
        results = [evaluate(spec, pairs) for spec in specs]
    except CodesiftError as exc:
        print(f"error: {exc}" + (f"\n  {exc.hint}" if exc.hint else ""), file=sys.stderr)
        return exc.exit_code
    base = results[0]["auc"]
    for r in results:
        r["delta"] = r["auc"] - base
        r["kept"] = r["delta"] >= -MAX_DROP
    positives = sum(p.label for p in pairs)
    if args.json:
        print(json.dumps({"data": str(args.data), "pairs": len(pairs), "paraphrases": positives,
                          "max_drop": MAX_DROP, "results": results, "env": environment()}, indent=1))
        return 0
    print(f"{len(pairs)} pairs ({positives} paraphrases) from {args.data}")
    for n, r in enumerate(results):
        verdict = "baseline" if n == 0 else ("kept" if r["kept"] else f"LOST (> {MAX_DROP})")
        kinds = ", ".join(f"{k} {v:.3f}" for k, v in r["by_kind"].items())
        print(f"{r['model']}: ROC-AUC {r['auc']:.4f}  delta {r['delta']:+.4f}  {verdict}"
              f"  [{kinds}]  {r['seconds']}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
