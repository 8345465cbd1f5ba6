"""Example selection: which of the team's question -> SQL pairs to show the model.

DAIL-SQL (Gao et al., VLDB 2024) found two things beat plain question similarity: comparing
questions with their schema names and literal values masked ("How many <mask> live in
<unk>?" — the shape of the question, not its subject), and preferring examples whose SQL
has the skeleton the answer will need. Without an LLM the skeleton is not known yet, so it
is voted: the skeletons of the masked-question neighbours are pooled, and the candidates
closest to that consensus rank first.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

import numpy as np

from ..tokens import iter_tokens
from .link import Embed, terms
from .model import Example, Schema

NEIGHBOURS = 5  # masked-question neighbours whose skeletons vote
CANDIDATES = 10  # re-ranked by skeleton among this many nearest questions
SKELETON_WEIGHT = 0.2  # added to the cosine: a tie-breaker between similar questions

_VALUE = re.compile(r"""'[^']*'|"[^"]*"|\d+(?:[.,]\d+)*""")
_TOKEN = re.compile(r"""'[^']*'|"[^"]*"|\d+(?:[.,]\d+)*|\w+|[^\w\s]""")
_WORD = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True, slots=True)
class Selected:
    example: Example
    score: float
    question_similarity: float
    skeleton_similarity: float


def mask_question(question: str, schema: Schema | None = None) -> str:
    """Literal values (quoted text, numbers, capitalised words inside the sentence, sample
    values) -> <unk>; words naming a table or column of `schema` -> <mask>."""
    names = _schema_terms(schema) if schema is not None else frozenset()
    samples = _sample_words(schema) if schema is not None else frozenset()
    out: list[str] = []
    for tok in _TOKEN.findall(question):
        starts_sentence = not out or out[-1] in (".", "?", "!")
        if _VALUE.fullmatch(tok) or tok.lower() in samples or \
                (not starts_sentence and tok[:1].isupper() and tok[1:].islower()):
            out.append("<unk>")
        elif names and (stem := terms(tok)) and stem[0] in names:
            out.append("<mask>")
        else:
            out.append(tok)
    return " ".join(out)


@lru_cache(maxsize=256)
def _schema_terms(schema: Schema) -> frozenset[str]:
    found: set[str] = set()
    for t in schema.tables:
        found.update(terms(t.name))
        for c in t.columns:
            found.update(terms(c.name))
    return frozenset(found)


@lru_cache(maxsize=256)
def _sample_words(schema: Schema) -> frozenset[str]:
    return frozenset(s.lower() for t in schema.tables for c in t.columns for s in c.samples)


def skeleton(sql: str, dialect: str = "sqlite") -> tuple[str, ...]:
    """The SQL's keywords and operators with every name and value replaced by `_`:
    `SELECT count(*) FROM singer WHERE age > 20` -> SELECT COUNT ( * ) FROM _ WHERE _ > _.
    Unparseable SQL falls back to its words with identifiers masked."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except sqlglot.errors.ParseError:
        return tuple("_" if t.isidentifier() and not t.isupper() else t.upper()
                     for t in _WORD.findall(sql))

    def blank(node: exp.Expression) -> exp.Expression:
        if isinstance(node, (exp.Column, exp.Table, exp.Literal, exp.Identifier)):
            return exp.Var(this="_")
        return node

    text = tree.transform(blank).sql(dialect=dialect)
    out: list[str] = []
    for tok in _WORD.findall(text):
        tok = "_" if tok == "_" else tok.upper()
        if not (tok == "_" and out and out[-1] == "_"):  # `_ . _` and `_ AS _` stay one
            out.append(tok)
    return tuple(out)


def skeleton_similarity(a: Sequence[str], b: Sequence[str]) -> float:
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


class ExampleIndex:
    """A database's examples, searchable by question. `embed` maps texts to unit vectors
    (None: word overlap only)."""

    def __init__(self, examples: Sequence[Example], schema: Schema | None,
                 embed: Embed | None = None) -> None:
        self.examples = list(examples)
        self.schema = schema
        self._embed = embed
        self._masked = [mask_question(e.question, schema) for e in self.examples]
        dialect = schema.dialect if schema is not None else "sqlite"
        self._skeletons = [skeleton(e.sql, dialect) for e in self.examples]
        self._vectors = embed(self._masked) if embed is not None and self.examples else None
        self._raw_vectors: np.ndarray | None = None  # unmasked, made when first asked for

    def question_scores(self, question: str, *, masked: bool = True) -> np.ndarray:
        text = mask_question(question, self.schema) if masked else question
        if self._vectors is not None and self._embed is not None:
            if not masked and self._raw_vectors is None:
                self._raw_vectors = self._embed([e.question for e in self.examples])
            vectors = self._vectors if masked else self._raw_vectors
            return vectors @ self._embed([text])[0]
        return np.array([_overlap(text, m if masked else e.question)
                         for m, e in zip(self._masked, self.examples)], dtype=np.float64)

    def select(self, question: str, k: int = 3, *,
               keep: Callable[[int], bool] | None = None,
               skeleton_hint: Sequence[str] | None = None, masked: bool = True,
               skeletons: bool = True) -> list[Selected]:
        """The k best examples for the question. `keep(i)` hides example i (leave-one-out);
        `skeleton_hint` is the skeleton of a draft SQL when there is one, else it is voted
        from the masked-question neighbours. `masked` / `skeletons` False: the plain
        question-similarity baselines."""
        if not self.examples:
            return []
        qs = self.question_scores(question, masked=masked)
        order = [int(i) for i in np.argsort(-qs, kind="stable") if keep is None or keep(int(i))]
        if not skeletons:
            return [Selected(self.examples[i], float(qs[i]), float(qs[i]), 0.0)
                    for i in order[:k]]
        pool = order[:CANDIDATES]
        ranked = []
        for i in pool:
            if skeleton_hint:
                s_sim = skeleton_similarity(self._skeletons[i], tuple(skeleton_hint))
            else:
                s_sim = self._agreement(i, pool[:NEIGHBOURS], qs)
            ranked.append(Selected(self.examples[i], float(qs[i]) + SKELETON_WEIGHT * s_sim,
                                   float(qs[i]), s_sim))
        return sorted(ranked, key=lambda s: -s.score)[:k]

    def _agreement(self, i: int, neighbours: Sequence[int], qs: np.ndarray) -> float:
        """How typical example i's skeleton is among the question's nearest neighbours
        (their similarity-weighted mean skeleton similarity to it): the vote that stands in
        for the skeleton of an answer not written yet."""
        weights = [max(float(qs[j]), 0.0) for j in neighbours if j != i]
        sims = [skeleton_similarity(self._skeletons[i], self._skeletons[j])
                for j in neighbours if j != i]
        total = sum(weights)
        return sum(w * s for w, s in zip(weights, sims)) / total if total else 0.0

def _overlap(a: str, b: str) -> float:
    ta, tb = Counter(iter_tokens(a.lower())), Counter(iter_tokens(b.lower()))
    inter = sum((ta & tb).values())
    return 2 * inter / ((sum(ta.values()) + sum(tb.values())) or 1)
