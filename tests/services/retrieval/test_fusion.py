"""The hybrid score fusion tuned by `make eval` (pure function, no index needed)."""

from __future__ import annotations

import pytest

from confluence_rag.retrieval.search import _Candidate, fuse_scores


def cand(cid: str, score: float, cosine: float | None = None) -> _Candidate:
    return _Candidate(cid, f"text {cid}", {"page_id": cid.split("#")[0]}, score, cosine)


def test_each_score_is_scaled_by_its_spread_over_the_union_then_weighted():
    keyword = [cand("a#0", 10.0, 0.30), cand("b#0", 5.0, 0.50)]
    vector = [cand("c#0", 0.9, 0.70), cand("b#0", 0.8, 0.50)]
    fused = {c.chunk_id: c.score for c in fuse_scores(keyword, vector, keyword_weight=3, vector_weight=1)}
    # BM25 over the union (a, b, c) = 10, 5, 0: mean 5, sigma sqrt(50/3); cosines 0.3, 0.5, 0.7: mean
    # 0.5, sigma sqrt(0.08/3). x -> (x - (mean - 3 sigma)) / (6 sigma): the ends give 1/2 ± 1/sqrt(24).
    high, low = 0.5 + 1 / 24**0.5, 0.5 - 1 / 24**0.5
    assert fused["a#0"] == pytest.approx(0.75 * high + 0.25 * low)
    assert fused["b#0"] == pytest.approx(0.75 * 0.5 + 0.25 * 0.5)
    assert fused["c#0"] == pytest.approx(0.75 * low + 0.25 * high)
    assert [c.chunk_id for c in fuse_scores(keyword, vector, 3, 1)] == ["a#0", "b#0", "c#0"]


def test_weights_decide_between_the_retrievers():
    keyword = [cand("a#0", 10.0, 0.2), cand("b#0", 9.0, 0.8)]
    vector = [cand("b#0", 0.9, 0.8)]
    assert fuse_scores(keyword, vector, 1.0, 0.0)[0].chunk_id == "a#0"
    assert fuse_scores(keyword, vector, 0.4, 0.6)[0].chunk_id == "b#0"


def test_unknown_cosine_counts_as_the_lowest_and_empty_lists_work():
    keyword = [cand("a#0", 4.0, None), cand("b#0", 2.0, 0.6), cand("c#0", 1.0, 0.4)]
    fused = {c.chunk_id: c.score for c in fuse_scores(keyword, [], 0.75, 0.25)}
    with_lowest = {c.chunk_id: c.score for c in fuse_scores([cand("a#0", 4.0, 0.4), *keyword[1:]], [], 0.75, 0.25)}
    assert fused == pytest.approx(with_lowest)
    equal = fuse_scores([cand("a#0", 2.0, 0.5), cand("b#0", 2.0, 0.5)], [], 0.75, 0.25)
    assert [c.score for c in equal] == [pytest.approx(0.5)] * 2  # equal scores: no spread, no preference
    assert [c.chunk_id for c in fuse_scores([], [cand("v#0", 0.5, 0.4), cand("w#0", 0.4, 0.2)], 0.75, 0.25)] == [
        "v#0",
        "w#0",
    ]
    assert fuse_scores([], [], 0.75, 0.25) == []
