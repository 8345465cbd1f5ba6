"""Pasted error messages: does a search find the code that raises them?

Queries come from the indexed tree's own Python raise sites, `raise XError("message")`
(f-strings, %-formats and str.format fields rendered with a stand-in value, as a program
would print them), one per distinct message outside test code, sampled with a fixed seed.
A query is `XError: message`; its answer is the function that holds the raise. Scored by
the rank of the first hit whose path is that file and whose range holds the raise line:
MRR@10, R@1, R@10. Works on an index that already exists (build it with `codesift index`).

    .venv/bin/python bench/eval_errors.py --repo STDLIB_COPY --index-dir INDEX \
        [--variant off:weight_messages=0] [--bm25] [--out errors.json]
"""

from __future__ import annotations

import argparse
import ast
import random
import re
import statistics
import sys
from pathlib import Path

import _common  # noqa: F401  (sets the import path)
from _common import parse_variants, split_settings, timed, write_json

STAND_IN = "'xyz'"
_FORMAT_FIELD = re.compile(r"%[-#0 +]*\d*(?:\.\d+)?[sdrifxXc]|\{[^{}]*\}")
_SKIP_PARTS = ("test", "tests", "idlelib", "lib2to3", "site-packages", "pydoc_data")


def raise_sites(root: Path, min_words: int = 4) -> list[dict]:
    out = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if any(part.startswith(_SKIP_PARTS) for part in rel.split("/")):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for func in ast.walk(tree):
            if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out += _raises_in(func, rel, min_words)
    return out


def _raises_in(func: ast.AST, rel: str, min_words: int) -> list[dict]:
    found = []
    for node in ast.walk(func):
        if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
                and isinstance(node.exc.func, ast.Name) and node.exc.args):
            continue
        message = _rendered(node.exc.args[0])
        if message and len(message.split()) >= min_words:
            found.append({"query": f"{node.exc.func.id}: {message}", "path": rel,
                          "line": node.lineno, "function": func.name})
    return found


def _rendered(arg: ast.AST) -> str | None:
    """The message as printed: formatted values become a stand-in."""
    if isinstance(arg, ast.BinOp) and isinstance(arg.op, ast.Mod):
        arg = arg.left  # "... %s ..." % value
    if isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute) \
            and arg.func.attr == "format":
        arg = arg.func.value  # "... {} ...".format(value)
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return _FORMAT_FIELD.sub(STAND_IN, arg.value)
    if isinstance(arg, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else STAND_IN for v in arg.values)
    return None


def sample(sites: list[dict], n: int, seed: int) -> list[dict]:
    by_message: dict[str, list[dict]] = {}
    for site in sites:
        by_message.setdefault(site["query"], []).append(site)
    unique = [v[0] for v in by_message.values() if len(v) == 1]  # one answer per message
    return random.Random(seed).sample(unique, min(n, len(unique)))


def score(search, queries: list[dict]) -> tuple[dict, list[dict]]:
    ranks, times, details = [], [], []
    for q in queries:
        hits, ms = timed(search, q["query"])
        rank = next((i for i, h in enumerate(hits, 1)
                     if h.path == q["path"] and h.start_line <= q["line"] <= h.end_line), None)
        ranks.append(rank)
        times.append(ms)
        details.append({**q, "rank": rank})
    n = len(queries)
    row = {"n": n, "MRR@10": sum(1 / r for r in ranks if r) / n,
           "R@1": sum(r == 1 for r in ranks if r) / n, "R@10": sum(r is not None for r in ranks) / n,
           "p50 ms": statistics.median(times)}
    return row, details


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repo", required=True, type=Path)
    p.add_argument("--index-dir", required=True)
    p.add_argument("--n", type=int, default=150)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--min-words", type=int, default=4, help="shortest message, in words")
    p.add_argument("--max-words", type=int, default=0, help="longest message (0: no limit)")
    p.add_argument("--variant", action="append", metavar="NAME:KEY=VALUE[,KEY=VALUE]",
                   help="also run with these Settings fields (e.g. off:weight_messages=0)")
    p.add_argument("--bm25", action="store_true", help="also BM25 over symbol chunks (slow to build)")
    p.add_argument("--out")
    args = p.parse_args()
    import codesift
    sites = [s for s in raise_sites(args.repo, args.min_words)
             if not args.max_words or len(s["query"].split()) - 1 <= args.max_words]
    queries = sample(sites, args.n, args.seed)
    print(f"{len(sites)} raise sites, {len(queries)} queries", file=sys.stderr)
    rows, details = {}, {}
    idx = codesift.open_index(args.repo, index_dir=args.index_dir)
    try:
        base = idx.settings
        idx.search(queries[0]["query"])  # warm-up: vectors and query model
        for name, opts in {"codesift": {}, **parse_variants(args.variant)}.items():
            tuned, _ = split_settings(opts)
            idx.settings = base.with_overrides(**tuned)
            rows[name], details[name] = score(lambda q: idx.search(q, k=10), queries)
        idx.settings = base
    finally:
        idx.close()
    if args.bm25:
        from codesift.evaluate import baselines
        bm = baselines.bm25_chunk(args.repo)
        rows["bm25-chunk"], details["bm25-chunk"] = score(lambda q: bm.search(q, 10), queries)
    print("| system | n | MRR@10 | R@1 | R@10 | p50 ms |\n|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['n']} | {r['MRR@10']:.3f} | {r['R@1']:.3f} | {r['R@10']:.3f} | "
              f"{r['p50 ms']:.1f} |")
    write_json(args.out, {"benchmark": "errors", "rows": rows, "queries": details})
    return 0


if __name__ == "__main__":
    sys.exit(main())
