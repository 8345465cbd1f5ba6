"""Long pasted text (an issue with its logs) condensed to the lines that locate code.

`condense(text)` keeps the title, stack frames, error lines, code and prose, and leaves out
repeated log lines, output dumps and progress bars, in one pass over the lines.
"""

# Why: a query's retrievers read a bounded text. Lexical terms are capped (query.py), the
# embedding model reads 128 tokens, and every frame, identifier and message phrase costs a
# lookup. A 100,000-character issue is mostly the log its author pasted; the lines that name
# the code (a traceback, the error, a path, an identifier, the title) are a few hundred
# characters of it. Each line is classified once, cut to MAX_LINE_CHARS first, so the work
# is linear in the text whatever it holds (a regex never sees an unbounded line).

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

LONG_TEXT_CHARS = 2_000  # text up to this long is analysed exactly as written
CONDENSED_CHARS = 6_000  # what is kept of a longer one, at most
HEAD_CHARS = 1_000  # what the dense retriever embeds (the model reads ~128 tokens of it)
MAX_LINE_CHARS = 400  # a longer line is cut: base64, minified code, a JSON dump
REPEATS_ALLOWED = 3  # a line seen more often (numbers aside) is log output

# Each reason's rank: what is kept first when the text is over CONDENSED_CHARS.
RANKS = {"title": 0, "frame": 0, "error": 0, "code": 1, "path": 1, "prose": 2, "log": 3}

# A stack frame of any language query.py reads (Python, JS, Java/Kotlin, C#, Go, Rust, Ruby,
# PHP, a generic path:line): a cheap test, the extraction itself is query.py's.
_FRAME = re.compile(
    r'File "[^"]+", line \d+|\bat \S.*:\d+|\.(?:py|pyi|js|mjs|cjs|jsx|ts|tsx|java|kt|scala|go|'
    r'rs|rb|php|cs|c|h|cc|cpp|hpp)(?::|\(|:line )\d+')
# The line above a Go frame (`pkg.(*T).M(...)`) or a Rust one (`  3: crate::f`) names its
# function.
_FRAME_HEAD = re.compile(r"^\s*(?:[\w./*()-]+\(.*\)|\d+: [\w:<>]+)\s*$")
_ERROR = re.compile(
    r"(?:^|[\s(])(?:[\w$]+\.)*(?:[A-Z]\w*(?:Error|Exception|Warning|Exit|Fault|Failure)|[Ee]rror"
    r"|ERROR|[Pp]anic|[Ff]atal|FATAL)(?:\[[\w-]+\])?:\s")
_PATH = re.compile(r"[\w.-]+/[\w./-]*\w\.\w{1,5}\b|\b[\w-]+\.(?:py|pyi|js|ts|tsx|go|rs|java|c|"
                   r"h|cc|cpp|cs|rb|php|toml|yaml|yml|json|cfg|ini|sql|sh)\b")
# camelCase, snake_case, dotted.names, call(), `backticked`: what names code in a line.
_CODE_LIKE = re.compile(r"[A-Za-z_]\w*[._][A-Za-z_]\w*|[a-z][A-Z]\w*|\w\(|`[^`]+`|[{};=]")
# What changes from one log line to the next (numbers, hex ids, timestamps): a run from a
# digit that starts a word (`0x7f3a`, `12:00:01.5`, `3ms`, the 7 of `worker-7`), never the
# digits inside a name (`mod12.py`, `f2`).
_VARIABLE = re.compile(r"\b\d[\w.:-]*")
# A timestamp (and its log level) leading a log line: no code holds it.
_LOG_PREFIX = re.compile(
    r"^\s*\[?(?:\d{4}-\d\d-\d\d[T ])?\d\d:\d\d(?::\d\d)?(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?\]?"
    r"(?:\s+\[?(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING)\]?)?\s+")
# Progress output: percentages, bars, counters, rates, carriage returns.
_PROGRESS = re.compile(r"\r|\d{1,3}(?:\.\d+)?%|[█▉▊▋▌▍▎▏━─#=>·.]{8,}|\d+/\d+ \[|\bETA\b|\bit/s\b")
_DATA_TOKEN = re.compile(r"[\W\d_]*\d[\W\d_]*[a-zA-Z]{0,3}|(?:0x)?[0-9a-fA-F]{6,}|[\W_]+")
# Lines a reporter writes (outside code blocks), as opposed to what they paste.
_WRITTEN = frozenset({"title", "prose", "code", "path", "error"})


@dataclass(frozen=True, slots=True)
class Part:
    """One line kept: where it was (1-based) and why."""

    line: int
    reason: str  # a key of RANKS
    text: str


@dataclass(frozen=True, slots=True)
class Condensed:
    """What a long text is searched by: the kept lines in their order, what the dense
    retriever embeds, and what was left out and why (counts by reason)."""

    text: str
    head: str  # the title and the first prose, for the embedding
    parts: tuple[Part, ...]
    left_out: tuple[tuple[str, int], ...]  # (reason, lines), e.g. ("repeated", 4120)
    original_chars: int


def is_long(text: str) -> bool:
    return len(text) > LONG_TEXT_CHARS


def condense(text: str, budget: int = CONDENSED_CHARS) -> Condensed:
    """The lines of `text` that locate code, at most `budget` characters, in their order."""
    lines = [_cut(line) for line in text.splitlines()]
    keys = [_key(line) for line in lines]
    reasons, written, left_out = _classify(lines, keys, Counter(keys))
    # A kept log line's timestamp and level say nothing about the code.
    shown = {i: (line if reasons[i] == "title" else _LOG_PREFIX.sub("", line))
             for i, line in enumerate(lines) if reasons[i] in RANKS}
    kept = _fill(shown, reasons, budget)
    for i in shown.keys() - set(kept):
        left_out[f"over budget ({reasons[i]})"] += 1
    parts = tuple(Part(i + 1, reasons[i], shown[i]) for i in kept)
    prose = [shown[i] for i in kept if i in written]
    return Condensed(text="\n".join(p.text for p in parts), head=_head(prose, parts),
                     parts=parts, left_out=tuple(sorted(left_out.items())),
                     original_chars=len(text))


def _cut(line: str) -> str:
    line = line.rstrip()
    return line[:MAX_LINE_CHARS] if len(line) > MAX_LINE_CHARS else line


def _key(line: str) -> str:
    """The line with its changing values (numbers, ids, times) blanked: log lines that
    differ only there are one line repeated."""
    return " ".join(_VARIABLE.sub("0", line).split())


def _classify(lines: list[str], keys: list[str], counts: Counter
              ) -> tuple[list[str], set[int], Counter]:
    """A reason per line (a key of RANKS for a candidate, anything else for a line left
    out), the lines the reporter wrote (outside code blocks and logs), and the counts of
    lines left out by reason."""
    reasons: list[str] = []
    written: set[int] = set()
    left_out: Counter = Counter()
    seen: set[str] = set()
    in_fence = in_comment = False
    title_found = False
    for i, line in enumerate(lines):
        reason, in_fence, in_comment = _reason(line, keys[i], counts, seen, in_fence,
                                               in_comment, title_found)
        if reason == "title":
            title_found = True
        elif reason == "frame" and i and reasons[i - 1] in RANKS \
                and _FRAME_HEAD.match(lines[i - 1]):
            reasons[i - 1] = "frame"  # the Go / Rust function line above the frame
        if reason not in RANKS:
            left_out[reason] += 1
        elif reason in _WRITTEN and not in_fence and not line.startswith(("    ", "\t")):
            written.add(i)
        reasons.append(reason)
    return reasons, written, left_out


def _reason(line: str, key: str, counts: Counter, seen: set[str], in_fence: bool,
            in_comment: bool, title_found: bool) -> tuple[str, bool, bool]:
    """(why this line is kept or left out, in_fence after it, in_comment after it)."""
    if in_comment or line.lstrip().startswith("<!--"):
        # Issue templates' instructions: the reporter did not write them.
        return "template comment", in_fence, "-->" not in line
    if line.lstrip().startswith(("```", "~~~")):
        return "fence", not in_fence, False
    if not key:
        return "blank", in_fence, False
    if key in seen:
        return "repeated", in_fence, False
    seen.add(key)
    if not title_found:
        return "title", in_fence, False
    if _FRAME.search(line):
        return "frame", in_fence, False
    if _ERROR.search(line):
        return "error", in_fence, False
    if _PROGRESS.search(line):
        return "progress", in_fence, False
    if _is_data(line):
        return "output dump", in_fence, False
    if counts[key] > REPEATS_ALLOWED:
        return "log", in_fence, False
    if _PATH.search(line):
        return "path", in_fence, False
    if in_fence or line.startswith(("    ", "\t")) or _CODE_LIKE.search(line):
        return "code", in_fence, False
    return "prose", in_fence, False


def _is_data(line: str) -> bool:
    """Numbers, hex, timestamps and punctuation for at least half of the line's words."""
    words = _LOG_PREFIX.sub("", line).split()
    if len(words) < 3:
        return False
    data = sum(1 for w in words if _DATA_TOKEN.fullmatch(w))
    return 2 * data >= len(words)


def _fill(shown: dict[int, str], reasons: list[str], budget: int) -> list[int]:
    """Line indexes kept, in text order: rank by rank while the budget lasts; a rank that
    does not fit whole keeps its first and its last lines (a traceback's innermost frame
    and the final error come last, the report's opening first)."""
    kept: list[int] = []
    left = budget
    for rank in sorted(set(RANKS.values())):
        members = [i for i in shown if RANKS[reasons[i]] == rank]
        sizes = [len(shown[i]) + 1 for i in members]
        if sum(sizes) <= left:
            kept += members
            left -= sum(sizes)
            continue
        kept += _ends(members, sizes, left)
        break
    kept.sort()
    return kept


def _ends(members: list[int], sizes: list[int], budget: int) -> list[int]:
    """The first members filling half of `budget`, then the last ones filling the rest."""
    out, used, front = [], 0, 0
    while front < len(members) and used + sizes[front] <= budget // 2:
        used += sizes[front]
        out.append(members[front])
        front += 1
    back = len(members) - 1
    while back >= front and used + sizes[back] <= budget:
        used += sizes[back]
        out.append(members[back])
        back -= 1
    return out


def _head(prose: list[str], parts: tuple[Part, ...]) -> str:
    """The title and the prose that follows it, up to HEAD_CHARS; without prose, the
    start of the kept text."""
    source = prose if len(prose) > 1 else [p.text for p in parts]
    out, used = [], 0
    for line in source:
        if used + len(line) + 1 > HEAD_CHARS and out:
            break
        out.append(line[:HEAD_CHARS])
        used += len(line) + 1
    return "\n".join(out)
