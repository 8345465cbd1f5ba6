"""Read lines of one indexed file for a tool, confined to the repository, secrets redacted.

Everything the servers show of a file's current text (read_range, get_symbol) comes through here.
"""

# Confinement: an agent's path is only ever a repo-relative name (paths.repo_relative refuses
# absolute paths, `..` and encoded tricks) of a file the index holds, which refuses files
# discovery skipped (gitignored, binary, vendored, and every symlink: discovery never follows
# one). The file on disk is then checked again, as it may have become a symlink since.

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import CodesiftError, PathError
from ..ingest.discover import classify_file, read_text
from ..model import SkippedFile
from .paths import repo_relative


@dataclass(frozen=True, slots=True)
class Excerpt:
    """Lines start_line..end_line (1-based, inclusive) of a file as it is on disk now."""

    path: str
    start_line: int
    end_line: int
    total_lines: int
    lines: tuple[str, ...]
    redactions: int = 0  # secrets replaced in the text shown


class FileReader:
    """Reads indexed files of one repository for the tools."""

    def __init__(self, root: Path, store, *, max_file_bytes: int, redact_secrets: bool) -> None:
        self.root = Path(os.path.realpath(root))
        self.store = store
        self.max_file_bytes = max_file_bytes
        self.redact_secrets = redact_secrets

    def confine(self, path: str) -> tuple[str, str]:
        """(repo-relative path, absolute path) of an indexed file, or a PathError saying why not."""
        rel = repo_relative(path)
        if rel not in self.store.file_info([rel]):
            raise PathError(f"{rel} is not a file in the index",
                            hint="use a path search_code returned; if the file is new, re-index")
        abspath = os.path.join(self.root, *rel.split("/"))
        if os.path.realpath(abspath) != abspath:
            raise PathError(f"{rel} is a symlink or lies under one; it is not read",
                            hint="read the file it points to by its own path")
        found = classify_file(abspath, rel, self.max_file_bytes)
        if isinstance(found, SkippedFile):
            raise PathError(f"{rel} cannot be read now: {found.reason}",
                            hint="re-index if the file changed: codesift index")
        return rel, abspath

    def read(self, path: str, start_line: int = 1, end_line: int | None = None) -> Excerpt:
        rel, abspath = self.confine(path)
        if start_line < 1 or (end_line is not None and end_line < start_line):
            raise PathError(f"bad line range {start_line}-{end_line}",
                            hint="lines are 1-based and end_line >= start_line")
        try:
            text, _warning = read_text(abspath)
        except OSError as exc:
            raise PathError(f"{rel}: {exc.strerror}", hint="re-index if the file changed") from exc
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        total = len(lines)
        if start_line > max(total, 1):
            raise PathError(f"{rel} has {total} lines; line {start_line} is past its end",
                            hint=f"ask for lines 1-{total}")
        end = min(end_line or total, total)
        shown, redactions = self._redacted(rel, lines, start_line, end)
        return Excerpt(rel, start_line, end, total, tuple(shown), redactions)

    def redact(self, text: str, path: str) -> tuple[str, tuple]:
        """`text` of the file at `path` with its secrets replaced, and the findings (each
        with its 1-based line; redaction never changes the number of lines)."""
        if not self.redact_secrets:
            return text, ()
        found = _redactor()(text, path)
        return found.text, found.findings

    def _redacted(self, rel: str, lines: list[str], start: int, end: int) -> tuple[list[str], int]:
        """The whole file is redacted, then sliced, so that a secret spanning the range's
        edge (a PEM block) is still recognised."""
        text, findings = self.redact("\n".join(lines), rel)
        shown = text.split("\n")[start - 1:end]
        return shown, sum(1 for f in findings if start <= f.line <= end)


@lru_cache(maxsize=1)
def _redactor():
    """`codesift.ingest.secrets.redact`, imported when first needed (detect-secrets is not
    cheap to import). Missing, reading fails closed rather than show secrets."""
    try:
        from ..ingest.secrets import redact
    except ImportError as exc:
        raise CodesiftError(f"secret redaction is on but cannot run ({exc})",
                        hint="reinstall codesift with its dependencies, or set "
                             "redact_secrets = false in codesift.toml") from exc
    return redact
