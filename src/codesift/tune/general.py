"""General ability kept: does a tuned encoder still tell paraphrases from non-paraphrases?

Issue 16 lets a tuned model lose at most 0.03 ROC-AUC against all-MiniLM-L6-v2 on the
committed sentence pairs in bench/data/paraphrase_pairs.jsonl (scored by cosine). The
AUC is computed here rather than with sklearn, which codesift does not depend on.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from codesift.errors import UsageError

if TYPE_CHECKING:
    from codesift.embed import Embedder


@dataclass(frozen=True, slots=True)
class SentencePair:
    a: str
    b: str
    label: int  # 1: paraphrase, 0: not
    kind: str = ""  # how a non-paraphrase differs (swap, negation, number, ...), for breakdowns


def roc_auc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """Area under the ROC curve: the chance that a random positive outscores a random
    negative, ties counting half. Computed as Mann-Whitney U from average ranks."""
    if len(scores) != len(labels):
        raise ValueError(f"{len(scores)} scores but {len(labels)} labels")
    n_pos = sum(1 for y in labels if y)
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("ROC-AUC needs at least one positive and one negative")
    ranks = average_ranks(scores)
    rank_sum = sum(r for r, y in zip(ranks, labels) if y)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def average_ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks in ascending order; tied values share the mean of their ranks."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        shared = (start + end) / 2 + 1  # mean of ranks start+1 .. end+1
        for i in order[start:end + 1]:
            ranks[i] = shared
        start = end + 1
    return ranks


def load_sentence_pairs(path: Path) -> list[SentencePair]:
    """Read {"a", "b", "label"[, "kind"]} lines; blank lines are skipped."""
    pairs = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UsageError(f"cannot read the sentence pairs {path}: {exc.strerror}",
                         hint="pass the path of a JSONL file of {a, b, label} lines") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            pairs.append(SentencePair(str(row["a"]), str(row["b"]), int(row["label"]),
                                      str(row.get("kind", ""))))
        except (ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"{path}:{number} is not a sentence pair",
                             hint='each line must be {"a": ..., "b": ..., "label": 0 or 1}') from exc
    return pairs


def pair_scores(embedder: Embedder, pairs: Sequence[SentencePair]) -> list[float]:
    """Cosine of each pair's two sentences; each distinct sentence is embedded once."""
    sentences = sorted({p.a for p in pairs} | {p.b for p in pairs})
    row = {s: i for i, s in enumerate(sentences)}
    vectors = embedder.embed_documents(sentences)  # unit rows: a dot product is the cosine
    return [float(vectors[row[p.a]] @ vectors[row[p.b]]) for p in pairs]


def breakdown(scores: Sequence[float], pairs: Sequence[SentencePair]) -> dict[str, float]:
    """AUC of all paraphrases against each kind of non-paraphrase alone: where a model fails."""
    kinds = sorted({p.kind for p in pairs if not p.label and p.kind})
    out = {}
    for kind in kinds:
        keep = [i for i, p in enumerate(pairs) if p.label or p.kind == kind]
        out[kind] = roc_auc([scores[i] for i in keep], [pairs[i].label for i in keep])
    return out
