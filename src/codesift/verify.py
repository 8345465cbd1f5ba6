"""Checks on an LLM's answer against the context it was given and the index it came from.

Every `[path:lines]` citation must fall inside the packed context, identifiers the answer
presents as the repository's code must be defined there, and code blocks must parse.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

# [src/app.py:10-20], [app.py:7], several in one bracket: [a.py:1-3, b.py:9]
_BRACKET = re.compile(r"\[([^\[\]\n]{3,400})\]")
# A path has a dot or a slash in it: "[note:1]" is not a citation.
_ONE_CITATION = re.compile(r"^\s*`?([^\s:`\[\]]*[./][^\s:`\[\]]*):(\d+)(?:\s*[-–]\s*(\d+))?`?\s*$")
_FENCE = re.compile(r"^([ \t]*)(```+|~~~+)[ \t]*([\w+#.-]*)[^\n]*\n(.*?)^\1\2[ \t]*$",
                    re.MULTILINE | re.DOTALL)
# `name`, `Class.method`, `func()`, `obj.attr(...)`: what an answer presents as code names.
_CODE_SPAN = re.compile(r"(?<!`)`([A-Za-z_][\w]*(?:(?:\.|::|->)[A-Za-z_]\w*)*)(?:\([^`]*\))?`(?!`)")
_FENCE_LANGUAGES = {
    "python": "python", "py": "python", "python3": "python",
    "javascript": "javascript", "js": "javascript", "jsx": "javascript", "mjs": "javascript",
    "typescript": "typescript", "ts": "typescript", "tsx": "tsx",
    "go": "go", "golang": "go", "rust": "rust", "rs": "rust", "java": "java",
    "c": "c", "h": "c", "cpp": "cpp", "c++": "cpp", "cc": "cpp", "hpp": "cpp", "cxx": "cpp",
    "csharp": "csharp", "cs": "csharp", "c#": "csharp", "ruby": "ruby", "rb": "ruby",
    "php": "php",
}


@dataclass(frozen=True, slots=True)
class CitedRange:
    """A `[path:start-end]` citation as written in an answer (lines 1-based, inclusive)."""

    path: str
    start_line: int
    end_line: int

    def label(self) -> str:
        if self.start_line == self.end_line:
            return f"{self.path}:{self.start_line}"
        return f"{self.path}:{self.start_line}-{self.end_line}"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an answer, shown to the user rather than silently dropped."""

    kind: str  # citation_outside_context | unknown_identifier | invalid_code
    subject: str  # the citation, identifier or code block language
    detail: str

    def to_dict(self) -> dict:
        return {"kind": self.kind, "subject": self.subject, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class AnswerCheck:
    citations: tuple[CitedRange, ...]
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {"ok": self.ok, "citations": [c.label() for c in self.citations],
                "problems": [p.to_dict() for p in self.problems]}


def check_answer(answer: str, packed: Sequence[CitedRange], context_text: str,
                 is_defined: Callable[[str], bool]) -> AnswerCheck:
    """All checks at once. `packed` are the ranges the context holds; `is_defined` says
    whether a name is a definition in the index (bare, qualified or a dotted suffix)."""
    prose = strip_code_blocks(answer)
    cited = parse_citations(prose)
    problems = [*check_citations(cited, packed),
                *check_identifiers(prose, context_text, is_defined),
                *check_code_blocks(answer)]
    return AnswerCheck(tuple(cited), tuple(problems))


def parse_citations(text: str) -> list[CitedRange]:
    """Every `[path:line]` / `[path:start-end]` in order, each once."""
    out: list[CitedRange] = []
    for bracket in _BRACKET.finditer(text):
        for part in re.split(r"[,;]\s*", bracket.group(1)):
            match = _ONE_CITATION.match(part)
            if match is None:
                continue
            start = int(match.group(2))
            end = int(match.group(3) or start)
            cited = CitedRange(match.group(1).removeprefix("./"), min(start, end), max(start, end))
            if cited not in out:
                out.append(cited)
    return out


def check_citations(cited: Iterable[CitedRange], packed: Sequence[CitedRange]) -> list[Problem]:
    """A citation must lie inside what the context showed: same file, lines covered."""
    problems = []
    for c in cited:
        blocks = [p for p in packed if _same_path(p.path, c.path)]
        if not blocks:
            problems.append(Problem("citation_outside_context", c.label(),
                                    "this file is not in the context the answer was given"))
        elif not _covered(c, blocks):
            shown = ", ".join(b.label() for b in blocks)
            problems.append(Problem("citation_outside_context", c.label(),
                                    f"these lines were not in the context (it showed {shown})"))
    return problems


def check_identifiers(prose: str, context_text: str,
                      is_defined: Callable[[str], bool]) -> list[Problem]:
    """Names in `code spans` must be defined in the index or appear in the context: an
    answer that invents `retry_with_backoff()` for a repository that has none is flagged."""
    problems = []
    seen: set[str] = set()
    for match in _CODE_SPAN.finditer(prose):
        name = re.sub(r"::|->", ".", match.group(1))
        if name in seen or len(name) < 3:
            continue
        seen.add(name)
        last = name.rsplit(".", 1)[-1]
        if is_defined(name) or re.search(rf"(?<![\w]){re.escape(last)}(?![\w])", context_text):
            continue
        problems.append(Problem("unknown_identifier", name,
                                "not defined in this repository's index nor shown in the context"))
    return problems


def check_code_blocks(answer: str) -> list[Problem]:
    """Fenced code in a known language must parse with tree-sitter (flagged, not fixed)."""
    from .ingest.languages import load_grammar
    problems = []
    for match in _FENCE.finditer(answer):
        language = _FENCE_LANGUAGES.get(match.group(3).lower())
        if language is None:
            continue
        code = match.group(4)
        tree = load_grammar(language).parser().parse(code.encode("utf-8"))
        if tree.root_node.has_error:
            line = _first_error_line(tree.root_node)
            problems.append(Problem("invalid_code", language,
                                    f"the {language} code block does not parse (line {line} of the block)"))
    return problems


def strip_code_blocks(text: str) -> str:
    """The answer without its fenced blocks: citations and names inside code are code."""
    return _FENCE.sub("", text)


def _first_error_line(node) -> int:
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "ERROR" or current.is_missing:
            return current.start_point[0] + 1
        stack.extend(reversed([c for c in current.children if c.has_error or c.is_missing]))
    return node.start_point[0] + 1


def _same_path(packed: str, cited: str) -> bool:
    # Models often drop a leading folder or add "./": a unique suffix match is the same file.
    packed, cited = packed.removeprefix("./"), cited.removeprefix("./")
    return packed == cited or packed.endswith("/" + cited)


def _covered(cited: CitedRange, blocks: Sequence[CitedRange]) -> bool:
    needed = set(range(cited.start_line, cited.end_line + 1))
    for block in blocks:
        needed -= set(range(block.start_line, block.end_line + 1))
        if not needed:
            return True
    return False
