"""The eval's ranking metrics on hand-made rankings (fast; the eval itself is `make eval`)."""

from __future__ import annotations

import math

import pytest

from benchmarks.metrics import (
    aggregate,
    first_relevant_rank,
    hit_at_k,
    mrr_at_k,
    ndcg_at_k,
    paired_se,
    question_metrics,
)

RANKING = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"]


@pytest.mark.parametrize(
    ("gold", "rank"),
    [(["a"], 1), (["c"], 3), (["k"], 11), (["zz"], None), (["e", "b"], 2)],
)
def test_first_relevant_rank(gold, rank):
    assert first_relevant_rank(RANKING, gold) == rank


def test_hit_at_k_counts_the_gold_page_only_within_k():
    assert hit_at_k(RANKING, ["a"], 1) == 1.0
    assert hit_at_k(RANKING, ["b"], 1) == 0.0
    assert hit_at_k(RANKING, ["e"], 5) == 1.0
    assert hit_at_k(RANKING, ["f"], 5) == 0.0
    assert hit_at_k(RANKING, ["j"], 10) == 1.0
    assert hit_at_k(RANKING, ["k"], 10) == 0.0
    assert hit_at_k([], ["a"], 10) == 0.0


def test_mrr_is_the_reciprocal_of_the_first_gold_rank_cut_at_k():
    assert mrr_at_k(RANKING, ["a"]) == 1.0
    assert mrr_at_k(RANKING, ["d"]) == pytest.approx(0.25)
    assert mrr_at_k(RANKING, ["j"]) == pytest.approx(0.1)
    assert mrr_at_k(RANKING, ["k"]) == 0.0  # rank 11 is past MRR@10
    assert mrr_at_k(RANKING, ["c", "h"]) == pytest.approx(1 / 3)


def test_ndcg_with_one_gold_page():
    assert ndcg_at_k(RANKING, ["a"]) == 1.0
    assert ndcg_at_k(RANKING, ["b"]) == pytest.approx(1 / math.log2(3))
    assert ndcg_at_k(RANKING, ["j"]) == pytest.approx(1 / math.log2(11))
    assert ndcg_at_k(RANKING, ["k"]) == 0.0
    assert ndcg_at_k(RANKING, []) == 0.0


def test_ndcg_with_two_gold_pages_is_normalised_by_the_ideal_ranking():
    ideal = 1 + 1 / math.log2(3)
    assert ndcg_at_k(["x", "y", "z"], ["x", "y"]) == pytest.approx(1.0)
    assert ndcg_at_k(["x", "q", "y"], ["x", "y"]) == pytest.approx((1 + 1 / math.log2(4)) / ideal)
    # A page listed twice counts once.
    assert ndcg_at_k(["x", "x", "q"], ["x", "y"]) == pytest.approx(1 / ideal)


def test_question_metrics_and_aggregate():
    first = question_metrics(["p1", "p2", "p3"], ["p1"])
    third = question_metrics(["p1", "p2", "p3"], ["p3"])
    missing = question_metrics(["p1", "p2", "p3"], ["p9"])
    assert first == {"hit@1": 1.0, "hit@5": 1.0, "hit@10": 1.0, "mrr@10": 1.0, "ndcg@10": 1.0}
    assert third["hit@1"] == 0.0 and third["hit@5"] == 1.0 and third["mrr@10"] == pytest.approx(1 / 3)
    mean = aggregate([first, third, missing])
    assert mean["hit@1"] == pytest.approx(1 / 3)
    assert mean["hit@5"] == pytest.approx(2 / 3)
    assert mean["mrr@10"] == pytest.approx((1 + 1 / 3) / 3)
    assert mean["ndcg@10"] == pytest.approx((1 + 0.5) / 3)
    assert aggregate([]) == {"hit@1": 0.0, "hit@5": 0.0, "hit@10": 0.0, "mrr@10": 0.0, "ndcg@10": 0.0}


def test_paired_se_is_the_noise_of_a_margin_not_of_each_side():
    # The same questions answered the same way: no margin, no noise, however noisy each side is.
    mixed = [{"hit@1": float(i % 2)} for i in range(400)]
    assert paired_se(mixed, mixed, "hit@1") == 0.0
    # b wins a quarter of the questions a loses: the margin's SE is that of a 0/1 mean with p = 1/4.
    a = [{"hit@1": 1.0} for _ in range(400)]
    b = [{"hit@1": 0.0 if i % 4 == 0 else 1.0} for i in range(400)]
    assert paired_se(a, b, "hit@1") == pytest.approx(math.sqrt(0.25 * 0.75 / 400), rel=0.15)
