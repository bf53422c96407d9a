"""Scoring of the section questions (benchmarks/sections.py) and the questions file itself."""

import json

from benchmarks.sections import CORPUS, GROUPS, Cited, group_of, score, summarise
from confluence_rag.ingestion.html_to_markdown import html_to_markdown


def test_a_section_is_cited_only_when_its_page_result_carries_its_anchor_and_heading():
    results = [
        Cited("9", "https://w/9#Other", "Other", "text"),
        Cited("1", "https://w/1#P-Setup", "Setup", "- [Setup](#P-Setup)\n- [Usage](#P-Usage)"),
    ]
    scores = score(results, "1", "P-Setup", "Setup")
    assert scores == {"hit@1": 0.0, "hit@5": 1.0, "mrr@10": 0.5, "anchor@5": 1.0, "heading@5": 1.0, "toc@5": 1.0}
    missed = score(results, "1", "P-Usage", "Usage")
    assert missed["anchor@5"] == 0.0 and missed["heading@5"] == 0.0
    assert score(results, "7", "X", "X")["anchor@5"] == 0.0


def test_every_question_points_at_a_heading_of_its_page():
    pages = json.loads((CORPUS / "pages.json").read_text(encoding="utf-8"))
    questions = json.loads((CORPUS / "sections.json").read_text(encoding="utf-8"))
    assert len(questions) >= 30 and len({q["qid"] for q in questions}) == len(questions)
    for q in questions:
        assert q["page"] in pages
        anchors = html_to_markdown((CORPUS / q["page"]).read_text(encoding="utf-8")).anchors
        assert (q["heading"], q["anchor"]) in anchors, q


def test_the_section_eval_reports_short_long_and_held_out_pages_apart():
    pages = json.loads((CORPUS / "pages.json").read_text(encoding="utf-8"))
    questions = json.loads((CORPUS / "sections.json").read_text(encoding="utf-8"))
    asked = {group_of(pages[q["page"]]) for q in questions}
    assert asked == set(GROUPS), "the corpus must hold questions on short, long and held-out pages"

    hit = score([Cited("1", "https://w/1#A", "A", "x")], "1", "A", "A")
    miss = score([Cited("9", "https://w/9", "", "x")], "1", "A", "A")
    summary = summarise([("short", hit), ("long", miss), ("long", hit)])
    assert summary["all"]["hit@1"] == round(2 / 3, 4)
    assert summary["short"]["hit@1"] == 1.0 and summary["long"]["hit@1"] == 0.5
    assert summary["long"]["anchor@5"] == 0.5


def test_held_out_pages_are_long_dc_guides_asked_once_per_top_level_section():
    pages = json.loads((CORPUS / "pages.json").read_text(encoding="utf-8"))
    questions = json.loads((CORPUS / "sections.json").read_text(encoding="utf-8"))
    held_out = {name for name, page in pages.items() if page.get("heldout", False)}
    assert len(held_out) >= 3, "the fusion is checked on long pages written by others"
    for name in held_out:
        assert pages[name]["length"] == "long" and pages[name]["rendering"] == "dc", name
        html = (CORPUS / name).read_text(encoding="utf-8")
        sections = html.count("<h2 ")
        asked = sum(q["page"] == name for q in questions)
        assert 6 <= sections <= 10 and asked == sections, (name, sections, asked)
