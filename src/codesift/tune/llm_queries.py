"""LLM-synthesised queries: for definitions without docs, the questions a developer would ask
that the code answers (the recipe's own approach; optional, off without an endpoint).

    client = client_for_tuning(settings)          # None: no LLM configured, skip this kind
    pairs = llm_pairs(defs, client, max_definitions=500, cache_path=out / "llm_questions.db")

Each answer is kept in a SQLite file keyed by the endpoint's model and the sha256 of the
code (and the prompt's version), as soon as it arrives: a rerun, or a run after an
interruption, asks only about what it has not seen. The raw answer is kept, not the parsed
questions, so a better parser never needs the questions asked again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from codesift.errors import LLMError, LLMNotConfiguredError, UsageError
from codesift.tokens import query_terms
from codesift.tune.records import Definition, Pair, Provenance

if TYPE_CHECKING:
    from codesift.config import Settings
    from codesift.llm import LLMClient

Progress = Callable[[int, int], None]  # (definitions done, definitions to do)

PROMPT_VERSION = "questions-v1"  # part of the cache key: a changed prompt asks again
MAX_CODE_CHARS = 4000  # about 1,000 tokens: enough for the body of most functions
MIN_CODE_CHARS = 40  # a one-line stub answers no question worth training on
MAX_QUESTIONS = 3
MIN_WORDS, MAX_WORDS = 3, 30
MIN_CHARS, MAX_CHARS = 12, 200
ANSWER_TOKENS = 256  # three short questions fit with room to spare

SYSTEM = (
    "You write search queries for a code search engine. You are shown one definition "
    "from a software repository. Write one to three questions that a developer working "
    "on this repository would ask and that this code answers: about what it does, when "
    "to use it, or a problem it solves, in plain English, the way they would type them "
    "into a search box. Do not just name the definition; do not quote its identifiers "
    "more than you must. Answer with a JSON list of strings and nothing else, e.g. "
    '["How are failed uploads retried?", "Where is the retry delay computed?"]'
)


# -- the client ------------------------------------------------------------------------------


def client_for_tuning(settings: Settings, env: Mapping[str, str] | None = None) -> LLMClient | None:
    """The client for question synthesis, or None when no endpoint is configured at all
    (LLM pairs are optional). Temperature 0 whatever the settings say: sampled questions
    would differ run to run and the cache would freeze one draw. A half-configured
    endpoint (a base URL but no model) is an error the user should see, not a silent skip."""
    from codesift.llm import LLMClient, endpoints_from_settings

    env = os.environ if env is None else env
    try:
        endpoints = endpoints_from_settings(settings, env)
    except LLMNotConfiguredError:
        if settings.llm_base_url or env.get("OPENAI_BASE_URL") or \
                any(entry.strip() for entry in settings.llm_fallbacks):
            raise
        return None
    return LLMClient(endpoints, temperature=0.0, max_tokens=ANSWER_TOKENS,
                     timeout=settings.llm_timeout)


# -- the pairs -----------------------------------------------------------------------------------


def llm_pairs(definitions: Iterable[Definition], client: LLMClient, *, max_definitions: int,
              cache_path: Path | None, progress: Progress | None = None) -> list[Pair]:
    """Pairs (question -> definition code) for at most `max_definitions` undocumented,
    non-test definitions, in the order given; a definition whose code was already asked
    about (the same body in two files) is asked once and paired once.

    An endpoint that fails stops the run with its LLMError (answers so far stay cached);
    an answer with no usable question gives no pair."""
    chosen = _candidates(definitions, max_definitions)
    pairs: list[Pair] = []
    with QuestionCache(cache_path) as cache:
        for done, (definition, digest) in enumerate(chosen, 1):
            answer = _answer(client, cache, definition, digest)
            for question in parse_questions(answer, definition):
                pairs.append(Pair("llm", question, definition.code,
                                  Provenance(definition.path, definition.qualname)))
            if progress is not None:
                progress(done, len(chosen))
    return pairs


def _candidates(definitions: Iterable[Definition], limit: int) -> list[tuple[Definition, str]]:
    chosen: list[tuple[Definition, str]] = []
    seen: set[str] = set()
    for definition in definitions:
        if len(chosen) >= limit:
            break
        if definition.is_test or definition.doc.strip() or \
                len(definition.code.strip()) < MIN_CODE_CHARS:
            continue
        digest = hashlib.sha256(definition.code.encode("utf-8")).hexdigest()
        if digest not in seen:
            seen.add(digest)
            chosen.append((definition, digest))
    return chosen


def _answer(client: LLMClient, cache: QuestionCache, definition: Definition, digest: str) -> str:
    """The model's answer for this code: from the cache under any endpoint's model (as the
    client's own cache does), else asked and stored under the model that answered."""
    for endpoint in client.endpoints:
        if (hit := cache.get(endpoint.model, digest)) is not None:
            return hit
    try:
        done = client.complete(prompt_messages(definition))
    except LLMError as exc:
        raise _with_context(exc, definition) from exc
    model = next((e.model for e in client.endpoints if e.name == done.endpoint), done.model)
    cache.put(model, digest, done.text)
    return done.text


def _with_context(exc: LLMError, definition: Definition) -> LLMError:
    """The same error class (exit codes follow it), saying what was being asked."""
    message = f"asking the LLM for questions about {definition.path}:{definition.qualname}: {exc}"
    hint = exc.hint or "LLM questions are optional: run without an LLM endpoint to skip them"
    try:
        return type(exc)(message, hint=hint)
    except TypeError:  # a subclass with another signature
        return LLMError(message, hint=hint)


def prompt_messages(definition: Definition) -> list[dict[str, str]]:
    code = cut_code(definition.code)
    user = (f"Language: {definition.language}\nFile: {definition.path}\n"
            f"Kind: {definition.kind}\n\n```{definition.language}\n{code}\n```")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def cut_code(code: str, limit: int = MAX_CODE_CHARS) -> str:
    """At most `limit` characters, cut at a line end where one is near: the head of a long
    definition (signature, first statements) says most of what it is for."""
    code = code.strip("\n")
    if len(code) <= limit:
        return code
    head = code[:limit]
    cut = head.rfind("\n")
    if cut > limit // 2:
        head = head[:cut]
    return head + "\n... (cut)"


# -- reading the answer ------------------------------------------------------------------------

_FENCE = re.compile(r"```[\w+-]*\n?(.*?)```", re.S)
_MARKER = re.compile(r"^\s*(?:[-*\u2022]|\d{1,2}[.):]|\(\d{1,2}\)|Q\d{0,2}[.:)])\s+")
_STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
_QUOTES = "\"'`\u201c\u201d\u2018\u2019"
# Words that say nothing about what the code does: "What does parse_header do?" names the
# identifier only.
_GENERIC = frozenset("""function method class code do work works used use usage purpose
    happen happens call called calls return returns implement implemented implementation
    definition explain mean means role""".split())


def parse_questions(answer: str, definition: Definition) -> list[str]:
    """Up to three usable questions from an answer: a JSON list (bare, in a code fence, or
    {"questions": [...]}), else numbered or bulleted lines, else lines ending in '?'.
    Questions too short, too long, or that only repeat the identifier are dropped."""
    candidates = _json_list(answer)
    if candidates is None:
        candidates = _listed_lines(answer)
    out: list[str] = []
    seen: set[str] = set()
    for text in candidates:
        question = " ".join(text.split()).strip(_QUOTES).strip()
        key = question.casefold()
        if key in seen or not _usable(question, definition):
            continue
        seen.add(key)
        out.append(question)
        if len(out) == MAX_QUESTIONS:
            break
    return out


def _json_list(answer: str) -> list[str] | None:
    for text in [m.group(1) for m in _FENCE.finditer(answer)] + [answer]:
        start, end = text.find("["), text.rfind("]")
        starts = [i for i in (start, text.find("{")) if i >= 0]
        if not starts:
            continue
        first = min(starts)
        last = end if first == start else text.rfind("}")
        try:
            value = json.loads(text[first:last + 1])
        except ValueError:
            continue
        if isinstance(value, dict):
            value = next((v for v in value.values() if isinstance(v, list)), None)
        if isinstance(value, list):
            return [_text_of(v) for v in value if _text_of(v)]
    # A list cut short (max_tokens reached): its complete strings are still good.
    if answer.lstrip().startswith("["):
        return [text for m in _STRING.findall(answer) if (text := _unquote(m))]
    return None


def _unquote(body: str) -> str:
    try:
        return json.loads(f'"{body}"')
    except ValueError:
        return ""


def _text_of(item: object) -> str:
    """A list item: a string, or the first string of an object ({"question": ...})."""
    if isinstance(item, dict):
        item = next((v for v in item.values() if isinstance(v, str)), "")
    return item if isinstance(item, str) else ""


def _listed_lines(answer: str) -> list[str]:
    """Lines with a list marker, or ending in '?': prose around them ("Here are three
    questions:", "Sure!", a refusal) is neither."""
    out = []
    for line in answer.splitlines():
        stripped = line.strip()
        marked = _MARKER.match(stripped)
        text = stripped[marked.end():] if marked else stripped
        text = text.strip("*_ ")  # **bold** questions
        if text and not text.endswith(":") and (marked or text.endswith("?")):
            out.append(text)
    return out


def _usable(question: str, definition: Definition) -> bool:
    words = question.split()
    if not (MIN_WORDS <= len(words) <= MAX_WORDS and MIN_CHARS <= len(question) <= MAX_CHARS):
        return False
    said = set(query_terms(question)) - _GENERIC
    named = set(query_terms(f"{definition.qualname} {definition.name} {definition.kind}"))
    return bool(said - named)  # something beyond the identifier's own words


# -- the cache --------------------------------------------------------------------------------


class QuestionCache:
    """Raw answers by (model, sha256 of the code, prompt version), in one SQLite file; with
    no path, nothing is kept. Each answer is committed as it arrives."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.db: sqlite3.Connection | None = None
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path)
            self.db.execute("CREATE TABLE IF NOT EXISTS llm_questions (model TEXT NOT NULL, "
                            "code_sha256 TEXT NOT NULL, prompt TEXT NOT NULL, response TEXT "
                            "NOT NULL, created_at REAL NOT NULL, "
                            "PRIMARY KEY (model, code_sha256, prompt))")
        except (sqlite3.DatabaseError, OSError) as exc:
            self.close()
            raise UsageError(f"cannot use {path} as the LLM question cache: {exc}",
                             hint="delete the file (its questions will be asked again) "
                                  "or give another path") from exc

    def get(self, model: str, code_sha256: str) -> str | None:
        if self.db is None:
            return None
        row = self.db.execute("SELECT response FROM llm_questions WHERE model = ? AND "
                              "code_sha256 = ? AND prompt = ?",
                              (model, code_sha256, PROMPT_VERSION)).fetchone()
        return None if row is None else row[0]

    def put(self, model: str, code_sha256: str, response: str) -> None:
        if self.db is None:
            return
        with self.db:  # committed now: an interrupted run keeps what it paid for
            self.db.execute("INSERT OR REPLACE INTO llm_questions VALUES (?, ?, ?, ?, ?)",
                            (model, code_sha256, PROMPT_VERSION, response, time.time()))

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None

    def __enter__(self) -> QuestionCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
