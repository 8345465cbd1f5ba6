"""Query analysis: what kind of question this is and which code-like parts it holds.

A bare identifier, a pasted traceback, or a long bug report that mentions identifiers
and file names each need the right signals pulled out before retrieval.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import BadQueryError
from ..ingest import kinds as K
from ..tokens import STOPWORDS, index_text, query_terms, split_identifier, symbol_keys

MAX_LEXICAL_TERMS = 48


@dataclass(frozen=True, slots=True)
class Frame:
    """One stack frame pulled out of a pasted traceback."""

    path: str  # as printed (absolute or relative); matched by suffix
    line: int
    function: str = ""


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    terms: tuple[str, ...]  # lexical terms, stopwords dropped, capped
    identifiers: tuple[str, ...]  # code-like names as written: `HttpClient.send`, `parse_header`
    identifier_terms: tuple[str, ...]  # the lexical tokens of those identifiers
    symbol_keys: tuple[str, ...]  # normalised keys for the exact-symbol lookup
    frames: tuple[Frame, ...]
    paths: tuple[str, ...]  # file paths or names mentioned
    messages: tuple[str, ...]  # error-message phrases, as index tokens ("cannot call write")
    is_identifier: bool  # the whole query is one identifier
    # The kinds of file the question asks for (ingest/kinds.py: "test", "docs", "example",
    # "changelog", "locale", "config", "generated", "vendored"): those are not ranked down.
    kinds: frozenset[str] = frozenset()

    @property
    def about_tests(self) -> bool:
        return K.TEST in self.kinds

    @property
    def about_docs(self) -> bool:
        return K.DOCS in self.kinds

    @property
    def about_config(self) -> bool:
        return K.CONFIG in self.kinds


# Qualified identifiers: a.b.c, A::b, (*T).M, Mod#meth, with an optional call suffix.
_QUALIFIED = re.compile(
    r"(?:\(\*?[A-Za-z_]\w*\)\.)?[A-Za-z_$][\w$]*(?:(?:\.|::|#)[A-Za-z_$][\w$]*)*(?:\(\))?")
_BACKTICKED = re.compile(r"`([^`\n]{1,200})`")
_FILE_NAME = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w-]+\.(?:py|pyi|js|mjs|cjs|jsx|ts|tsx|go|rs|"
                        r"java|c|h|cc|cpp|hpp|cs|rb|php|md|rst|toml|yaml|yml|json|sql|sh|po|pot))\b")
_PY_FRAME = re.compile(r'File "([^"]+)", line (\d+)(?:, in ([\w<>.]+))?')
_JS_FRAME = re.compile(r"\bat (?:(?:async )?([\w$.<>\[\] ]+?) \()?((?:[A-Za-z]:)?[^\s():]+):(\d+):\d+\)?")
_JAVA_FRAME = re.compile(r"\bat ([\w$.]+)\((\w+\.(?:java|kt|scala|cs)):(\d+)\)")
_CS_FRAME = re.compile(r"\bat ([\w.`<>\[\]]+)\(.*?\) in (.+?\.cs):line (\d+)")
_RUBY_FRAME = re.compile(r"([^\s:'\"`]+\.rb):(\d+):in [`']([^'`]+)'")
# PHP's "#0 file(line): callee()" names the function called from that line, not the one
# the line is in: only the place is taken.
_PHP_FRAME = re.compile(r"^#\d+ ([^\s(]+\.php)\((\d+)\)", re.MULTILINE)
_PHP_THROWN = re.compile(r"\bin ([^\s(]+\.php)(?::| on line )(\d+)")
# Go prints the function on the line above its file:line; Rust's backtrace likewise.
_GO_FRAME = re.compile(r"^(?:([\w./*()-]+)\(.*\)\n)?\s*([^\s:]+\.go):(\d+)", re.MULTILINE)
_RUST_FRAME = re.compile(r"^\s*\d+: ([\w:<>]+?)(?:::h[0-9a-f]{16})?\n\s+at ([^\s:]+\.rs):(\d+)",
                         re.MULTILINE)
_GENERIC_FRAME = re.compile(r"((?:[\w.-]+/)+[\w.-]+\.\w+):(\d+)")
# "ValueError: msg", "error: msg", "panic: msg", "Uncaught Exception: msg": the message
# text a program printed, which its source usually holds verbatim.
_ERROR_LINE = re.compile(
    r"(?:^|[\s(])(?:[\w$]+\.)*(?:[A-Z]\w*(?:Error|Exception|Warning|Exit|Fault|Failure)|[Ee]rror"
    r"|ERROR|[Pp]anic|[Ff]atal|FATAL)(?:\[[\w-]+\])?:[ \t]+([^\n]+)", re.MULTILINE)
# Double-quoted text, paired left to right (single quotes are apostrophes in prose).
_QUOTED_TEXT = re.compile(r"[\"\u201c]([^\"\u201c\u201d\n]*)[\"\u201d]")
# Messages break into phrases at punctuation and quotes (where formatted values go); an
# apostrophe inside a word ("can't") does not break one.
_PHRASE_BREAK = re.compile(r"(?:[^\w\s']|(?<!\w)'|'(?!\w))+")
MIN_PHRASE_TOKENS = 2  # two-token phrases must also be rare in the index (MessageRetriever)
MAX_PHRASE_TOKENS = 24  # a longer run is cut: the more tokens, the likelier one was printed
MAX_PHRASES = 6
# Words by which a question asks for a kind of file. Asking wrongly only gives up a
# ranking preference; the words are the kinds' own names and their usual synonyms.
_KIND_WORDS: dict[str, frozenset[str]] = {
    K.TEST: frozenset({"test", "tests", "testing", "unittest", "pytest", "spec", "fixture",
                       "fixtures", "mock", "conftest"}),
    K.DOCS: frozenset({"doc", "docs", "documentation", "documented", "readme", "guide",
                       "tutorial", "manual"}),
    K.CHANGELOG: frozenset({"changelog", "changelogs", "newsfragment", "newsfragments",
                            "towncrier"}),
    K.EXAMPLE: frozenset({"example", "examples", "sample", "samples", "demo", "demos"}),
    K.LOCALE: frozenset({"translation", "translations", "translate", "translated", "translator",
                         "translators", "locale", "locales", "i18n", "l10n", "localization",
                         "localisation", "localize", "localise", "localized", "localised",
                         "gettext", "msgid", "msgstr", "po", "pot"}),
    K.CONFIG: frozenset({"config", "configuration", "yaml", "yml", "toml", "json", "ini",
                         "dependency", "dependencies", "ci", "workflow", "pyproject",
                         "manifest", "docker", "dockerfile"}),
    K.GENERATED: frozenset({"generated", "autogenerated", "codegen"}),
    K.VENDORED: frozenset({"vendor", "vendored", "vendoring", "bundled"}),
}
_KIND_PHRASES = ((re.compile(r"\brelease[ -]notes?\b|\bwhat'?s new\b", re.I), K.CHANGELOG),
                 (re.compile(r"\bthird[ -_]?party\b|\b3rd[ -_]?party\b", re.I), K.VENDORED))
# "for example" introduces a case; it does not ask for the examples directory.
_NOT_ASKING = re.compile(r"\bfor (?:example|instance)\b", re.I)


def _is_code_like(name: str) -> bool:
    """camelCase, snake_case, dotted or called: English words stay out."""
    core = name.removesuffix("()")
    if any(sep in core for sep in (".", "::", "#", "_", "(")):
        return not re.fullmatch(r"[\d.]+", core) and not _looks_like_prose_dots(core)
    return bool(re.search(r"[a-z][A-Z]|[A-Z][a-z]+[A-Z]", core)) or name.endswith("()")


def _looks_like_prose_dots(text: str) -> bool:
    # "e.g", "i.e", version numbers, sentences without spaces after the period
    parts = text.split(".")
    return len(parts) > 1 and all(len(p) <= 1 for p in parts)


def extract_identifiers(text: str) -> list[str]:
    found: dict[str, None] = {}
    for inner in _BACKTICKED.findall(text):
        if inner[:1] in "'\"":
            continue  # `'message'` quotes a string literal, not a name
        for m in _QUALIFIED.finditer(inner):
            found.setdefault(m.group(0).removesuffix("()"), None)
    for m in _QUALIFIED.finditer(text):
        name = m.group(0)
        if _is_code_like(name):
            found.setdefault(name.removesuffix("()").strip("."), None)
    return [n for n in found if n and n.lower() not in STOPWORDS]


def extract_frames(text: str) -> list[Frame]:
    """Frames ordered nearest-to-the-error first."""
    py = [Frame(p, int(n), f or "") for p, n, f in _PY_FRAME.findall(text)]
    if py:
        return py[::-1]  # Python prints the innermost frame last
    rust = [Frame(p, int(n), f) for f, p, n in _RUST_FRAME.findall(text)]
    if rust:
        return rust  # innermost first; its "at path:line:col" lines would also read as JS
    frames = [Frame(p, int(n), f.split(".")[-1]) for f, p, n in _JAVA_FRAME.findall(text)]
    frames += [Frame(p, int(n), (f or "").strip()) for f, p, n in _JS_FRAME.findall(text)
               if not p.startswith(("node:", "internal/"))]
    frames += [Frame(p, int(n), f.rsplit("/", 1)[-1]) for f, p, n in _GO_FRAME.findall(text)]
    frames += [Frame(p, int(n), f) for f, p, n in _CS_FRAME.findall(text)]
    frames += [Frame(p, int(n), f) for p, n, f in _RUBY_FRAME.findall(text)]
    php = [Frame(p, int(n)) for p, n in [*_PHP_THROWN.findall(text), *_PHP_FRAME.findall(text)]]
    frames += list(dict.fromkeys(php))  # where it was thrown first; said twice, kept once
    if not frames:
        frames = [Frame(p, int(n)) for p, n in _GENERIC_FRAME.findall(text)]
    return frames


def extract_messages(text: str) -> list[str]:
    """Phrases of the error messages a query quotes, each as the index's token sequence
    (an FTS5 phrase): at least MIN_PHRASE_TOKENS tokens, the longest first."""
    found = [m.group(1) for m in _ERROR_LINE.finditer(text)]
    found += [q for q in _QUOTED_TEXT.findall(text) if " " in q.strip()]
    phrases: dict[str, None] = {}
    for message in found:
        for piece in _PHRASE_BREAK.split(message):
            tokens = index_text(piece).split()[:MAX_PHRASE_TOKENS]
            if len(tokens) >= MIN_PHRASE_TOKENS:
                phrases.setdefault(" ".join(tokens), None)
    return sorted(phrases, key=lambda p: -p.count(" "))[:MAX_PHRASES]


def analyse(text: str, *, max_chars: int = 20_000) -> Query:
    if text is None or not text.strip():
        raise BadQueryError("empty query", hint='ask something, e.g. codesift search "parse headers"')
    if len(text) > max_chars:
        raise BadQueryError(f"query is {len(text):,} characters, more than the {max_chars:,} allowed",
                            hint="paste the relevant part (the error and its stack trace)")
    stripped = text.strip()
    frames = extract_frames(stripped)
    identifiers = extract_identifiers(stripped)
    for frame in frames:
        if frame.function and not frame.function.startswith("<"):
            identifiers.append(frame.function)
    identifiers = list(dict.fromkeys(identifiers))
    is_identifier = bool(re.fullmatch(r"\S+", stripped)) and bool(_QUALIFIED.fullmatch(stripped))
    if is_identifier and stripped not in identifiers:
        identifiers.insert(0, stripped.removesuffix("()"))
    id_terms = query_terms(" ".join(identifiers), drop_stopwords=False)
    terms = _cap_terms(query_terms(stripped), set(id_terms))
    keys = [k for ident in identifiers for k in symbol_keys(ident)]
    paths = tuple(dict.fromkeys(_FILE_NAME.findall(stripped)))
    return Query(
        text=stripped, terms=tuple(terms), identifiers=tuple(identifiers),
        identifier_terms=tuple(id_terms), symbol_keys=tuple(dict.fromkeys(keys)),
        frames=tuple(frames), paths=paths, messages=tuple(extract_messages(stripped)),
        is_identifier=is_identifier, kinds=asked_kinds(stripped, paths))


def asked_kinds(text: str, paths: tuple[str, ...] = ()) -> frozenset[str]:
    """The kinds of file a question asks for: by their words ("docs", "translation",
    "example", ...), by a phrase ("release notes", "third-party"), or by naming a file of
    that kind (`CHANGES.rst`, `locale/de/LC_MESSAGES/messages.po`, `tests/test_api.py`)."""
    plain = _NOT_ASKING.sub(" ", text)
    # Letters alone ("tests" in "tests2"), and with digits ("i18n", "l10n").
    words = {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z0-9]*", plain)}
    words |= {w.lower() for w in re.findall(r"[A-Za-z]+", plain)}
    asked = {kind for kind, names in _KIND_WORDS.items() if words & names}
    asked.update(kind for pattern, kind in _KIND_PHRASES if pattern.search(text))
    asked.update(K.path_kind(path) for path in paths)
    asked.discard(K.SOURCE)
    return frozenset(asked)


def _cap_terms(terms: list[str], priority: set[str]) -> list[str]:
    """Long bug reports: keep code tokens first, then the rest in order of appearance."""
    if len(terms) <= MAX_LEXICAL_TERMS:
        return terms
    first = [t for t in terms if t in priority]
    rest = [t for t in terms if t not in priority and len(split_identifier(t)) <= 1]
    return (first + rest)[:MAX_LEXICAL_TERMS]
