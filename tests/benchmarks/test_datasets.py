"""The evaluation sets as the benchmarks build them from ../shared/data."""

from benchmarks.datasets import eval_set


def test_merged_articles_keep_each_gold_paragraph_on_its_gold_page():
    merged = eval_set("piaf_dev", "PIAF", distractors=0, merge_articles=True)
    paragraphs = eval_set("piaf_dev", "PIAF", distractors=0)
    merged_pages = {p.page_id: p for p in merged.pages}
    paragraph_pages = {p.page_id: p for p in paragraphs.pages}
    assert len(merged_pages) < len(paragraph_pages)  # one page per article, several paragraphs each
    assert {p.title for p in merged.pages} == {p.title for p in paragraphs.pages}
    assert [q.qid for q in merged.questions] == [q.qid for q in paragraphs.questions]
    for before, after in zip(paragraphs.questions, merged.questions, strict=True):
        (paragraph,), (article,) = before.gold, after.gold
        assert paragraph_pages[paragraph].text in merged_pages[article].text
        assert merged_pages[article].title == paragraph_pages[paragraph].title
