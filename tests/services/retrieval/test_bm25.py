"""Query-time BM25 (retrieval/bm25.py): bm25s's scores when everything is readable, and statistics taken
over the readable chunks only."""

from __future__ import annotations

import random

import bm25s
import numpy as np

from confluence_rag.retrieval.bm25 import Postings

VOCAB = 40


def corpus(rng: random.Random, docs: int) -> list[list[int]]:
    return [[rng.randrange(VOCAB) for _ in range(rng.randint(1, 25))] for _ in range(docs)]


def test_with_every_chunk_readable_scores_equal_bm25s() -> None:
    docs = corpus(random.Random(7), 200)
    reference = bm25s.BM25()
    reference.index((docs, {str(t): t for t in range(VOCAB)}), show_progress=False)
    postings = Postings(docs, VOCAB)
    for query in ([1, 2, 3], [5, 5, 9], [39]):
        expected = reference.get_scores(query)
        np.testing.assert_allclose(postings.scores(query), expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(postings.scores(query, np.ones(len(docs), np.float32)), expected, rtol=1e-5)


def test_statistics_come_from_the_readable_chunks_only() -> None:
    rng = random.Random(8)
    readable = corpus(rng, 50)
    alone = Postings(readable, VOCAB).scores([3, 4, 4, 11])
    for _ in range(5):  # the same readable chunks among ever different unreadable ones
        hidden = corpus(rng, rng.randint(1, 300))
        mixed = readable + hidden
        order = list(range(len(mixed)))
        rng.shuffle(order)
        weights = np.array([1.0 if i < len(readable) else 0.0 for i in order], dtype=np.float32)
        scores = Postings([mixed[i] for i in order], VOCAB).scores([3, 4, 4, 11], weights)
        assert np.array_equal(scores[np.argsort(order)][: len(readable)], alone)  # bit for bit
        assert not scores[weights == 0].any()
