"""The hybrid score fusion tuned by `make eval` (pure function, no index needed)."""

from __future__ import annotations

import pytest

from confluence_rag.retrieval.search import _Candidate, fuse_scores


def cand(cid: str, score: float, cosine: float | None = None) -> _Candidate:
    return _Candidate(cid, f"text {cid}", {"page_id": cid.split("#")[0]}, score, cosine)


def test_scores_are_a_convex_combination_of_normalised_bm25_and_cosine():
    keyword = [cand("a#0", 10.0, 0.30), cand("b#0", 5.0, 0.50)]
    vector = [cand("c#0", 0.9, 0.70), cand("b#0", 0.8, 0.50)]
    fused = {c.chunk_id: c.score for c in fuse_scores(keyword, vector, keyword_weight=3, vector_weight=1)}
    # BM25 / best: a 1.0, b 0.5, c 0; cosine min-max over the union (0.30 .. 0.70): a 0, b 0.5, c 1.
    assert fused["a#0"] == pytest.approx(0.75 * 1.0 + 0.25 * 0.0)
    assert fused["b#0"] == pytest.approx(0.75 * 0.5 + 0.25 * 0.5)
    assert fused["c#0"] == pytest.approx(0.25 * 1.0)
    assert [c.chunk_id for c in fuse_scores(keyword, vector, 3, 1)] == ["a#0", "b#0", "c#0"]


def test_weights_decide_between_the_retrievers():
    keyword = [cand("a#0", 10.0, 0.2), cand("b#0", 9.0, 0.8)]
    vector = [cand("b#0", 0.9, 0.8)]
    assert fuse_scores(keyword, vector, 1.0, 0.0)[0].chunk_id == "a#0"
    assert fuse_scores(keyword, vector, 0.5, 0.5)[0].chunk_id == "b#0"


def test_unknown_cosine_counts_as_zero_and_empty_lists_work():
    keyword = [cand("a#0", 4.0, None), cand("b#0", 2.0, 0.6)]
    fused = fuse_scores(keyword, [], 0.75, 0.25)
    assert [c.chunk_id for c in fused] == ["a#0", "b#0"]
    assert fused[1].score == pytest.approx(0.75 * 0.5 + 0.25 * 1.0)  # a single known cosine scales to 1
    assert [c.chunk_id for c in fuse_scores([], [cand("v#0", 0.5, 0.4), cand("w#0", 0.4, 0.2)], 0.75, 0.25)] == [
        "v#0",
        "w#0",
    ]
    assert fuse_scores([], [], 0.75, 0.25) == []
