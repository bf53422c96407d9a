"""The evaluation sets as the benchmarks build them (here from the excerpts in tests/fixtures/data)."""

import os
import subprocess
import sys
from pathlib import Path

from benchmarks.datasets import eval_set
from tests.conftest import REPO


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
        # The passage eval finds the answer where the gold paragraph has it (benchmarks/passages.py).
        assert after.passage == paragraph_pages[paragraph].text and after.answers == before.answers
    assert all(q.answers for q in merged.questions if q.answerable)


def test_make_eval_and_bench_say_what_data_they_need_when_it_is_missing(tmp_path: Path):
    """A user's clone has no ../shared beside it: the targets stop at once with a message, not a traceback."""
    env = {**os.environ, "SHARED_DATA_DIR": str(tmp_path / "none")}
    check = subprocess.run(
        [sys.executable, "-m", "benchmarks.datasets"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert check.returncode != 0
    assert "Traceback" not in check.stderr
    for needed in ("piaf_dev", "xquad_en", "docs_piwigo_fr_en", "pages.jsonl", "SHARED_DATA_DIR", "../shared/data"):
        assert needed in check.stderr, needed
    # Both targets run that check before anything else.
    for target in ("eval", "bench", "bench-query", "bench-permissions"):
        dry = subprocess.run(["make", "-n", target], cwd=REPO, capture_output=True, text=True, timeout=60).stdout
        commands = [line for line in dry.splitlines() if "-m benchmarks." in line]
        assert commands and commands[0].endswith("-m benchmarks.datasets"), (target, commands)
