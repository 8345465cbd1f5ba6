"""Confine a client's path to a repository: a repo-relative name, never absolute, never `..`,
never through a symlink that leaves the root. Every server that reads files by name uses it.
"""

# Two checks, both needed. `repo_relative` is lexical: it refuses what can never be a
# repository-relative name (absolute paths, drive letters, `~`, `..`, NUL, control
# characters, percent-encoded separators or dots left over after the transport decoded the
# URL once) before anything touches the disk. `inside` resolves symlinks: a name that is
# lexically fine may still lead out through a link, so the real path must lie under the
# real root. Servers additionally read only files the index holds (discovery never
# follows symlinks), which is the strictest rule of all.

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import PathError

_DRIVE = re.compile(r"^[A-Za-z]:")
# %2e = ".", %2f = "/", %5c = "\", %00 = NUL, %25 = "%" (double encoding). A file name may
# hold a "%" but not one of these sequences: they only appear in traversal attempts.
_ENCODED = re.compile(r"%(2e|2f|5c|00|25)", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_PATH_CHARS = 4096
HINT = "give a path relative to the repository root, as search results print it"


def repo_relative(raw: str) -> str:
    """`raw` as a normalised repo-relative posix path, or a PathError saying why not."""
    text = raw or ""
    if not text.strip():
        raise PathError("empty path", hint=HINT)
    if len(text) > MAX_PATH_CHARS:
        raise PathError(f"path longer than {MAX_PATH_CHARS} characters", hint=HINT)
    if _CONTROL.search(text):
        raise PathError("path contains a NUL or control character", hint=HINT)
    if _ENCODED.search(text):
        raise PathError(f"path {text!r} contains percent-encoded dots or separators",
                        hint="send the path URL-encoded exactly once")
    if text.startswith(("/", "\\", "~")) or _DRIVE.match(text) or os.path.isabs(text):
        raise PathError(f"absolute path {text!r} refused", hint=HINT)
    parts = [p for p in text.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise PathError(f"path {text!r} leaves the repository ('..')", hint=HINT)
    if not parts:
        raise PathError(f"{text!r} names the repository root, not a file", hint=HINT)
    return "/".join(parts)


def inside(root: str | os.PathLike, rel: str) -> Path:
    """The real absolute path of `rel` under `root`, refused when a symlink leads outside.
    `rel` must already have passed `repo_relative`."""
    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(real_root.joinpath(*rel.split("/"))))
    if real != real_root and real_root not in real.parents:
        raise PathError(f"{rel} leads outside the repository (through a symlink)", hint=HINT)
    return real


def confine(root: str | os.PathLike, raw: str) -> tuple[str, Path]:
    """(repo-relative path, real absolute path) of `raw` inside `root`: both checks."""
    rel = repo_relative(raw)
    return rel, inside(root, rel)
