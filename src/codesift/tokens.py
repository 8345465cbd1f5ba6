"""Code-aware lexical tokens, the same on the index side and the query side.

`HttpClient.send_request2` -> httpclient, http, client, send_request2, send, request, 2:
identifiers are split at camelCase, snake_case and digit boundaries, and the whole
identifier is kept too, so both `send_request` and `request` match.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

# Identifier-ish runs: letters, digits, underscores (Unicode letters included).
_WORD = re.compile(r"[^\W]+", re.UNICODE)
# camelCase / PascalCase / ACRONYMWord / digit boundaries.
_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+|[^\W\d_]+", re.UNICODE)

MAX_TOKEN_LEN = 64  # longer runs are hashes, base64 or minified noise

# English function words: they carry no signal in a question and drown the identifiers
# of a long bug report. Code keywords are kept: "return", "class" can matter.
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just let me more most my myself no nor not now of off on once only
    or other our ours ourselves out over own same she should so some such than that the
    their theirs them themselves then there these they this those through to too under until
    up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves also may might must shall via etc e g ie eg""".split()
)


def split_identifier(word: str) -> list[str]:
    """Sub-words of one identifier, lowercased: `parseHTTPHeader_v2` -> parse, http, header, v, 2."""
    parts: list[str] = []
    for piece in word.split("_"):
        parts.extend(m.group(0).lower() for m in _PARTS.finditer(piece))
    return parts


@lru_cache(maxsize=262_144)
def word_tokens(word: str) -> tuple[str, ...]:
    """The tokens of one word: the whole identifier, then its sub-words. Cached: code
    repeats its identifiers, and this is the hot loop of indexing."""
    if len(word) > MAX_TOKEN_LEN:
        return ()
    whole = word.lower().strip("_")
    parts = [p for p in split_identifier(word) if p != whole]
    return (whole, *parts) if whole else tuple(parts)


def iter_tokens(text: str) -> Iterator[str]:
    """Every token of `text`: each whole identifier (lowercased) followed by its sub-words."""
    for word in _WORD.findall(text):
        yield from word_tokens(word)


def code_tokens(text: str) -> list[str]:
    return list(iter_tokens(text))


def index_text(text: str) -> str:
    """The token stream as one space-separated string, for the FTS5 columns."""
    return " ".join([" ".join(word_tokens(w)) for w in _WORD.findall(text)])


def query_terms(text: str, *, drop_stopwords: bool = True) -> list[str]:
    """Distinct query tokens in order of first appearance, stopwords dropped."""
    seen: dict[str, None] = {}
    for tok in iter_tokens(text):
        if drop_stopwords and tok in STOPWORDS:
            continue
        seen.setdefault(tok, None)
    return list(seen)



_SYMBOL_SEPARATORS = re.compile(r"::|[.#\\/]|->")
_GO_RECEIVER = re.compile(r"\(\s*\*?\s*([\w.]+)\s*\)")


def symbol_parts(symbol: str, *, lower: bool = True) -> list[str]:
    """`pkg.(*Server).Handle`, `a::Foo::bar`, `Mod::Klass#run`, `Ns\\C::m` -> parts,
    lowercased unless `lower` is False."""
    text = _GO_RECEIVER.sub(r"\1", symbol.strip())
    text = re.sub(r"^impl\s+(?:[\w:<>]+\s+for\s+)?", "", text)
    parts = [p.strip() for p in _SYMBOL_SEPARATORS.split(text)]
    parts = [p.lower() for p in parts] if lower else parts
    return [p for p in parts if p and re.fullmatch(r"[\w$]+", p)]


def symbol_keys(symbol: str) -> list[str]:
    """Every dotted suffix of a normalised qualified name: the keys an exact lookup matches."""
    parts = symbol_parts(symbol)
    return [".".join(parts[i:]) for i in range(len(parts))]
