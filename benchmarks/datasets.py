"""The labelled sets of ../shared/data (or SHARED_DATA_DIR), served as Confluence pages by the REST fake.

`python -m benchmarks.datasets` checks they are there and says what is needed when not (`make eval` and
`make bench` run it first).

- piaf_dev / xquad_en pages: each paragraph of `text` becomes an HTML <p> (escaped).
- docs_piwigo_fr_en pages: Markdown rendered to HTML with markdown-it-py (CommonMark + tables).
  Their first line repeats the title as a `# Title` heading; Confluence shows the title apart
  from the body, so that heading is dropped.
- Titles are page titles (metadata), never inserted into the body. PIAF and XQuAD paragraphs of
  one article share its title, as child pages of one Confluence tree would not; the fake accepts it.
Gold page ids in questions.jsonl are mapped to the ids the fake gives the pages.
"""

from __future__ import annotations

import html
import json
import os
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from markdown_it import MarkdownIt

from tests.fakes.confluence import FakeConfluence

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO.parent / "shared" / "data"
PIWIGO = "docs_piwigo_fr_en"
# A fixed last-modified date: page content hashes (which include it) are then identical across
# runs, so a kept index (`--index-dir`) is reused without re-embedding anything.
PAGE_DATE = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


# What `make eval` and `make bench` read: folder -> files.
REQUIRED_FILES = {
    "piaf_dev": ("pages.jsonl", "questions.jsonl"),
    "xquad_en": ("pages.jsonl", "questions.jsonl"),
    PIWIGO: ("pages.jsonl",),
}


def data_dir() -> Path:
    return Path(os.environ.get("SHARED_DATA_DIR", DEFAULT_DATA_DIR))


def data_file(folder: str, name: str) -> Path:
    """The path of one data file; a clear exit (not a traceback) when it is missing."""
    path = data_dir() / folder / name
    if not path.is_file():
        raise SystemExit(
            f"Missing data file: {path}\n"
            "`make eval` and `make bench` read three openly licensed labelled sets: piaf_dev (French "
            "questions on Wikipedia paragraphs), xquad_en (English) and docs_piwigo_fr_en (how-to pages), "
            "each a folder with pages.jsonl (and questions.jsonl for the first two), from ../shared/data "
            "beside the repository or from the folder SHARED_DATA_DIR names. docs/eval/README.md says where "
            "they come from and their format. A small excerpt ships with the tests: "
            "SHARED_DATA_DIR=tests/fixtures/data runs on it (its figures are not comparable)."
        )
    return path


def check_data() -> None:
    for folder, names in REQUIRED_FILES.items():
        for name in names:
            data_file(folder, name)


# The labelled dev sets of `make eval` and the Confluence space each is served as.
SETS = {"piaf_dev": "PIAF", "xquad_en": "XQUAD"}


@dataclass
class Question:
    qid: str
    question: str
    gold: list[str]  # shared page ids
    answerable: bool
    lang: str
    answers: tuple[str, ...] = ()  # reference answers, as written in the gold paragraph
    passage: str = ""  # the gold paragraph's text (set when articles are merged: the page holds more)


@dataclass
class DataPage:
    page_id: str
    title: str
    text: str
    lang: str
    source: str  # folder name


@dataclass
class EvalSet:
    """One evaluation corpus: a labelled set plus distractors, served as one Confluence space."""

    name: str
    space: str
    pages: list[DataPage]
    questions: list[Question]
    fake_ids: dict[str, str] = field(default_factory=dict)  # shared page id -> fake page id

    def gold_fake_ids(self, question: Question) -> list[str]:
        return [self.fake_ids[g] for g in question.gold]


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_pages(folder: str) -> list[DataPage]:
    rows = read_jsonl(data_file(folder, "pages.jsonl"))
    return [DataPage(r["page_id"], r["title"], r["text"], r.get("lang", ""), folder) for r in rows]


def load_questions(folder: str) -> list[Question]:
    rows = read_jsonl(data_file(folder, "questions.jsonl"))
    return [
        Question(
            r["qid"],
            r["question"],
            list(r["gold_page_ids"]),
            bool(r.get("answerable", True)),
            r.get("lang", ""),
            tuple(r.get("reference_answers") or ()),
        )
        for r in rows
    ]


_md = MarkdownIt("commonmark", {"html": False}).enable("table")


def paragraphs_html(text: str) -> str:
    paras = [p.strip() for p in re.split(r"\n\s*\n|\n", text) if p.strip()]
    return "\n".join(f"<p>{html.escape(p)}</p>" for p in paras)


def markdown_html(text: str, title: str) -> str:
    lines = text.lstrip().splitlines()
    if lines and lines[0].startswith("# ") and lines[0][2:].strip().rstrip("?").strip() == title.rstrip("?").strip():
        lines = lines[1:]
    return _md.render("\n".join(lines))


def page_html(page: DataPage) -> str:
    return markdown_html(page.text, page.title) if page.source == PIWIGO else paragraphs_html(page.text)


def eval_set(folder: str, space: str, *, distractors: int | None = None, merge_articles: bool = False) -> EvalSet:
    """The set's pages plus the first `distractors` piwigo pages (None: all 171; 0: none).

    Fewer distractors make every mode's task easier alike: compare models on the same number only.
    `merge_articles`: one page per article (its paragraphs in file order, blank-line separated)
    instead of one per paragraph, the gold page being the article: pages of several chunks, where
    the chunk size decides what a chunk holds (the paragraph sets alone fit one chunk per page).
    """
    pages, questions = load_pages(folder), load_questions(folder)
    if merge_articles:
        pages, questions = _merged_by_article(pages, questions)
    return EvalSet(folder, space, pages + (load_pages(PIWIGO)[:distractors] if distractors != 0 else []), questions)


def _merged_by_article(pages: list[DataPage], questions: list[Question]) -> tuple[list[DataPage], list[Question]]:
    articles: dict[str, list[DataPage]] = {}
    for page in pages:
        articles.setdefault(page.title, []).append(page)
    merged, article_of = [], {}
    for title, parts in articles.items():
        first = parts[0]
        merged.append(DataPage(first.page_id, title, "\n\n".join(p.text for p in parts), first.lang, first.source))
        article_of.update({p.page_id: first.page_id for p in parts})
    text_of = {p.page_id: p.text for p in pages}
    moved = [
        replace(q, gold=[article_of[g] for g in q.gold], passage=text_of[q.gold[0]] if q.gold else "")
        for q in questions
    ]
    return merged, moved


def serve(fake: FakeConfluence, evalset: EvalSet) -> None:
    """Add the set's pages to the fake as one space and record the fake ids."""
    fake.add_space(evalset.space, evalset.name)
    for page in evalset.pages:
        added = fake.add_page(evalset.space, page.title, page_html(page), when=PAGE_DATE)
        evalset.fake_ids[page.page_id] = added.id


def sample(questions: list[Question], limit: int | None) -> list[Question]:
    """`limit` questions spread evenly over the file (which is ordered by article)."""
    if not limit or limit >= len(questions):
        return questions
    step = len(questions) / limit
    return [questions[int(i * step)] for i in range(limit)]


def split_questions(questions: list[Question], part: str) -> list[Question]:
    """`tune` = the first half (in file order), `heldout` = the second half, `all` = everything."""
    half = len(questions) // 2
    return {"tune": questions[:half], "heldout": questions[half:], "all": questions}[part]


if __name__ == "__main__":
    check_data()
    print(f"labelled data: {data_dir()}")
