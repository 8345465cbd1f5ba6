"""codesift's offline token counts against tiktoken itself, file by file over the stdlib.

    cd /work/main && .venv/bin/python bench/bench_tokenizer.py [--tiktoken-cache DIR]

tiktoken downloads its encodings at first use; offline, point --tiktoken-cache (or
TIKTOKEN_CACHE_DIR) at a folder holding them (llama-index-core, from the `bench` extra,
ships cl100k_base and o200k_base in llama_index/core/_static/tiktoken_cache).
"""

from __future__ import annotations

import argparse
import os
import sysconfig
from pathlib import Path

import _common  # noqa: F401  (sets the import path)

from codesift.tokenizer import make_tokenizer


def _bundled_cache() -> str | None:
    try:
        import llama_index.core
    except ImportError:
        return None
    folder = Path(llama_index.core.__file__).parent / "_static" / "tiktoken_cache"
    return str(folder) if folder.is_dir() else None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", default=sysconfig.get_paths()["stdlib"])
    p.add_argument("--tiktoken-cache", default=os.environ.get("TIKTOKEN_CACHE_DIR") or _bundled_cache())
    args = p.parse_args()
    if args.tiktoken_cache:
        os.environ["TIKTOKEN_CACHE_DIR"] = args.tiktoken_cache
    import tiktoken
    texts = []
    for path in sorted(Path(args.corpus).rglob("*.py")):
        if "site-packages" in path.parts:
            continue
        try:
            texts.append(path.read_text("utf-8"))
        except UnicodeDecodeError:
            continue
    for encoding in ("cl100k_base", "o200k_base"):
        reference, ours = tiktoken.get_encoding(encoding), make_tokenizer(f"tiktoken:{encoding}")
        differ = sum(len(reference.encode(t, disallowed_special=())) != ours.count(t) for t in texts)
        total = sum(ours.count(t) for t in texts)
        print(f"{encoding}: {len(texts):,} files, {total:,} tokens; counts differing from "
              f"tiktoken in {differ} files (codesift's counter: {ours.name})")


if __name__ == "__main__":
    main()
