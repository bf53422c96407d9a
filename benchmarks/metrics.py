"""Page-level ranking metrics for questions that have exactly one gold page (or a few).

A ranking is the list of page ids a search returned, best first (already one entry per page).
Every function returns a value in [0, 1] for one question; `aggregate` averages them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

METRICS = ("hit@1", "hit@5", "hit@10", "mrr@10", "ndcg@10")


def first_relevant_rank(ranking: Sequence[str], gold: Iterable[str]) -> int | None:
    """1-based rank of the first gold page in `ranking`, or None when it is absent."""
    gold = set(gold)
    for rank, page_id in enumerate(ranking, start=1):
        if page_id in gold:
            return rank
    return None


def hit_at_k(ranking: Sequence[str], gold: Iterable[str], k: int) -> float:
    """1.0 when a gold page is among the first k results."""
    rank = first_relevant_rank(ranking, gold)
    return 1.0 if rank is not None and rank <= k else 0.0


def mrr_at_k(ranking: Sequence[str], gold: Iterable[str], k: int = 10) -> float:
    """Reciprocal rank of the first gold page, 0 when it is not in the first k."""
    rank = first_relevant_rank(ranking, gold)
    return 1.0 / rank if rank is not None and rank <= k else 0.0


def ndcg_at_k(ranking: Sequence[str], gold: Iterable[str], k: int = 10) -> float:
    """Binary-relevance nDCG@k: DCG of the ranking over DCG of an ideal one.

    With a single gold page this is 1 / log2(rank + 1) when it is in the first k, else 0.
    Duplicated page ids count once (the first time).
    """
    gold = set(gold)
    if not gold:
        return 0.0
    seen: set[str] = set()
    dcg = 0.0
    for rank, page_id in enumerate(ranking[:k], start=1):
        if page_id in gold and page_id not in seen:
            dcg += 1.0 / math.log2(rank + 1)
        seen.add(page_id)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(gold), k) + 1))
    return dcg / ideal


def question_metrics(ranking: Sequence[str], gold: Iterable[str]) -> dict[str, float]:
    gold = list(gold)
    return {
        "hit@1": hit_at_k(ranking, gold, 1),
        "hit@5": hit_at_k(ranking, gold, 5),
        "hit@10": hit_at_k(ranking, gold, 10),
        "mrr@10": mrr_at_k(ranking, gold, 10),
        "ndcg@10": ndcg_at_k(ranking, gold, 10),
    }


def paired_se(a: Sequence[dict[str, float]], b: Sequence[dict[str, float]], metric: str, rounds: int = 1000) -> float:
    """Bootstrap standard error of mean(a) - mean(b) over the same questions: the noise of a margin
    measured on this sample of questions (resampled with replacement, fixed seed)."""
    import numpy as np

    diff = np.array([x[metric] - y[metric] for x, y in zip(a, b, strict=True)])
    if len(diff) == 0:
        return 0.0
    rng = np.random.default_rng(0)
    return float(np.std([diff[rng.integers(0, len(diff), len(diff))].mean() for _ in range(rounds)]))


def aggregate(per_question: Iterable[dict[str, float]]) -> dict[str, float]:
    """Mean of each metric over questions (0.0 for every metric when there are none)."""
    rows = list(per_question)
    if not rows:
        return dict.fromkeys(METRICS, 0.0)
    return {name: sum(row[name] for row in rows) / len(rows) for name in METRICS}
