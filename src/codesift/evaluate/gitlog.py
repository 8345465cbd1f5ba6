"""What the history miner reads from git: commits with their changed paths, zero-context
diff hunks, and file texts at any revision, through a few long-lived git processes.

Nothing here decides what makes a good query; mine.py does.
"""

from __future__ import annotations

import codecs
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError

__all__ = ["Change", "Commit", "Hunk", "Repo", "parse_hunks"]


@dataclass(frozen=True, slots=True)
class Change:
    """One path a commit touched: status A/M/D/R/C/T, the old path (renames, copies) and the new."""

    status: str
    old_path: str
    path: str


@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    parents: tuple[str, ...]
    date: str  # committer date, YYYY-MM-DD
    message: str
    changes: tuple[Change, ...]

    @property
    def subject(self) -> str:
        return self.message.strip().split("\n", 1)[0].strip()


@dataclass(frozen=True, slots=True)
class Hunk:
    """A `-U0` hunk: old lines [old_start, old_start + old_count) became the new ones.
    A pure insertion has old_count 0 and old_start the line it follows."""

    old_start: int
    old_count: int
    new_start: int
    new_count: int
    removed: tuple[str, ...]
    added: tuple[str, ...]


_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def parse_hunks(diff: str) -> dict[str, list[Hunk]]:
    """`git diff -U0` text -> hunks per new path (the old path for a deletion)."""
    out: dict[str, list[Hunk]] = {}
    path = None
    old_path = None
    current: list | None = None
    for line in diff.split("\n"):
        if line.startswith("diff --git "):
            path = old_path = None
            current = None
        elif line.startswith("--- ") and current is None:
            old_path = _diff_path(line[4:])
        elif line.startswith("+++ ") and current is None:
            path = _diff_path(line[4:]) or old_path
        elif (m := _HUNK.match(line)) and path:
            current = [int(m[1]), int(m[2] or 1) if m[2] != "0" else 0,
                       int(m[3]), int(m[4] or 1) if m[4] != "0" else 0, [], []]
            out.setdefault(path, []).append(current)
        elif current is not None and line.startswith("-"):
            current[4].append(line[1:])
        elif current is not None and line.startswith("+"):
            current[5].append(line[1:])
    return {p: [Hunk(a, b, c, d, tuple(r), tuple(s)) for a, b, c, d, r, s in hunks]
            for p, hunks in out.items()}


def _diff_path(text: str) -> str | None:
    text = text.rstrip("\t")
    if text == "/dev/null":
        return None
    if text.startswith('"'):  # a name with a quote, tab or backslash: C escapes over UTF-8
        text = codecs.escape_decode(text[1:-1].encode("utf-8"))[0].decode("utf-8", "replace")
    return text.split("/", 1)[1] if "/" in text else text


class Repo:
    """A git work tree: commits, diffs and blobs. `close()` ends the blob reader."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        top = self._git("rev-parse", "--show-toplevel", check=False)
        if top is None:
            raise UsageError(f"{self.root} is not inside a git repository",
                             hint="codesift evaluate mines the repository's git history; "
                                  "run it on a clone (git clone URL), not an unpacked archive")
        self.top = Path(top.strip())
        self._blobs: subprocess.Popen | None = None

    def _git(self, *args: str, check: bool = True) -> str | None:
        proc = subprocess.run(["git", "-c", "core.quotePath=false", *args], cwd=self.root,
                              capture_output=True, text=True, encoding="utf-8", errors="replace")
        if proc.returncode != 0:
            if check:
                raise UsageError(f"git {args[0]} failed: {proc.stderr.strip().splitlines()[-1:]}",
                                 hint="check that the repository is a complete clone (not shallow)")
            return None
        return proc.stdout

    def head(self) -> tuple[str, str] | None:
        """(sha, committer date YYYY-MM-DD) of HEAD; None for a repository with no commits."""
        out = self._git("log", "-1", "--format=%H %cs", "HEAD", check=False)
        if not out or not out.strip():
            return None
        sha, date = out.split()
        return sha, date

    def commits(self, since: str | None = None, rev: str = "HEAD") -> list[Commit]:
        """Non-merge commits reachable from `rev`, newest first, with their changed paths
        (renames detected)."""
        args = ["log", "--no-merges", "-M", "--name-status", "-z",
                "--format=%x1e%H%x1f%P%x1f%cs%x1f%B%x1f"]
        if since:
            # A bare date means its midnight: git reads "2026-12-07" as that day at the
            # current time of day, which dropped the morning's commits.
            day = re.fullmatch(r"\d{4}-\d{2}-\d{2}", since)
            args.append(f"--since={since}T00:00:00" if day else f"--since={since}")
        out = self._git(*args, rev, "--") or ""
        return [c for rec in out.split("\x1e")[1:] if (c := _parse_commit(rec))]

    def diff(self, parent: str, sha: str, paths: list[str]) -> dict[str, list[Hunk]]:
        text = self._git("diff", "-U0", "--no-color", "--no-ext-diff", "-M", parent, sha, "--",
                         *paths) or ""
        return parse_hunks(text)

    def renames(self, sha: str, rev: str = "HEAD") -> dict[str, str]:
        """Where each path renamed between `sha` and `rev` went (old -> new)."""
        out = self._git("diff", "-M", "--name-status", "-z", "--diff-filter=R", sha, rev) or ""
        parts = out.split("\0")
        found: dict[str, str] = {}
        i = 0
        while i + 2 < len(parts):
            if parts[i].startswith("R"):
                found[parts[i + 1]] = parts[i + 2]
                i += 3
            else:
                i += 1
        return found

    def show(self, rev: str, path: str) -> str | None:
        """A file's text at a revision (None when absent or not a blob)."""
        if self._blobs is None:
            self._blobs = subprocess.Popen(["git", "cat-file", "--batch"], cwd=self.root,
                                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self._blobs.stdin and self._blobs.stdout
        self._blobs.stdin.write(f"{rev}:{path}\n".encode("utf-8"))
        self._blobs.stdin.flush()
        header = self._blobs.stdout.readline().decode("utf-8", "replace").split()
        if len(header) < 3 or header[-1] == "missing":
            return None
        size = int(header[2])
        data = self._blobs.stdout.read(size + 1)[:size]  # the blob, then a newline
        if header[1] != "blob":
            return None
        return data.decode("utf-8", "replace")

    def close(self) -> None:
        if self._blobs is not None:
            if self._blobs.stdin:
                self._blobs.stdin.close()
            self._blobs.wait()
            self._blobs = None


def _parse_commit(record: str) -> Commit | None:
    head = record.split("\x1f", 4)
    if len(head) < 5:
        return None
    sha, parents, date, message, rest = head
    tokens = [t for t in rest.lstrip("\0\n").split("\0")]
    changes: list[Change] = []
    i = 0
    while i < len(tokens):
        status = tokens[i].strip()
        if not status:
            i += 1
            continue
        if status[0] in "RC" and i + 2 < len(tokens):
            changes.append(Change(status[0], tokens[i + 1], tokens[i + 2]))
            i += 3
        elif i + 1 < len(tokens):
            changes.append(Change(status[0], tokens[i + 1], tokens[i + 1]))
            i += 2
        else:
            break
    return Commit(sha, tuple(parents.split()), date, message, tuple(changes))
