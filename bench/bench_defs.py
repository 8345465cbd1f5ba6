"""Definitions extractor speed (codesift.evaluate.defs) per language, against the raw parse.

    .venv/bin/python bench/bench_defs.py LANGUAGE ROOT [ROOT ...] [--exclude REGEX] [--rounds 3]

Every file under the roots whose language (defs.language_of) is LANGUAGE is read into memory
first. Each file is parsed raw (encode + `Parser.parse` with the grammar definitions() picks)
and then given to `definitions()`, --rounds times interleaved, keeping the best time per
file: on a busy machine that drops the rounds another process interrupted. Prints files/s
and lines/s of both and their ratio (the figure to compare across machines), the number of
definitions by kind, and the files tree-sitter found syntax errors in.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import environment, write_json  # noqa: E402

from codesift.evaluate import defs  # noqa: E402


def load(language: str, roots: list[str], exclude: str | None) -> list[tuple[str, str]]:
    skip = re.compile(exclude) if exclude else None
    files = []
    for root in roots:
        for path in sorted(Path(root).rglob("*")):
            if (defs.language_of(path.name) == language and path.is_file()
                    and not (skip and skip.search(str(path)))):
                files.append((str(path), path.read_text(encoding="utf-8", errors="replace")))
    return files


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("language")
    p.add_argument("roots", nargs="+")
    p.add_argument("--exclude", help="skip paths matching this regular expression")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--json", help="write the figures here")
    args = p.parse_args(argv)
    files = load(args.language, args.roots, args.exclude)
    if not files:
        print(f"no {args.language} files under {' '.join(args.roots)}", file=sys.stderr)
        return 2
    best_parse = [float("inf")] * len(files)
    best_defs = [float("inf")] * len(files)
    kinds: Counter[str] = Counter()
    errors = 0
    for rnd in range(args.rounds):
        for i, (path, text) in enumerate(files):
            parser = defs._parser(defs._grammar_of(path, text))
            t0 = time.perf_counter()
            tree = parser.parse(text.encode("utf-8", "replace"))
            t1 = time.perf_counter()
            found = defs.definitions(path, text)
            t2 = time.perf_counter()
            best_parse[i] = min(best_parse[i], t1 - t0)
            best_defs[i] = min(best_defs[i], t2 - t1)
            if rnd == 0:
                kinds.update(d.kind for d in found)
                errors += tree.root_node.has_error
    lines = sum(text.count("\n") + 1 for _, text in files)
    parse_s, defs_s = sum(best_parse), sum(best_defs)
    row = {
        "language": args.language, "files": len(files), "lines": lines,
        "definitions": dict(kinds), "files_with_syntax_errors": errors,
        "parse_files_per_s": round(len(files) / parse_s),
        "parse_klines_per_s": round(lines / parse_s / 1e3),
        "defs_files_per_s": round(len(files) / defs_s),
        "defs_klines_per_s": round(lines / defs_s / 1e3),
        "defs_over_parse": round(defs_s / parse_s, 2),
    }
    print(f"{args.language}: {len(files)} files, {lines} lines, {sum(kinds.values())} definitions "
          f"{dict(kinds)}, {errors} files with syntax errors")
    print(f"  definitions(): {row['defs_files_per_s']} files/s, "
          f"{row['defs_klines_per_s']}k lines/s; raw parse: {row['parse_files_per_s']} files/s, "
          f"{row['parse_klines_per_s']}k lines/s; definitions / parse time "
          f"{row['defs_over_parse']}")
    write_json(args.json, {"benchmark": "defs", "environment": environment(), "result": row})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
