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
    """Posting lists of a tokenized corpus (CSR over tokens): per entry its chunk, term frequency and
    the chunk's length (stored per entry, so a query reads each list sequentially)."""

    def __init__(self, corpus: list[list[int]], vocab_size: int):
        lengths = np.fromiter((len(tokens) for tokens in corpus), dtype=np.int64, count=len(corpus))
        tokens = np.fromiter((t for doc in corpus for t in doc), dtype=np.int64, count=int(lengths.sum()))
        docs = np.repeat(np.arange(len(corpus), dtype=np.int64), lengths)
        # One entry per distinct (token, chunk), sorted by token then chunk; its count is the term frequency.
        width = max(len(corpus), 1)
        pairs, tf = np.unique(tokens * width + docs, return_counts=True)
        self.chunks = (pairs % width).astype(np.int32)
        self.tf = tf.astype(np.float32)
        self.entry_lengths = lengths[self.chunks].astype(np.float32)
        self.indptr = np.searchsorted(pairs // width, np.arange(vocab_size + 1))
        self.lengths = lengths.astype(np.float64)
        self.vocab_size = vocab_size

    def scores(self, token_ids: list[int], weights: np.ndarray | None = None) -> np.ndarray:
        """BM25 of every chunk for the query tokens (repeats count again, as in bm25s), with N, the
        average length and document frequencies taken over the chunks whose weight is 1 (all chunks
        when None). Chunks of weight 0 score 0. Each chunk's score depends only on its own entries and
        these statistics, so it is the same bit for bit whatever else the index holds."""
        count = len(self.lengths)
        n = float(count) if weights is None else float(weights.sum(dtype=np.float64))
        if n == 0:
            return np.zeros(count, dtype=np.float64)
        # A sum of integers in float64: exact, so independent of the order and of the other chunks.
        # (Not a dot product: BLAS threads cost tens of ms on a busy machine.)
        total = self.lengths.sum() if weights is None else (self.lengths * weights).sum()
        average = float(total) / n
        chunks, parts = [], []
        for token in token_ids:
            start, end = self.indptr[token], self.indptr[token + 1]
            entries = self.chunks[start:end]
            df = float(end - start) if weights is None else float(np.count_nonzero(weights[entries]))
            if df == 0:
                continue
            idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
            tf = self.tf[start:end]
            chunks.append(entries)
            parts.append(idf * tf / (tf + K1 * (1 - B + B * self.entry_lengths[start:end] / average)))
        if not chunks:
            return np.zeros(count, dtype=np.float64)
        # One pass adds every token's part (in query order) to its chunk.
        scores = np.bincount(np.concatenate(chunks), weights=np.concatenate(parts), minlength=count)
        return scores if weights is None else scores * weights
