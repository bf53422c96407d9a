"""Issue 18 point 7 on the corpus: the hybrid against each retriever alone (runs `benchmarks/sections.py`:
the real conversion, chunking, embedding model and search over the corpus' pages, ~1 min).

On short and on long pages, with the default settings, the hybrid ranks the right page first, in its
top 5 and by MRR@10, and cites the right section in its top 5, at least as well as either retriever
alone, and never returns a table of contents. With the former weights (vector 0.6 / keyword 0.4) it
lost two long-guide pages and one section to vector search (docs/eval/sections.md). The held-out
pages are left out on purpose: a test on them would make them a tuning target.
"""

import pytest

from benchmarks import sections


@pytest.fixture(scope="module")
def result() -> dict:
    return sections.evaluate()


@pytest.mark.parametrize("group", ["short", "long"])
@pytest.mark.parametrize("score", ["hit@1", "hit@5", "mrr@10", "anchor@5"])
def test_the_hybrid_does_at_least_as_well_as_either_retriever(result, group, score):
    modes = result["by_group"][group]
    best_single = max(modes["keyword"][score], modes["vector"][score])
    assert modes["hybrid"][score] >= best_single, (group, score, modes)


def test_no_table_of_contents_is_returned(result):
    assert all(mode["toc@5"] == 0 for mode in result["modes"].values()), result["modes"]
