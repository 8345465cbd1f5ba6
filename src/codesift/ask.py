"""Questions to grounded answers: gather (a recipe), pack, prompt, stream, then check.

Each answer records the index state it was computed against, refuses to guess when
nothing in the index supports it, and has its citations and code checked (verify.py).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import prompts, recipes
from .verify import AnswerCheck, CitedRange, check_answer

# Retrievers whose match rests on the question's own words or names. A question that only
# the dense retriever "matches" shares nothing with the code: an answer would be a guess.
_GROUNDING_SOURCES = frozenset({"lexical", "opening", "identifiers", "symbol", "frames"})
NOT_SUPPORTED = ("Nothing in the index supports an answer to this question: no code or text "
                 "shares its words or names (only loose semantic matches were found).")
NO_LLM_HINT = ("No LLM is configured, so this is the context an answer would be given. "
               "Set llm_base_url and llm_model (codesift.toml, or CODESIFT_LLM_BASE_URL and "
               "CODESIFT_LLM_MODEL) to get answers.")


@dataclass(frozen=True, slots=True)
class IndexState:
    """What an answer was computed against: the commit checked out (if git) and the index."""

    commit: str | None
    dirty: bool | None  # uncommitted changes to tracked files
    index: str  # the index's state key (uuid-generation): changes with every re-index
    at: float  # unix time of the answer

    def to_dict(self) -> dict:
        return {"commit": self.commit, "dirty": self.dirty, "index": self.index,
                "at": round(self.at, 3)}


@dataclass(frozen=True, slots=True)
class Prepared:
    """Everything before the LLM call: the packed context and the messages to send."""

    task: str
    subject: str
    context: object  # pack.Context
    messages: tuple[dict, ...]
    supported: bool
    note: str = ""


@dataclass(frozen=True, slots=True)
class Answer:
    """A task's answer (or the plain statement that nothing supports one), what it was
    computed against, the context it was given and what the checks found."""

    task: str
    subject: str
    text: str
    supported: bool
    state: IndexState
    context: object  # pack.Context
    check: AnswerCheck | None = None
    model: str | None = None
    endpoint: str | None = None
    cached: bool = False
    note: str = ""

    def to_dict(self, with_context: bool = False) -> dict:
        out = {"task": self.task, "subject": self.subject, "answer": self.text,
               "supported": self.supported, "model": self.model, "endpoint": self.endpoint,
               "cached": self.cached, "state": self.state.to_dict(), "note": self.note,
               "check": None if self.check is None else self.check.to_dict(),
               "citations_available": [_label(c) for c in _citations(self.context)]}
        if with_context:
            out["context"] = self.context.to_dict()
        return out


def prepare(index, task: str, subject: str, *, budget: int | None = None, k: int = 20,
            diff: str = "", test_path_hint: str = "") -> Prepared:
    """Gather and pack the context for a task; no LLM involved."""
    budget = index.settings.context_budget if budget is None else budget
    if task == "ask":
        context = index.context(subject, budget, k=k)
        hits = [item for item in context.items if item.why.role == "hit"]
        supported = any(_GROUNDING_SOURCES.intersection(i.why.sources) for i in hits)
        note = ""
    else:
        if task == "explain":
            gathered = recipes.explain(index, subject)
        elif task == "tests":
            gathered = recipes.tests(index, subject)
        elif task == "review":
            gathered = recipes.review(index, diff)
        else:
            raise ValueError(f"unknown task {task!r}")
        context = _pack(index, gathered.hits, budget)
        supported, note = bool(gathered.hits), gathered.note
    extra: dict[str, str] = {}
    if task == "review":
        from .ingest.secrets import redact
        # A diff is repository content like any other: a key it adds never reaches a prompt.
        extra["diff"], cut = _bounded(redact(diff, "change.diff").text, budget)
        note = "; ".join(filter(None, [note, cut]))
    if task == "tests":
        extra["test_path_hint"] = f" (for {test_path_hint})" if test_path_hint else ""
    asked, cut = _question_for_prompt(subject, budget)
    note = "; ".join(filter(None, [note, cut]))
    messages = prompts.messages(prompts.TASKS[task], asked, context.text, **extra)
    return Prepared(task, subject, context, tuple(messages), supported, note)


def _pack(index, hits, budget: int):
    from .errors import IndexError_
    from .pack import pack
    from .tokenizer import make_tokenizer
    try:
        graph = index.graph()
    except IndexError_:
        graph = None
    tokenizer = make_tokenizer(index.settings.tokenizer, index.settings.llm_model)
    return pack(list(hits), budget, store=index.store(), tokenizer=tokenizer, root=index.root,
                graph=graph)


def _question_for_prompt(question: str, budget: int) -> tuple[str, str]:
    """The question as the prompt carries it, and a note when it was condensed: a pasted
    issue longer than the context budget is sent as the lines its search read (title,
    frames, errors, code, prose; longtext.py), not with its whole log."""
    from .budget import count_tokens
    from .retrieve.longtext import condense, is_long
    if not is_long(question) or count_tokens(question) <= budget:
        return question, ""
    condensed = condense(question.strip())
    return condensed.text, (f"the question was condensed for the prompt: "
                            f"{len(condensed.text):,} of {len(question):,} characters kept "
                            "(repeated log lines, output dumps and progress left out)")


def _bounded(diff: str, budget: int) -> tuple[str, str]:
    """The diff cut to about the context budget (whole lines), and a note when it was cut."""
    from .budget import count_tokens
    kept, used = [], 0
    lines = diff.splitlines()
    for line in lines:
        used += count_tokens(line) + 1
        if used > budget:
            return "\n".join(kept), f"the diff was cut to its first {len(kept)} of {len(lines)} lines"
        kept.append(line)
    return diff, ""


def answer(index, prepared: Prepared, client, on_delta: Callable[[str], None] | None = None
           ) -> Answer:
    """Ask the LLM (streaming into `on_delta`), then check the answer against the context."""
    state = index_state(index)
    if not prepared.supported:
        return Answer(prepared.task, prepared.subject, NOT_SUPPORTED, False, state,
                      prepared.context, note=prepared.note)
    stream = client.stream(list(prepared.messages))
    parts: list[str] = []
    for delta in _deltas(stream):
        parts.append(delta)
        if on_delta is not None:
            on_delta(delta)
    text = "".join(parts)
    completion = stream.completion
    check = check_answer(text, packed_ranges(prepared.context), prepared.context.text,
                         lambda name: is_defined(index, name))
    return Answer(prepared.task, prepared.subject, text, True, state, prepared.context, check,
                  model=getattr(completion, "model", None),
                  endpoint=getattr(completion, "endpoint", None),
                  cached=bool(getattr(completion, "cached", False)), note=prepared.note)


def is_defined(index, name: str) -> bool:
    """A definition of this name exists: qualified, a dotted suffix, or bare."""
    from .store.sqlite_graph import SymbolLookup
    lookup = SymbolLookup(index.store().db)
    bare = name.rsplit(".", 1)[-1]
    return bool(lookup.by_qualname(name) or ("." in name and lookup.by_suffix(name, bare))
                or ("." not in name and lookup.by_name(name)))


def index_state(index) -> IndexState:
    commit, dirty = _git_state(index.root)
    return IndexState(commit, dirty, index.store().state_key(), time.time())


def _git_state(root: Path) -> tuple[str | None, bool | None]:
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=5)
        if head.returncode != 0:
            return None, None
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                 "--untracked-files=no"], capture_output=True, text=True, timeout=5)
        return head.stdout.strip(), bool(status.stdout.strip()) if status.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None, None


def _deltas(stream) -> Iterator[str]:
    try:
        yield from stream
    finally:
        stream.close()


def packed_ranges(context) -> list[CitedRange]:
    """The line ranges the context really shows (elided lines are not citable)."""
    return [CitedRange(item.path, start, end) for item in context.items
            for start, end in item.why.kept]


def _citations(context) -> list[CitedRange]:
    return [CitedRange(c.path, c.start_line, c.end_line) for c in context.citations]


def _label(c) -> str:
    return f"{c.path}:{c.start_line}-{c.end_line}"
