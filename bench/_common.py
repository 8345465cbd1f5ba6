"""Shared plumbing of the bench scripts: import path, option parsing, timing, JSON output."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
try:  # run from a checkout without `pip install -e .`
    import codesift  # noqa: F401
except ImportError:
    sys.path.insert(0, str(ROOT / "src"))


def drop_from_page_cache(paths) -> None:
    """posix_fadvise(DONTNEED) each file: what a run meets once this machine has paged the
    files out (it does so for pages idle ~30 s, DAMON). Clean pages only: a file being
    written keeps its dirty pages. Unreadable files are passed over."""
    for path in paths:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def parse_value(text: str) -> Any:
    """`3` -> 3, `0.5` -> 0.5, `true` -> True, `none` -> None, anything else stays a string."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_opts(pairs: list[str] | None) -> dict[str, Any]:
    """["a=1", "b=x"] -> {"a": 1, "b": "x"}; also accepts comma-joined "a=1,b=x"."""
    out: dict[str, Any] = {}
    for pair in pairs or []:
        for item in filter(None, pair.split(",")):
            if "=" not in item:
                raise SystemExit(f"bad option {item!r}: expected key=value")
            key, value = item.split("=", 1)
            out[key.strip()] = parse_value(value.strip())
    return out


def parse_variants(specs: list[str] | None) -> dict[str, dict[str, Any]]:
    """["lex:dense_weight=0,graph=false"] -> {"lex": {...}}."""
    out = {}
    for spec in specs or []:
        name, _, opts = spec.partition(":")
        out[name] = parse_opts([opts]) if opts else {}
    return out


def split_settings(opts: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Variant options naming a Settings field (graph_expand=0.3) vs Index.search kwargs."""
    from dataclasses import fields

    from codesift.config import Settings
    names = {f.name for f in fields(Settings)}
    return ({k: v for k, v in opts.items() if k in names},
            {k: v for k, v in opts.items() if k not in names})


def history_packages(spec: str) -> list[str] | None:
    """The packages a `--packages` value names ("all" or a comma list); None (after saying
    which on stderr) when one is unknown."""
    from codesift.evaluate import datasets
    packages = datasets.history_packages() if spec == "all" else spec.split(",")
    unknown = [p for p in packages if p not in datasets.HISTORY_CORPORA]
    if unknown:
        print(f"unknown package(s): {', '.join(unknown)}", file=sys.stderr)
        return None
    return packages


def timed(fn, *args, **kwargs) -> tuple[Any, float]:
    """(result, milliseconds)."""
    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, (time.perf_counter() - t0) * 1000.0


def environment() -> dict[str, Any]:
    info = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    try:
        import subprocess

        info["git"] = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                     capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    return info


def hit_dict(h: Any) -> dict[str, Any]:
    return {"path": h.path, "start_line": h.start_line, "end_line": h.end_line,
            "symbol": getattr(h, "symbol", ""), "score": round(float(getattr(h, "score", 0.0)), 6)}


def write_json(path: str | None, data: Any) -> None:
    if not path:
        return
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1, default=str) + "\n", encoding="utf-8")
    print(f"\nwrote {out}")
