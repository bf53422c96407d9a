"""Issue 18 point 7 on the corpus: the hybrid against each retriever alone (runs `benchmarks/sections.py`:
the real conversion, chunking, embedding model and search over the corpus' pages, ~1 min).

What holds and is guarded here: on short and on long pages the hybrid ranks the right page first at
least as often as either retriever and has at least their MRR@10, and on short pages it cites the
right section at least as often. What does not hold (docs/eval/sections.md): on the long guides it
misses 2 of 52 pages in its top 5 that vector search finds, and cites 1 section fewer. The
held-out pages are left out on purpose: a test on them would make them a tuning target.
"""

import pytest

from benchmarks import sections


@pytest.fixture(scope="module")
def result() -> dict:
    return sections.evaluate()


def _best_single(modes: dict, score: str) -> float:
    return max(modes["keyword"][score], modes["vector"][score])


@pytest.mark.parametrize("group", ["short", "long"])
def test_the_hybrid_ranks_the_page_at_least_as_well_as_either_retriever(result, group):
    modes = result["by_group"][group]
    for score in ("hit@1", "mrr@10"):
        assert modes["hybrid"][score] >= _best_single(modes, score), (group, score, modes)


def test_on_short_pages_the_hybrid_cites_the_section_at_least_as_often(result):
    modes = result["by_group"]["short"]
    for score in ("hit@5", "anchor@5"):
        assert modes["hybrid"][score] >= _best_single(modes, score), (score, modes)
    assert result["modes"]["hybrid"]["toc@5"] == 0
