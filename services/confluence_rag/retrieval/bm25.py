"""BM25 whose statistics are taken at query time over the chunks the reader may read.

An index that bakes document frequencies, the average length and N into its scores (bm25s does:
it stores one precomputed score per token and chunk) lets pages a reader cannot open move that
reader's scores: whoever may edit a readable page could learn whether a word appears in
restricted content by watching their own scores. Here the index keeps only the posting lists
(token → chunks, term frequencies) and the chunk lengths; each query computes N, the average
length and each query token's document frequency over its `weights` (the reader's readable
chunks), then scores with the same formula as bm25s's default (Lucene BM25, Kamphuis et al.
ECIR 2020: idf = ln(1 + (N - df + 0.5) / (df + 0.5)), tf part = tf / (tf + k1 (1 - b + b dl / avgdl))).
With every chunk readable the scores equal bm25s's. The cost per query is one pass over the
query tokens' posting lists (measured in `make bench-permissions`).
"""

from __future__ import annotations

import numpy as np

K1 = 1.5
B = 0.75


class Postings:
    """Posting lists of a tokenized corpus (CSR over tokens) and the length of every chunk."""

    def __init__(self, corpus: list[list[int]], vocab_size: int):
        lengths = np.fromiter((len(tokens) for tokens in corpus), dtype=np.int64, count=len(corpus))
        tokens = np.fromiter((t for doc in corpus for t in doc), dtype=np.int64, count=int(lengths.sum()))
        docs = np.repeat(np.arange(len(corpus), dtype=np.int64), lengths)
        # One entry per distinct (token, chunk), sorted by token then chunk; its count is the term frequency.
        pairs, tf = np.unique(tokens * max(len(corpus), 1) + docs, return_counts=True)
        pair_tokens = pairs // max(len(corpus), 1)
        self.chunks = (pairs % max(len(corpus), 1)).astype(np.int32)
        self.tf = tf.astype(np.float64)
        self.indptr = np.searchsorted(pair_tokens, np.arange(vocab_size + 1))
        self.lengths = lengths.astype(np.float64)
        self.vocab_size = vocab_size

    def scores(self, token_ids: list[int], weights: np.ndarray | None = None) -> np.ndarray:
        """BM25 of every chunk for the query tokens (repeats count again, as in bm25s), with N, the
        average length and document frequencies taken over the chunks whose weight is 1 (all chunks
        when None). Chunks of weight 0 score 0."""
        lengths = self.lengths
        n = float(len(lengths)) if weights is None else float(weights.sum(dtype=np.float64))
        scores = np.zeros(len(lengths), dtype=np.float64)
        if n == 0:
            return scores
        average = (lengths.sum() if weights is None else float(weights @ lengths)) / n
        for token in token_ids:
            start, end = self.indptr[token], self.indptr[token + 1]
            chunks, tf = self.chunks[start:end], self.tf[start:end]
            df = float(end - start) if weights is None else float(weights[chunks].sum(dtype=np.float64))
            if df == 0:
                continue
            idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
            scores[chunks] += idf * tf / (tf + K1 * (1 - B + B * lengths[chunks] / average))
        return scores if weights is None else scores * weights
