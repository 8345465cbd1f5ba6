"""Query analysis: what kind of question this is and which code-like parts it holds.

A bare identifier, a pasted traceback, or a long bug report that mentions identifiers
and file names each need the right signals pulled out before retrieval; a text longer
than LONG_TEXT_CHARS is read through its condensed lines (longtext.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import BadQueryError
from ..ingest import kinds as K
from ..tokens import STOPWORDS, index_text, query_terms, split_identifier, symbol_keys
from .longtext import LONG_TEXT_CHARS, Condensed, condense, is_long

MAX_LEXICAL_TERMS = 48
# The library's cap: fifty times the longest of 140 real issues with their logs pasted
# (24,770 characters), so whatever a person or an agent pastes is answered, while a whole
# log file or a binary piped in by mistake gets a clear error. Condensing is linear, so
# this bounds memory, not time spent per character. Settings.max_query_chars is the same.
MAX_QUERY_CHARS = 1_000_000


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
    opening_terms: tuple[str, ...]  # the opening paragraph's, when more paragraphs follow
    identifiers: tuple[str, ...]  # code-like names as written: `HttpClient.send`, `parse_header`
    identifier_terms: tuple[str, ...]  # the lexical tokens of those identifiers
    symbol_keys: tuple[str, ...]  # normalised keys for the exact-symbol lookup
    frames: tuple[Frame, ...]
    paths: tuple[str, ...]  # file paths or names mentioned
    messages: tuple[str, ...]  # error-message phrases, as index tokens ("cannot call write")
    is_identifier: bool  # the whole query is one identifier
    embed_text: str  # what the dense retriever embeds: the text, or a long one's head
    condensed: Condensed | None = None  # a long text's kept lines and why (longtext.py)
    # The kinds of file the question asks for (ingest/kinds.py: "test", "docs", "example",
    # "changelog", "locale", "config", "generated", "vendored"): those are not ranked down.
    kinds: frozenset[str] = frozenset()
    scopes: tuple[str, ...] = ()  # places a `net/http: ...` / `fix(core): ...` prefix names

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
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
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
# "Where is the orders table written?": code writes a table with INSERT, UPDATE and
# DELETE, and never says "write". Asked of a table, those words are added to the
# question's own, which stay: a lookup table written to a file holds no SQL.
_TABLE_WORDS = frozenset({"table", "tables"})
_WRITE_WORDS = frozenset(
    "write writes written writing wrote writer writers insert inserts inserted inserting "
    "update updates updated updating delete deletes deleted deleting modify modifies "
    "modified modifying save saves saved saving persist persists persisted".split())
SQL_WRITE_TERMS = ("insert", "update", "delete")
_ASKING_WHERE = re.compile(r"\b(?:where|which|who|what)\b", re.I)


# Component prefixes (the Linux kernel's, Go's, most Rust projects', conventional commits'):
# `type(scope): subject`, `type(scope)!: subject`; the type alone scopes nothing.
_CONVENTIONAL = re.compile(r"^\s*[A-Za-z]+\(([^)\n]{1,80})\)!?:\s")
# `net/http: subject`, `cmd/go, go/build: subject`, `crate::module: subject`, `[core] subject`.
_PREFIX = re.compile(r"^\s*([A-Za-z0-9_.\-/*{}+:, ]{1,80}?):\s+\S")
_BRACKET = re.compile(r"^\s*\[([A-Za-z0-9_.\-/]{1,40})\]\s+\S")
_SPLIT = re.compile(r"\s*[,+]\s*|\s+and\s+")
# Words that end in a colon in prose or name a change type, not a place.
_NOT_PLACES = frozenset(
    "fix fixes fixed feat feature bug bugfix note notes todo warning error breaking change "
    "changes chore refactor perf docs doc test tests style build ci revert release wip "
    "update add remove hotfix security deprecate deprecation example see also".split())


def subject_scopes(text: str) -> tuple[str, ...]:
    """The places a query's first line names before its colon, lower-cased: `net/http`,
    `runtime-dom`, `tracing-subscriber/fmt`."""
    first = text.lstrip().split("\n", 1)[0]
    m = _CONVENTIONAL.match(first) or _BRACKET.match(first) or _PREFIX.match(first)
    if not m:
        return ()
    out: dict[str, None] = {}
    for part in _SPLIT.split(m.group(1)):
        part = part.strip().strip("/*{}").replace("::", "/").lower().removeprefix("crate/")
        if part and part not in _NOT_PLACES and len(part) >= 2 and " " not in part:
            out.setdefault(part, None)
    return tuple(out)


def _is_code_like(name: str) -> bool:
    """camelCase, snake_case, dotted or called: English words stay out."""
    core = name.removesuffix("()")
    if any(sep in core for sep in (".", "::", "#", "_", "(")):
        return not re.fullmatch(r"[\d.]+", core) and not _looks_like_prose_dots(core)
    return bool(re.search(r"[a-z][A-Z]|[A-Z][a-z]+[A-Z]", core)) or name.endswith("()")


def _in_hyphenated_word(text: str, start: int, end: int) -> bool:
    """`pre-commit.ci`, `scikit-learn.org`, `utf-8.decode`: a hyphen joined to the name
    makes it a host name or a word of prose, not an identifier (no language the index
    reads allows one in a name)."""
    return (start > 0 and text[start - 1] == "-" and start > 1 and text[start - 2].isalnum()) \
        or (end < len(text) - 1 and text[end] == "-" and text[end + 1].isalnum())


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
        if _is_code_like(name) and not _in_hyphenated_word(text, m.start(), m.end()):
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


def analyse(text: str, *, max_chars: int = MAX_QUERY_CHARS) -> Query:
    if text is None or not text.strip():
        raise BadQueryError("empty query", hint='ask something, e.g. codesift search "parse headers"')
    if len(text) > max_chars:
        raise BadQueryError(f"query is {len(text):,} characters, more than the {max_chars:,} allowed",
                            hint="pass the issue and the error with its stack trace, not whole "
                                 "log files (the max_query_chars setting raises the limit)")
    original = text.strip()
    condensed = condense(original) if is_long(original) else None
    # Every signal below is read from a long text's kept lines.
    stripped = condensed.text if condensed is not None else original
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
    if condensed is None:
        terms = with_sql_write_terms(terms, stripped)
    keys = [k for ident in identifiers for k in symbol_keys(ident)]
    opening = opening_paragraph(original)
    about = opening if opening is not None else original[:LONG_TEXT_CHARS]
    # A query of one paragraph is its own opening: no second ranking.
    opening_terms = _cap_terms(query_terms(opening), set(id_terms)) if opening else []
    if opening_terms == terms:
        opening_terms = []
    return Query(
        text=stripped, terms=tuple(terms), opening_terms=tuple(opening_terms),
        identifiers=tuple(identifiers),
        identifier_terms=tuple(id_terms), symbol_keys=tuple(dict.fromkeys(keys)),
        frames=tuple(frames), paths=tuple(dict.fromkeys(_FILE_NAME.findall(stripped))),
        messages=tuple(extract_messages(stripped)), is_identifier=is_identifier,
        # The kinds asked for are read from the opening paragraph (opening_paragraph says why).
        kinds=asked_kinds(about, tuple(dict.fromkeys(_FILE_NAME.findall(about)))),
        embed_text=condensed.head if condensed is not None else stripped, condensed=condensed,
        scopes=subject_scopes(stripped))


def opening_paragraph(text: str) -> str | None:
    """The text up to its first blank line, if one comes within LONG_TEXT_CHARS characters
    (None for a text of one paragraph): where a question says what it is about.

    An issue's title or a commit's subject says "the parser"; later paragraphs mention
    tests, docs and CI in passing ("add tests", "fix docs", "[pre-commit.ci] auto fixes", a
    pasted pytest log), and ranking test code, documentation or configuration up for those
    words buried the code asked about (history set: the 59 of 388 messages whose body alone
    named tests, docs or config ranked their gold file worse than their subject did, MRR
    0.746 vs 0.876)."""
    head = text.strip()[:LONG_TEXT_CHARS]
    blank = _BLANK_LINE.search(head)
    return head[:blank.start()] if blank else None


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


def with_sql_write_terms(terms: list[str], text: str) -> list[str]:
    """A question about writing a table also asks for the SQL that does (_WRITE_WORDS).
    Only a question ("where / which / who ..."): a commit message such as "update tables
    when rows are inserted" is about a table in the code, not about SQL."""
    if _TABLE_WORDS.isdisjoint(terms) or _WRITE_WORDS.isdisjoint(terms) \
            or not _ASKING_WHERE.search(text):
        return terms
    return terms + [t for t in SQL_WRITE_TERMS if t not in terms]


def _cap_terms(terms: list[str], priority: set[str]) -> list[str]:
    """Long bug reports: keep code tokens first, then the rest in order of appearance."""
    if len(terms) <= MAX_LEXICAL_TERMS:
        return terms
    first = [t for t in terms if t in priority]
    rest = [t for t in terms if t not in priority and len(split_identifier(t)) <= 1]
    return (first + rest)[:MAX_LEXICAL_TERMS]
