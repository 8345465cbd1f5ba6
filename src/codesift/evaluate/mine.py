"""Localization queries mined from a repository's git history: a commit message -> the source
files and definitions it changed, relocated in the current tree (shared/eval/history's recipe).

Cheap filters (message, paths) run over every commit; diffs and file texts are read only for
the shuffled survivors until `max_queries` are kept, so the result is fixed by the seed.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Callable, Sequence

from ..errors import UsageError
from ..ingest.languages import is_test_path, language_for_path
from .datasets import GoldSymbol, HistoryQuery
from .defs import Definition, definitions, innermost, language_of
from .gitlog import Commit, Hunk, Repo

__all__ = ["MiningParams", "MinedSet", "clean_message", "reject_reason", "mine"]


@dataclass(frozen=True, slots=True)
class MiningParams:
    """The filters a fair localization benchmark needs (defaults: shared/eval/history)."""

    since: str | None = None  # YYYY-MM-DD; None: `window_years` before HEAD, widened if thin
    window_years: int = 4
    max_window_years: int = 12
    min_candidates: int = 30  # widen the window (doubling) while fewer commits pass
    max_queries: int = 60
    seed: int = 0
    min_subject_chars: int = 25
    min_subject_words: int = 4
    max_source_files: int = 3
    max_files: int = 12
    max_changed_lines: int = 400
    max_symbols: int = 12
    max_query_chars: int = 2000


@dataclass(frozen=True, slots=True)
class MinedSet:
    """The queries, where they came from, and why the other commits were not used."""

    repo: str
    head: str
    since: str
    queries: tuple[HistoryQuery, ...]
    examined: int  # commits whose diff was read
    rejected: dict[str, int] = field(default_factory=dict)  # reason -> commits


# Subjects that do not ask for a code change: releases, reverts, bumps, chores, style, docs,
# CI, dependencies, review churn, tests as the topic, and "Update foo.py".
_REJECT = [
    ("revert", r"^revert\b|^unrevert\b|^reapply\b"),
    ("merge", r"^merge\b"),
    ("release", r"^(release|releasing|prepare|preparing|cut)\b.*\b(release|v?\d+\.\d+)|"
                r"^v?\d+\.\d+(\.\d+)*\b|\bbump(ed|s)?\b.*\bversion\b|\bversion bump\b|"
                r"^bump\b|^(release|version)\b"),
    ("churn", r"^(fixup!|squash!|amend!|wip\b)|\b(address(ed|es)? (review|pr|comments?|feedback)|"
              r"review (comments?|feedback)|apply suggestions?|pr feedback|code review)\b"),
    ("chore", r"^(chore|ci|docs?|build|style|test|tests|deps?|release)(\([^)]*\))?!?:"),
    # Style as the topic; words like "formatting" or "whitespace" also name real features.
    ("style", r"\b(typos?|spelling|misspell\w*|lint(s|ing|er)?|clippy|rustfmt|gofmt|goimports|"
              r"prettier|eslint|isort|clang-format|rubocop|php-cs-fixer|ruff|flake8|pyupgrade|"
              r"pre-commit|codespell|golangci-lint|mypy|code style|coding style|code formatting)\b|"
              r"^(re)?format(ted|ting)?\b|\b(trailing|fix|remove|clean ?up)\s+whitespace\b|"
              r"\bwhitespace\s+(fix|fixes|cleanup|changes?)\b|\b(run|apply|ran)\s+black\b"),
    ("docs", r"\b(readme|changelog|docstrings?|copyright|license)\b"),
    ("deps", r"\b(dependabot|renovate|dependencies|dependency|deps)\b|^update \S+ to v?\d"),
    ("tests", r"^(add(s|ed)?|fix(es|ed)?|update[sd]?|improve[sd]?|more|skip|flaky|refactor|"
              r"rework|enable|disable)\s+((unit|integration|regression|e2e|a|the|some|missing)\s+)?"
              r"tests?\b|^tests?\b"),
    ("update-file", r"^update \S+\.\w+\s*$"),
]
_REJECT_RE = [(name, re.compile(rx, re.IGNORECASE)) for name, rx in _REJECT]
_WORD = re.compile(r"[A-Za-z][\w'-]*")


def reject_reason(subject: str, params: MiningParams = MiningParams()) -> str | None:
    """Why a subject makes no fair query (None: it does)."""
    if len(subject) < params.min_subject_chars or len(_WORD.findall(subject)) < params.min_subject_words:
        return "short subject"
    for name, rx in _REJECT_RE:
        if rx.search(subject):
            return name
    return None


# What a message carries that locates nothing or gives the answer away by reference.
_TRAILER = re.compile(r"^\s*([\w-]+-by|co-authored-by|change-id|cc|link|bug|closes|fixes|resolves|"
                      r"refs?|see also|pr-url|reviewed-on|git-svn-id|backport-of)\s*:", re.I)
_CLOSES = re.compile(r"^\s*(fix(es|ed)?|close[sd]?|resolve[sd]?|refs?|see|part of)\b[:\s]*"
                     r"((#|gh-|GH-)\d+[,\s]*(and\s*)?)+$", re.I)
_CHECKBOX = re.compile(r"^\s*[-*]\s*\[[ xX]\]")
_NOISE_BULLET = re.compile(r"^\s*[-*]\s*(fixup|wip|typo|lint|format|fmt|update \S+|"
                           r"merge branch .*|address .*review.*|review .*|fix (tests?|ci|build))\s*$",
                           re.I)
_URL = re.compile(r"https?://\S+|www\.\S+")
_ISSUE = re.compile(r"\(\s*(#|gh-|GH-)\d+\s*\)|(?<![\w/])(#|gh-|GH-)\d+\b")


def clean_message(message: str, max_chars: int = 2000) -> str:
    """Subject + body without issue numbers, URLs, trailers, checkboxes and squash noise."""
    lines = []
    for line in message.replace("\r\n", "\n").split("\n"):
        if _TRAILER.match(line) or _CLOSES.match(line) or _CHECKBOX.match(line) or _NOISE_BULLET.match(line):
            continue
        cleaned = _ISSUE.sub("", _URL.sub("", line)).rstrip()
        if cleaned != line.rstrip() and len(_WORD.findall(cleaned)) <= 2:
            continue  # "See <url>", "Ref #12": nothing left that describes the change
        lines.append(cleaned)
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    text = re.sub(r"[ \t]{2,}", " ", text)
    return text[:max_chars].rstrip()


def _source_language(path: str) -> str | None:
    language = language_of(path)
    # Test conventions are the index's (its language names: `csharp`, not defs' `c_sharp`).
    if language is None or is_test_path(path, language_for_path(path) or language):
        return None
    return language


def _cheap_reason(commit: Commit, params: MiningParams) -> str | None:
    """Reject from the message and the changed paths alone."""
    if len(commit.parents) != 1:
        return "root commit"
    reason = reject_reason(commit.subject, params)
    if reason:
        return reason
    if len(commit.changes) > params.max_files:
        return "too many files"
    sources = [c for c in commit.changes if _source_language(c.path) or _source_language(c.old_path)]
    if not sources:
        return "no source file"
    if len(sources) > params.max_source_files:
        return "too many source files"
    if any(c.status not in "MR" for c in sources):
        return "adds or deletes a source file"
    return None


_COMMENT = re.compile(r"^\s*(#|//|/\*|\*|--|;|<!--|\"\"\"|''')")


def _is_code_line(line: str) -> bool:
    return bool(line.strip()) and not _COMMENT.match(line)


_TRAILING_COMMENT = re.compile(r"\s(//|#)\s.*$|/\*.*?\*/")


def _code(lines) -> Counter[str]:
    """The code lines of one side of a diff, comments and spacing taken out: equal on both
    sides when a commit only edits comments, re-indents or moves lines."""
    out: Counter[str] = Counter()
    for line in lines:
        if _is_code_line(line):
            code = " ".join(_TRAILING_COMMENT.sub("", line).split())
            if code:
                out[code] += 1
    return out


def _inline_test(gold: "_Gold") -> bool:
    """A definition inside a test module of a source file (Rust's `mod tests`)."""
    return gold.definition.name.split(".", 1)[0] in ("test", "tests")


@dataclass(slots=True)
class _Gold:
    """A changed definition before relocation: where it was found and its ordinal there."""

    path: str  # its path in the commit's trees
    definition: Definition
    ordinal: int


def _ordinal(defs: Sequence[Definition], d: Definition) -> int:
    same = [x for x in defs if x.name == d.name and x.kind == d.kind]
    return same.index(d)


def _changed_defs(old_text: str | None, new_text: str | None, path: str, old_path: str,
                  hunks: Sequence[Hunk]) -> list[_Gold]:
    """The innermost definitions holding a changed code line: removed lines in the parent's
    file, added lines in the commit's (so a new method counts as changed)."""
    found: dict[tuple[str, str, int], _Gold] = {}
    for text, side_path, side in ((old_text, old_path, "old"), (new_text, path, "new")):
        if text is None:
            continue
        defs = definitions(side_path, text)
        for hunk in hunks:
            start, lines = (hunk.old_start, hunk.removed) if side == "old" else (hunk.new_start, hunk.added)
            for offset, line in enumerate(lines):
                if not _is_code_line(line):
                    continue
                d = innermost(defs, start + offset)
                if d is not None and d.name:  # an anonymous class expression names nothing
                    ordinal = _ordinal(defs, d)
                    found.setdefault((d.name, d.kind, ordinal), _Gold(path, d, ordinal))
    return list(found.values())


def _relocate(gold: Sequence[_Gold], current: dict[str, list[Definition]]) -> list[GoldSymbol]:
    """Each changed definition found in the current tree by qualified name, kind and ordinal."""
    out: list[GoldSymbol] = []
    seen: set[tuple[str, str, int]] = set()
    for g in gold:
        same = [d for d in current.get(g.path, []) if d.name == g.definition.name
                and d.kind == g.definition.kind]
        if g.ordinal < len(same):
            d = same[g.ordinal]
            key = (g.path, d.name, d.start_line)
            if key not in seen:
                seen.add(key)
                out.append(GoldSymbol(g.path, d.name, d.kind, d.start_line, d.end_line))
    return out


class _Miner:
    """One pass over one repository's candidates."""

    def __init__(self, repo: Repo, root: Path, head: str, name: str, params: MiningParams) -> None:
        self.repo, self.root, self.head, self.name, self.params = repo, root, head, name, params
        self.rejected: Counter[str] = Counter()
        self._current: dict[str, list[Definition]] = {}

    def current_defs(self, path: str) -> list[Definition] | None:
        """Definitions of a file as the work tree (what the index sees) holds it."""
        if path not in self._current:
            file = self.root / path
            if not file.is_file():
                return None
            self._current[path] = definitions(path, file.read_text(encoding="utf-8", errors="replace"))
        return self._current[path]

    def query(self, commit: Commit) -> HistoryQuery | None:
        try:
            reason, query = self._examine(commit)
        except UsageError:  # a shallow or partial clone lacks this commit's objects
            reason, query = "objects missing", None
        if reason:
            self.rejected[reason] += 1
        return query

    def _examine(self, commit: Commit) -> tuple[str | None, HistoryQuery | None]:
        sources = [c for c in commit.changes if _source_language(c.path)]
        if not sources:
            return "no source file", None
        parent = commit.parents[0]
        hunks = self.repo.diff(parent, commit.sha, [p for c in sources for p in {c.old_path, c.path}])
        file_hunks = [h for c in sources for h in hunks.get(c.path, [])]
        changed = [line for h in file_hunks for line in (*h.removed, *h.added)]
        if _code(line for h in file_hunks for line in h.removed) == \
                _code(line for h in file_hunks for line in h.added):
            return "no code line changed", None  # comments, blank lines, layout or a move
        if len(changed) > self.params.max_changed_lines:
            return "diff too large", None
        gold_files, gold = self._relocate_files(commit, sources, hunks)
        if gold_files is None:
            return "gold file gone", None
        code_gold = [g for g in gold if not _inline_test(g)]
        if gold and not code_gold:
            return "test code only", None
        gold = code_gold
        symbols = _relocate(gold, {p: self.current_defs(p) or [] for p in gold_files})
        if len(symbols) > self.params.max_symbols:
            return "too many symbols", None
        text = clean_message(commit.message, self.params.max_query_chars)
        return None, HistoryQuery(id=f"{self.name}-{commit.sha[:10]}", package=self.name,
                                  version=self.head[:12], registry="git", query=text,
                                  gold_files=tuple(gold_files), gold_symbols=tuple(symbols))

    def _relocate_files(self, commit: Commit, sources, hunks) -> tuple[list[str] | None, list[_Gold]]:
        """The changed files' paths in the current tree (following renames since), and the
        definitions each commit changed, under those paths."""
        renames: dict[str, str] | None = None
        gold_files: list[str] = []
        gold: list[_Gold] = []
        for change in sources:
            path = change.path
            if self.current_defs(path) is None:
                renames = renames if renames is not None else self.repo.renames(commit.sha)
                path = renames.get(path, "")
                if not path or self.current_defs(path) is None:
                    return None, []
            old = self.repo.show(commit.parents[0], change.old_path)
            new = self.repo.show(commit.sha, change.path)
            for g in _changed_defs(old, new, change.path, change.old_path, hunks.get(change.path, [])):
                gold.append(_Gold(path, g.definition, g.ordinal))
            gold_files.append(path)
        return list(dict.fromkeys(gold_files)), gold


def _window(head_date: str, years: int) -> str:
    d = date.fromisoformat(head_date)
    return (d - timedelta(days=round(365.25 * years))).isoformat()


def _normalised(subject: str) -> str:
    return re.sub(r"\W+", " ", subject.lower()).strip()


def mine(root: str | Path, params: MiningParams = MiningParams(), *, name: str | None = None,
         progress: Callable[[int, int], None] | None = None) -> MinedSet:
    """Mine up to `params.max_queries` localization queries from the history of `root`."""
    root = Path(root).resolve()
    repo = Repo(root)
    try:
        head = repo.head()
        if head is None:
            raise UsageError(f"{root} has no commits", hint="evaluate needs a repository with history")
        sha, head_date = head
        name = name or root.name
        years = params.window_years
        while True:
            since = params.since or _window(head_date, years)
            commits = repo.commits(since)
            rejected: Counter[str] = Counter()
            candidates, subjects = [], set()
            for commit in commits:
                reason = _cheap_reason(commit, params)
                if reason is None and _normalised(commit.subject) in subjects:
                    reason = "near-duplicate message"
                if reason:
                    rejected[reason] += 1
                    continue
                subjects.add(_normalised(commit.subject))
                candidates.append(commit)
            if params.since or len(candidates) >= params.min_candidates or years >= params.max_window_years:
                break
            years = min(years * 2, params.max_window_years)
        # Oldest first before shuffling, so the order git prints cannot change the draw.
        candidates.sort(key=lambda c: (c.date, c.sha))
        random.Random(params.seed).shuffle(candidates)
        miner = _Miner(repo, root, sha, name, params)
        queries: list[HistoryQuery] = []
        examined = 0
        for commit in candidates:
            if len(queries) >= params.max_queries:
                break
            examined += 1
            q = miner.query(commit)
            if q is not None:
                queries.append(q)
            if progress:
                progress(examined, len(candidates))
        rejected.update(miner.rejected)
        return MinedSet(repo=name, head=sha, since=since, queries=tuple(queries),
                        examined=examined, rejected=dict(rejected))
    finally:
        repo.close()
