"""The one token counter behind every token budget (repo map, context packer): an estimate
of what an LLM's byte-pair tokenizer makes of a text, with no model files and no downloads.
"""

# Why not a real tokenizer: tiktoken downloads its encodings at first use (it fails on
# machines without network), and the embedding model's WordPiece tokenizer belongs to an
# optional extra, changes with the configured embedder (so one budget would mean different
# things in two indexes) and measures a BERT vocabulary, not the LLM that reads the text.
# A budget needs one deterministic counter that every feature shares, so that "fits in N
# tokens" means the same thing everywhere; callers that hold a real tokenizer can pass
# their own `TokenCounter` instead.
#
# How it counts: the text is cut into the pieces GPT-style tokenizers cut it into before
# byte-pair merging (the cl100k pre-tokenizer pattern, with Python's `re` classes for
# letters and digits): a letter run with at most one leading symbol (" def", "(self",
# "_header"), up to three digits, a run of symbols, a run of whitespace. Byte-pair merging
# turns each piece into one token or more; the estimate charges a piece one token per
# camelCase part per started 8 ASCII characters (HttpClient = Http + Client, 2) plus one
# per non-ASCII character (CJK text and symbols such as "…" are a token or more each in
# byte-level vocabularies). Each line break is one token of its own (a real tokenizer
# sometimes merges it into the piece before, so this errs on the high side), which makes
# the count additive over lines: count(a + "\n" + b) == count(a) + 1 + count(b). A line's
# count is cached, so re-counting a growing map or context after each added line costs a
# dictionary lookup per line, not a regex pass over everything.

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

TokenCounter = Callable[[str], int]

_LETTERS = r"[^\W\d_]"
_PIECE = re.compile(
    r"'(?:[sdmt]|ll|ve|re)(?!\w)"  # English contractions
    rf"|(?:_|[^\r\n\w])?{_LETTERS}+"  # a word, with one leading space or symbol
    r"|\d{1,3}"
    r"| ?(?:_|[^\s\w])+[\r\n]*"  # symbols (underscores included)
    r"|\s*[\r\n]+|\s+(?!\S)|\s+", re.UNICODE)
_CAMEL_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[^\W\d_]+")
_CHARS_PER_TOKEN = 8  # longer ASCII words are charged more than one token


def count_tokens(text: str) -> int:
    """Estimated LLM tokens in `text` (0 for ""); deterministic and additive over lines."""
    return sum(map(_line_tokens, text.split("\n"))) + text.count("\n")


@lru_cache(maxsize=65_536)
def _line_tokens(line: str) -> int:
    return sum(_piece_cost(piece) for piece in _PIECE.findall(line.removesuffix("\r")))


@lru_cache(maxsize=65_536)
def _piece_cost(piece: str) -> int:
    """Code repeats its pieces (indentation, `self`, `):`), so each is costed once."""
    if piece.isspace():
        return 1
    wide = sum(1 for ch in piece if ord(ch) > 127)
    ascii_text = piece if not wide else "".join(ch for ch in piece if ord(ch) <= 127)
    ascii_text = ascii_text.strip()
    if not ascii_text:
        return wide
    parts = _CAMEL_PART.findall(ascii_text) or [ascii_text]
    symbols = len(ascii_text) - sum(len(p) for p in parts)
    cost = sum(-(-len(p) // _CHARS_PER_TOKEN) for p in parts)
    # A piece that is only symbols ("):", "->", "**") is charged like a word of that length.
    if symbols and not cost:
        cost = -(-symbols // _CHARS_PER_TOKEN)
    return max(1, cost + wide)
