"""Hand-computed cases for the history and CoSQA scoring rules (codesift.evaluate.metrics)."""

from __future__ import annotations

import math

import pytest

from codesift.evaluate.metrics import (
    Loc,
    QueryScore,
    aggregate,
    cosqa_rank,
    cosqa_scores,
    file_recall_at_k,
    percentile,
    reciprocal_rank,
    score_history_query,
    summarize_packages,
    symbol_hit,
    symbol_recall_at_k,
)


def H(path, start=1, end=10):
    return Loc(path, start, end)


# --- file recall and MRR ---------------------------------------------------------------


def test_file_recall_counts_gold_files_found_in_top_k():
    hits = [H("a.py"), H("t/test_a.py"), H("b.py"), H("a.py")]
    assert file_recall_at_k(hits, ["a.py", "b.py"], 1) == 0.5
    assert file_recall_at_k(hits, ["a.py", "b.py"], 2) == 0.5
    assert file_recall_at_k(hits, ["a.py", "b.py"], 3) == 1.0
    assert file_recall_at_k(hits, ["c.py"], 10) == 0.0


def test_several_chunks_of_one_file_use_several_slots():
    hits = [H("a.py", 1, 5), H("a.py", 10, 20), H("b.py")]
    assert file_recall_at_k(hits, ["b.py"], 2) == 0.0
    assert file_recall_at_k(hits, ["b.py"], 3) == 1.0


def test_file_recall_accepts_dicts_and_hit_like_objects():
    class FakeHit:
        path, start_line, end_line = "a.py", 1, 2

    assert file_recall_at_k([{"path": "a.py", "start_line": 1, "end_line": 2}], ["a.py"], 1) == 1.0
    assert file_recall_at_k([FakeHit()], ["a.py"], 1) == 1.0


def test_reciprocal_rank_is_first_gold_hit_and_zero_beyond_ten():
    assert reciprocal_rank([H("x.py"), H("y.py"), H("a.py"), H("b.py")], ["a.py", "b.py"]) == pytest.approx(1 / 3)
    assert reciprocal_rank([H("a.py")], ["a.py"]) == 1.0
    eleven = [H(f"x{i}.py") for i in range(10)] + [H("a.py")]
    assert reciprocal_rank(eleven, ["a.py"]) == 0.0
    assert reciprocal_rank(eleven[1:], ["a.py"]) == pytest.approx(0.1)


# --- symbol recall: overlap and the span rule ---------------------------------------------


def test_symbol_needs_same_path_and_overlap():
    sym = Loc("a.py", 10, 20)
    assert symbol_hit(H("a.py", 20, 25), sym)  # touches the last line
    assert symbol_hit(H("a.py", 5, 10), sym)  # touches the first line
    assert not symbol_hit(H("a.py", 21, 30), sym)
    assert not symbol_hit(H("a.py", 1, 9), sym)
    assert not symbol_hit(H("b.py", 10, 20), sym)


def test_span_limit_is_fifty_lines_for_small_symbols():
    sym = Loc("a.py", 10, 12)  # 3 lines: limit max(6, 50) = 50
    assert symbol_hit(H("a.py", 1, 50), sym)  # span exactly 50
    assert not symbol_hit(H("a.py", 1, 51), sym)  # one over
    assert symbol_hit(H("a.py", 1, 51), sym, strict=False)


def test_span_limit_is_twice_the_symbol_for_large_symbols():
    sym = Loc("a.py", 101, 140)  # 40 lines: limit max(80, 50) = 80
    assert symbol_hit(H("a.py", 100, 179), sym)  # span exactly 80
    assert not symbol_hit(H("a.py", 100, 180), sym)  # 81
    assert symbol_hit(H("a.py", 1, 1000), sym, strict=False)  # a whole file is lenient-only


def test_symbol_recall_fraction_and_none_without_symbols():
    syms = [Loc("a.py", 10, 20), Loc("a.py", 100, 110), Loc("b.py", 1, 5)]
    hits = [H("a.py", 8, 22), H("c.py"), H("b.py", 1, 400)]
    assert symbol_recall_at_k(hits, syms) == pytest.approx(1 / 3)
    assert symbol_recall_at_k(hits, syms, strict=False) == pytest.approx(2 / 3)
    assert symbol_recall_at_k(hits, []) is None


def test_symbol_recall_only_looks_at_top_k():
    syms = [Loc("a.py", 10, 20)]
    hits = [H(f"x{i}.py") for i in range(10)] + [H("a.py", 10, 20)]
    assert symbol_recall_at_k(hits, syms, k=10) == 0.0
    assert symbol_recall_at_k(hits, syms, k=11) == 1.0


# --- per query, per package, micro and macro ----------------------------------------------


def test_score_history_query_all_fields():
    hits = [H("t/test_a.py", 1, 30), H("a.py", 1, 400), H("a.py", 10, 20), H("b.py", 1, 9)]
    s = score_history_query("q1", hits, ["a.py", "b.py"], [Loc("a.py", 12, 18), Loc("b.py", 50, 60)], 3.0)
    assert (s.f1, s.f5, s.f10) == (0.0, 1.0, 1.0)
    assert s.mrr == 0.5
    assert s.s_strict == 0.5  # a.py 12-18 by the 10-20 hit; b.py 50-60 not overlapped
    assert s.s_lenient == 0.5
    assert s.latency_ms == 3.0


def _q(f1, mrr, s=None, ms=1.0):
    return QueryScore("q", f1, f1, f1, mrr, s, s, ms)


def test_micro_pools_queries_and_macro_averages_packages():
    per = {
        "p": [_q(1.0, 1.0, 1.0), _q(0.0, 0.5, None), _q(0.0, 0.0, 0.0)],
        "r": [_q(1.0, 1.0, 0.5)],
    }
    rows = summarize_packages(per, {"p": 2.0, "r": 1.0})
    assert rows["p"]["F@1"] == pytest.approx(1 / 3)
    assert rows["p"]["S!@10"] == pytest.approx(0.5)  # over the 2 queries with symbols
    assert rows["p"]["n_sym"] == 2
    assert rows["micro"]["F@1"] == pytest.approx(2 / 4)
    assert rows["micro"]["MRR"] == pytest.approx(2.5 / 4)
    assert rows["micro"]["S!@10"] == pytest.approx(1.5 / 3)
    assert rows["macro"]["F@1"] == pytest.approx((1 / 3 + 1) / 2)
    assert rows["macro"]["S!@10"] == pytest.approx((0.5 + 0.5) / 2)
    assert rows["micro"]["index s"] == 3.0
    assert rows["macro"]["index s"] == 1.5
    assert (rows["micro"]["n"], rows["micro"]["n_sym"]) == (4, 3)


def test_aggregate_without_symbol_queries_gives_nan():
    row = aggregate([_q(1.0, 1.0, None)])
    assert math.isnan(row["S!@10"])


def test_percentile_interpolates_like_numpy():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10, 20, 30, 40, 50], 95) == pytest.approx(48.0)
    assert percentile([7], 95) == 7


# --- CoSQA -----------------------------------------------------------------------------------


def test_cosqa_rank_and_scores():
    assert cosqa_rank([5, 3, 9], 3) == 2
    assert cosqa_rank([5, 3, 9], 4) is None
    ranks = [1, 2, 6, None, 11]
    s = cosqa_scores(ranks)
    assert s["R@1"] == pytest.approx(1 / 5)
    assert s["R@5"] == pytest.approx(2 / 5)
    assert s["R@10"] == pytest.approx(3 / 5)
    assert s["MRR"] == pytest.approx((1 + 1 / 2 + 1 / 6 + 0 + 1 / 11) / 5)
    assert cosqa_scores(ranks, mrr_cutoff=10)["MRR"] == pytest.approx((1 + 1 / 2 + 1 / 6) / 5)
