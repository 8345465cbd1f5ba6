"""The BM25 floors of ../shared/eval/history/baseline.md: BM25-file and BM25-chunk.

Self-contained on purpose (its own tokenizer and scorer, and defs.py's definitions for the
chunks, in every language defs.py knows) so that the floor does not move when the engine
changes. Lucene BM25 (k1 1.2, b 0.75), query terms weighted by count.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from codesift.evaluate.defs import SOURCE_EXTENSIONS, Definition, definitions

__all__ = [
    "CODE_EXTENSIONS",
    "BaselineHit",
    "Doc",
    "BM25Index",
    "tokenize",
    "file_docs",
    "chunk_docs",
    "bm25_file",
    "bm25_chunk",
    "bm25_over_texts",
]

# "Every code-like file ... .py/.pyi/.js/.mjs/.ts and similar; not .md/.rst/.txt/PKG-INFO",
# in every language the definitions extractor knows.
CODE_EXTENSIONS = SOURCE_EXTENSIONS
SKIP_DIRS = frozenset({".git", "node_modules", "__pycache__", ".codesift"})

# English stopwords: Lucene's classic English list (bm25s "en"). Of the lists tried, it
# reproduces baseline.md best (micro within 0.015 on every column).
STOPWORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their "
    "then there these they this to was will with".split()
)

_WORD = re.compile(r"\w+", re.UNICODE)
_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def tokenize(text: str, stopwords: frozenset[str] = STOPWORDS) -> list[str]:
    """Code-aware tokens: each identifier lowercased, plus its camelCase / snake_case
    parts when it has several; English stopwords dropped."""
    out: list[str] = []
    for m in _WORD.finditer(text):
        word = m.group(0)
        whole = word.lower()
        parts = [p.lower() for piece in word.split("_") for p in _PART.findall(piece)]
        toks = [whole] if len(parts) <= 1 else [whole, *parts]
        out.extend(t for t in toks if t not in stopwords)
    return out


@dataclass(frozen=True, slots=True)
class Doc:
    path: str
    start_line: int
    end_line: int
    symbol: str
    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class BaselineHit:
    path: str
    start_line: int
    end_line: int
    symbol: str
    kind: str
    score: float


class BM25Index:
    """Lucene BM25 over an in-memory inverted index.

    score(d, q) = sum_t qtf(t) * idf(t) * tf (k1 + 1) / (tf + k1 (1 - b + b |d| / avgdl)),
    idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5))  (Lucene's BM25Similarity).
    """

    def __init__(self, docs: Sequence[Doc], k1: float = 1.2, b: float = 0.75,
                 stopwords: frozenset[str] = STOPWORDS, lucene_norms: bool = True,
                 tokenizer: Callable[[str], list[str]] | None = None):
        self.docs = list(docs)
        self.k1, self.b, self.stopwords = k1, b, stopwords
        # Another tokenizer (codesift sql's stemmed one) on both sides; the floors keep theirs.
        self._tokenize = tokenizer or (lambda text: tokenize(text, self.stopwords))
        postings: dict[str, tuple[list[int], list[int]]] = {}
        lengths = np.zeros(len(self.docs), dtype=np.float64)
        for i, doc in enumerate(self.docs):
            counts = Counter(self._tokenize(doc.text))
            lengths[i] = sum(counts.values())
            for term, tf in counts.items():
                ids, tfs = postings.setdefault(term, ([], []))
                ids.append(i)
                tfs.append(tf)
        n = max(len(self.docs), 1)
        avgdl = float(lengths.mean()) if len(self.docs) else 1.0
        if lucene_norms:  # Lucene and tantivy keep each length in one lossy byte
            lengths = np.asarray([_lossy_length(int(x)) for x in lengths], dtype=np.float64)
        norm = k1 * (1 - b + b * lengths / (avgdl or 1.0))
        # Precompute each posting's weight so a query is a few numpy adds.
        self._postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for term, (ids, tfs) in postings.items():
            ids_a = np.asarray(ids, dtype=np.int64)
            tf_a = np.asarray(tfs, dtype=np.float64)
            idf = math.log(1 + (n - len(ids) + 0.5) / (len(ids) + 0.5))
            self._postings[term] = (ids_a, idf * tf_a * (k1 + 1) / (tf_a + norm[ids_a]))

    def scores(self, query: str) -> np.ndarray:
        scores = np.zeros(len(self.docs), dtype=np.float64)
        for term, qtf in Counter(self._tokenize(query)).items():
            posting = self._postings.get(term)
            if posting is not None:
                scores[posting[0]] += qtf * posting[1]
        return scores

    def search(self, query: str, k: int = 10) -> list[BaselineHit]:
        scores = self.scores(query)
        order = np.argsort(-scores, kind="stable")[:k]
        return [
            BaselineHit(d.path, d.start_line, d.end_line, d.symbol, d.kind, float(scores[i]))
            for i in order
            if scores[i] > 0
            for d in (self.docs[i],)
        ]


_FREE = 24  # Lucene SmallFloat: lengths below this are stored exactly


def _int4(i: int) -> int:
    bits = i.bit_length()
    if bits < 4:
        return i
    shift = bits - 4
    return ((i >> shift) & 0x07) | ((shift + 1) << 3)


def _from_int4(i: int) -> int:
    bits, shift = i & 0x07, (i >> 3) - 1
    return bits if shift == -1 else (bits | 0x08) << shift


def _lossy_length(n: int) -> int:
    """A document length as Lucene's SmallFloat.intToByte4 / byte4ToInt round-trip keeps it
    (BM25Similarity and tantivy's fieldnorms); avgdl stays exact."""
    if n < _FREE:
        return n
    return _FREE + _from_int4(_int4(n - _FREE))


def iter_code_files(root: Path, paths: Iterable[str] | None = None) -> Iterable[tuple[str, str]]:
    """(repo-relative posix path, text) of every code-like file, in path order; only those
    of `paths` (e.g. what git tracks) when given."""
    root = Path(root)
    candidates = sorted(root.rglob("*")) if paths is None else [root / p for p in sorted(paths)]
    for path in candidates:
        rel = path.relative_to(root)
        if any(part in SKIP_DIRS for part in rel.parts[:-1]):
            continue
        if path.is_file() and path.suffix.lower() in CODE_EXTENSIONS:
            yield rel.as_posix(), path.read_text(encoding="utf-8", errors="replace")


def _split_lines(text: str) -> list[str]:
    """Lines split on "\n" only, as tree-sitter and the gold line numbers count them
    (str.splitlines would also split on form feeds and other separators)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _line_count(text: str) -> int:
    return max(len(_split_lines(text)), 1)


def file_docs(root: Path, paths: Iterable[str] | None = None) -> list[Doc]:
    return [
        Doc(rel, 1, _line_count(text), "", "file", f"{rel}\n{text}")
        for rel, text in iter_code_files(root, paths)
    ]


# --- function-level chunks ------------------------------------------------------------

LEFTOVER_BLOCK = 80


def _chunks_of_file(rel: str, text: str) -> list[Doc]:
    lines = _split_lines(text)
    n = len(lines)
    # Nested definitions stay inside their function's chunk: only the leaves are chunks.
    defs = [d for d in definitions(rel, text) if d.leaf]
    covered = [False] * (n + 2)
    docs: list[Doc] = []
    classes = [d for d in defs if d.kind == "class"]
    members_of = _members(defs, classes)
    for d in defs:
        if d.kind != "class":
            span = [(d.start_line, d.end_line)]
            docs.append(Doc(rel, d.start_line, d.end_line, d.name, d.kind,
                            _body(rel, d.name, lines, span)))
        for ln in range(d.start_line, d.end_line + 1):
            covered[ln] = True
    for c, members in zip(classes, members_of):
        qual, start, end = c.name, c.start_line, c.end_line
        keep = _minus(range(start, end + 1), members)
        nonblank = [i for i in keep if i <= n and lines[i - 1].strip()]
        if nonblank:
            # The chunk's range is the class header: up to its first member. Spanning the
            # whole class would make it "overlap" every method it no longer contains.
            firsts = [s for s, _ in members]
            s_, e_ = start, (min(firsts) - 1 if firsts else end)
            docs.append(Doc(rel, s_, e_, qual, "class", _text(rel, qual, lines, keep)))
    uncovered = [ln for ln in range(1, n + 1) if not covered[ln]]
    for block in _blocks(uncovered, LEFTOVER_BLOCK):
        if any(lines[i - 1].strip() for i in block):
            docs.append(Doc(rel, block[0], block[-1], "", "block", _text(rel, "", lines, block)))
    if not docs:
        docs.append(Doc(rel, 1, max(n, 1), "", "file", f"{rel}\n{text}"))
    docs.sort(key=lambda d: (d.start_line, d.end_line))
    return docs


def _members(defs: list[Definition], classes: list[Definition]) -> list[list[tuple[int, int]]]:
    """Each class's members' line ranges: the definitions named with its name as prefix
    and lying inside it (Rust's struct and impl blocks share a name, as do Python classes
    defined under two branches of an `if`; the innermost such class owns a member)."""
    by_name: dict[str, list[int]] = {}
    for i, c in enumerate(classes):
        by_name.setdefault(c.name, []).append(i)
    members: list[list[tuple[int, int]]] = [[] for _ in classes]
    for d in defs:
        parent = d.name.rsplit(".", 1)[0] if "." in d.name else None
        around = [i for i in by_name.get(parent, ()) if classes[i].start_line <= d.start_line
                  and d.end_line <= classes[i].end_line]
        if around:
            members[around[-1]].append((d.start_line, d.end_line))
    return members


def _body(rel: str, qual: str, lines: list[str], ranges: list[tuple[int, int]]) -> str:
    keep = [ln for s, e in ranges for ln in range(s, e + 1)]
    return _text(rel, qual, lines, keep)


def _text(rel: str, qual: str, lines: list[str], keep: Iterable[int]) -> str:
    body = "\n".join(lines[i - 1] for i in keep if 0 < i <= len(lines))
    return f"{rel}\n{qual}\n{body}" if qual else f"{rel}\n{body}"


def _minus(span: range, holes: list[tuple[int, int]]) -> list[int]:
    removed = {ln for s, e in holes for ln in range(s, e + 1)}
    return [ln for ln in span if ln not in removed]


def _blocks(lines: list[int], size: int) -> list[list[int]]:
    """Contiguous runs of line numbers, each cut into pieces of at most `size` lines."""
    runs: list[list[int]] = []
    for ln in lines:
        if runs and ln == runs[-1][-1] + 1 and len(runs[-1]) < size:
            runs[-1].append(ln)
        else:
            runs.append([ln])
    return runs


def chunk_docs(root: Path, paths: Iterable[str] | None = None) -> list[Doc]:
    return [doc for rel, text in iter_code_files(root, paths) for doc in _chunks_of_file(rel, text)]


def bm25_file(root: Path, paths: Iterable[str] | None = None, **kw) -> BM25Index:
    """BM25-file: one document per code file; a hit is the whole file."""
    return BM25Index(file_docs(root, paths), **kw)


def bm25_chunk(root: Path, paths: Iterable[str] | None = None, **kw) -> BM25Index:
    """BM25-chunk: functions/methods whole, class bodies minus members, and leftover
    module code in blocks of at most 80 lines."""
    return BM25Index(chunk_docs(root, paths), **kw)


def bm25_over_texts(items: Sequence[tuple[str, str]], stopwords: frozenset[str] = frozenset(),
                    **kw) -> BM25Index:
    """BM25 over (path, text) pairs whose document text is the text alone. CoSQA's floor
    (shared/eval/README.md) splits identifiers but keeps stopwords."""
    return BM25Index([Doc(p, 1, _line_count(t), "", "file", t) for p, t in items],
                     stopwords=stopwords, **kw)
