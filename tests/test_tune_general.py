"""General ability kept (issue 16): ROC-AUC by ranks, the committed paraphrase set, the bench."""

from __future__ import annotations

import itertools
import json
import random
import sys
from pathlib import Path

import numpy as np
import pytest

from codesift.errors import UsageError
from codesift.tune.general import (SentencePair, average_ranks, breakdown, load_sentence_pairs,
                                   pair_scores, roc_auc)

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data" / "paraphrase_pairs.jsonl"


# -- ROC-AUC against values worked out by hand ------------------------------------------------


def test_average_ranks_share_the_mean_rank_among_ties() -> None:
    assert average_ranks([3.0, 1.0, 3.0, 2.0]) == [3.5, 1.0, 3.5, 2.0]
    assert average_ranks([5.0, 5.0, 5.0]) == [2.0, 2.0, 2.0]
    assert average_ranks([]) == []


@pytest.mark.parametrize("scores, labels, expected", [
    ([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], 1.0),  # every positive above every negative
    ([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1], 0.0),  # every positive below
    ([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], 0.75),  # 3 of the 4 (pos, neg) pairs in order
    ([0.5, 0.5, 0.2, 0.9], [1, 0, 0, 1], 0.875),  # the one tie across classes counts 1/2: 3.5/4
    ([0.3, 0.3, 0.3, 0.3], [1, 0, 1, 0], 0.5),  # all tied
    ([0.2, 0.6, 0.4], [1, 0, 0], 0.0),  # one positive, below both negatives
    ([0.7, 0.6, 0.4], [0, 1, 1], 0.0),
    ([0.5, 0.6, 0.4, 0.6], [1, 1, 0, 0], 0.625),  # (0.5>0.4) 1, (0.5<0.6) 0, (0.6>0.4) 1, tie 1/2
])
def test_roc_auc_matches_hand_computed_values(scores, labels, expected) -> None:
    assert roc_auc(scores, labels) == pytest.approx(expected)


def test_roc_auc_equals_the_share_of_correctly_ordered_pairs() -> None:
    rng = random.Random(7)
    for _ in range(20):
        n = rng.randint(2, 40)
        scores = [rng.choice([0.1, 0.2, 0.3, rng.random()]) for _ in range(n)]  # many ties
        labels = [1, 0] + [rng.randint(0, 1) for _ in range(n - 2)]
        pos = [s for s, y in zip(scores, labels) if y]
        neg = [s for s, y in zip(scores, labels) if not y]
        wins = sum(1.0 if p > q else 0.5 if p == q else 0.0 for p, q in itertools.product(pos, neg))
        assert roc_auc(scores, labels) == pytest.approx(wins / (len(pos) * len(neg)))


def test_roc_auc_needs_both_classes_and_one_label_per_score() -> None:
    with pytest.raises(ValueError, match="one positive and one negative"):
        roc_auc([0.1, 0.2], [1, 1])
    with pytest.raises(ValueError, match="2 scores but 3 labels"):
        roc_auc([0.1, 0.2], [1, 0, 1])


# -- the committed set ------------------------------------------------------------------------


def test_the_committed_set_is_large_balanced_and_has_no_repeats() -> None:
    pairs = load_sentence_pairs(DATA)
    assert len(pairs) >= 200
    labels = [p.label for p in pairs]
    assert set(labels) == {0, 1}
    assert 0.35 <= sum(labels) / len(labels) <= 0.65
    seen = set()
    for p in pairs:
        assert p.a.strip() and p.b.strip() and p.a != p.b
        key = frozenset((p.a.casefold(), p.b.casefold()))  # (a, b) and (b, a) are one pair
        assert key not in seen, f"duplicate pair: {p.a!r} / {p.b!r}"
        seen.add(key)
    assert sum(1 for p in pairs if not p.label and p.kind in
               ("swap", "negation", "number", "substitution")) >= 60  # hard negatives


def test_a_malformed_line_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text('{"a": "x", "b": "y", "label": 1}\n\n{"a": "x"}\n', encoding="utf-8")
    with pytest.raises(UsageError, match=r"pairs.jsonl:3 is not a sentence pair"):
        load_sentence_pairs(path)
    with pytest.raises(UsageError, match="cannot read the sentence pairs"):
        load_sentence_pairs(tmp_path / "missing.jsonl")


# -- scoring -------------------------------------------------------------------------------------


class FakeEmbedder:
    """Fixed unit vectors per sentence; counts what it was asked to embed."""

    id, dim = "fake", 2

    def __init__(self, vectors: dict[str, tuple[float, float]]) -> None:
        self.vectors = vectors
        self.asked: list[str] = []

    def embed_documents(self, texts, progress=None) -> np.ndarray:
        self.asked.extend(texts)
        rows = np.array([self.vectors[t] for t in texts], dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


def test_pairs_are_scored_by_cosine_and_each_sentence_embedded_once() -> None:
    fake = FakeEmbedder({"a": (1, 0), "b": (1, 1), "c": (0, 1), "d": (-1, 0)})
    pairs = [SentencePair("a", "b", 1), SentencePair("a", "c", 0, "swap"),
             SentencePair("a", "d", 0, "negation"), SentencePair("c", "b", 1)]
    scores = pair_scores(fake, pairs)
    assert scores == pytest.approx([2 ** -0.5, 0.0, -1.0, 2 ** -0.5])
    assert sorted(fake.asked) == ["a", "b", "c", "d"]
    assert breakdown(scores, pairs) == {"negation": 1.0, "swap": 1.0}


def test_the_bench_reports_auc_and_the_change_from_the_first_model(tmp_path, capsys) -> None:
    """End to end with the real all-MiniLM-L6-v2, on a slice of the committed set."""
    pairs = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]
    subset = tmp_path / "pairs.jsonl"
    subset.write_text("".join(json.dumps(p) + "\n" for p in pairs[:8] + pairs[-8:]),
                      encoding="utf-8")
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import tune_general
    finally:
        sys.path.remove(str(ROOT / "bench"))
    assert tune_general.main(["--model", "local", "--model", "local:all-MiniLM-L6-v2",
                              "--data", str(subset), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["pairs"] == 16 and out["paraphrases"] == 8
    first, second = out["results"]
    assert 0.5 < first["auc"] <= 1.0
    assert second["auc"] == pytest.approx(first["auc"]) and second["delta"] == pytest.approx(0.0)
    assert second["kept"] is True
