"""`make eval`, section part: do answers land on the section that holds them?

Corpus: the real Confluence bodies of `tests/fixtures/confluence_bodies` (`pages.json`), each served
by the REST fake as its export_view body (one space) and ingested through the real path
(`ingest_space` → conversion → chunking → embedding → embedded Chroma in a temp dir). Questions
(`sections.json`) are each about one section of one page; every question goes through
`SearchService.search(question, top_k=10, mode=...)` in the three modes and is scored on:
  - hit@1 / hit@5 / MRR@10: the page (one result per page);
  - anchor@5: the page is in the first 5 and its result cites `url#<that section's id>`;
  - heading@5: the page is in the first 5 and its result names that section's heading;
  - toc@5: results in the first 5 whose text is a table of contents (`[…](#…)` links), summed.
Scores are given over all questions and apart per group of pages (`group_of`): short pages, long
ones (administrative guides of several sections, `length` in `pages.json`, where fusion on long
pages matters) and the held-out long guides written by others (`heldout` in `pages.json`), whose
questions were written without seeing any ranking and are never used to tune the fusion.

    .venv/bin/python -m benchmarks.sections              # writes docs/eval/sections.md and sections_results.json
    .venv/bin/python -m benchmarks.sections --no-write   # prints only
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks import harness
from benchmarks.datasets import REPO
from benchmarks.harness import say
from benchmarks.metrics import first_relevant_rank, hit_at_k, mrr_at_k
from tests.fakes.confluence import FakeConfluence

CORPUS = REPO / "tests" / "fixtures" / "confluence_bodies"
NOTES = Path(__file__).with_name("sections_notes.md")
MODES = ("keyword", "vector", "hybrid")
SCORES = ("hit@1", "hit@5", "mrr@10", "anchor@5", "heading@5", "toc@5")
GROUPS = ("short", "long", "held-out")
GROUP_SCORES = ("hit@1", "hit@5", "mrr@10", "anchor@5")
SPACE = "BODIES"
TOC_LINK = re.compile(r"\]\(#")


@dataclass
class Cited:
    """What one search result says: its page, the URL it cites, the heading it names, its text."""

    page_id: str
    url: str
    heading: str
    text: str


def score(results: list[Cited], page_id: str, anchor: str, heading: str) -> dict[str, float]:
    """One question's scores (see the module docstring); `page_id` is the gold page."""
    ranking = [r.page_id for r in results]
    rank = first_relevant_rank(ranking, [page_id])
    found = results[rank - 1] if rank is not None and rank <= 5 else None
    return {
        "hit@1": hit_at_k(ranking, [page_id], 1),
        "hit@5": hit_at_k(ranking, [page_id], 5),
        "mrr@10": mrr_at_k(ranking, [page_id], 10),
        "anchor@5": float(found is not None and found.url.endswith(f"#{anchor}")),
        "heading@5": float(found is not None and found.heading == heading),
        "toc@5": float(sum(bool(TOC_LINK.search(r.text)) for r in results[:5])),
    }


def summarise(rows: list[tuple[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Mean scores (toc@5 summed) of (group, scores) rows: over all rows and per group."""
    groups = {"all": [r for _, r in rows]} | {n: [r for group, r in rows if group == n] for n in GROUPS}
    return {
        name: {s: round(sum(r[s] for r in group) / (1 if s == "toc@5" else max(len(group), 1)), 4) for s in SCORES}
        for name, group in groups.items()
    }


def group_of(page: dict) -> str:
    """A page's group in the report: `held-out` when marked so, else its length (`short`/`long`)."""
    return "held-out" if page.get("heldout") else page["length"]


def serve(fake: FakeConfluence) -> dict[str, str]:
    """The corpus as one space of the fake; file name → fake page id."""
    pages = json.loads((CORPUS / "pages.json").read_text(encoding="utf-8"))
    fake.add_space(SPACE, "Confluence bodies")
    ids = {}
    for name, page in pages.items():
        html = (CORPUS / name).read_text(encoding="utf-8")
        ids[name] = fake.add_page(SPACE, page["title"], html).id
    return ids


def evaluate(top_k: int = 10) -> dict:
    from confluence_rag.retrieval.search import SearchService

    started = time.perf_counter()
    info = harness.machine()
    questions = json.loads((CORPUS / "sections.json").read_text(encoding="utf-8"))
    pages = json.loads((CORPUS / "pages.json").read_text(encoding="utf-8"))
    fake = FakeConfluence(cloud=True, page_cap=100)
    ids = serve(fake)
    fake.start()
    workdir = Path(tempfile.mkdtemp(prefix="confluence-rag-sections-"))
    try:
        ing = harness.ingest(fake, workdir, SPACE)
        service = SearchService(ing.components)
        service.search("warm-up", top_k=top_k)  # builds the keyword index
        modes: dict[str, dict[str, float]] = {}
        by_group: dict[str, dict[str, dict[str, float]]] = {n: {} for n in GROUPS}
        misses: dict[str, list[str]] = {}
        for mode in MODES:
            rows = []
            for q in questions:
                found = service.search(q["question"], top_k=top_k, mode=mode)
                cited = [Cited(r.page_id, r.url, r.heading, r.text) for r in found]
                rows.append((group_of(pages[q["page"]]), score(cited, ids[q["page"]], q["anchor"], q["heading"])))
                if not rows[-1][1]["anchor@5"]:
                    misses.setdefault(mode, []).append(q["qid"])
            summary = summarise(rows)
            modes[mode] = summary["all"]
            for group in GROUPS:
                by_group[group][mode] = summary[group]
            say(f"[sections] {mode:8s} " + "  ".join(f"{s} {modes[mode][s]:.3f}" for s in SCORES))
        return {
            "machine": info,
            "settings": harness.settings_summary(ing.components.settings),
            "pages": len(ids),
            "chunks": ing.components.store().collection.count(),
            "questions": len(questions),
            "questions_by_group": {n: sum(group_of(pages[q["page"]]) == n for q in questions) for n in GROUPS},
            "top_k": top_k,
            "modes": modes,
            "by_group": by_group,
            "anchor_misses": misses,
            "duration_s": round(time.perf_counter() - started, 1),
        }
    finally:
        fake.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def markdown(result: dict) -> str:
    info, st = result["machine"], result["settings"]
    lines = [
        "# Section citations on real Confluence bodies (`make eval`)",
        "",
        "Generated by `benchmarks/sections.py`; the notes below the table come from",
        "`benchmarks/sections_notes.md`.",
        "",
        f"- Date: {info['date']}; commit {info['git_commit']}; {info['cores']} cores, CPU only; "
        f"run took {result['duration_s']:.0f} s.",
        harness.settings_line(st, f"; top_k {result['top_k']}."),
        f"- Corpus: {result['pages']} pages of `tests/fixtures/confluence_bodies` → {result['chunks']} chunks; "
        f"{result['questions']} questions, each about one section (`sections.json`).",
        "- anchor@5 / heading@5: the gold page is in the first 5 and its result cites the section's own "
        "anchor / names its heading; toc@5: table-of-contents results in the first 5, summed over all questions.",
        "",
        "| mode | " + " | ".join(SCORES) + " |",
        "|---|" + "---|" * len(SCORES),
    ]
    for mode, vals in result["modes"].items():
        cells = [f"{vals[s]:.0f}" if s == "toc@5" else f"{vals[s]:.3f}" for s in SCORES]
        lines.append(f"| {mode} | " + " | ".join(cells) + " |")
    lines += ["", "Hybrid minus the better single mode: " + harness.margin_line(result["modes"], SCORES[:-1]) + "."]
    lines += [
        "",
        "Per group of pages (long: administrative guides of several sections; held-out: long guides by",
        "others, never used for tuning; `length` and `heldout` in `pages.json`):",
        "",
    ]
    lines += ["| pages | questions | mode | " + " | ".join(GROUP_SCORES) + " |"]
    lines += ["|---|---|---|" + "---|" * len(GROUP_SCORES)]
    for group, modes in result["by_group"].items():
        count = result["questions_by_group"][group]
        for mode, vals in modes.items():
            cells = " | ".join(f"{vals[s]:.3f}" for s in GROUP_SCORES)
            lines.append(f"| {group} | {count} | {mode} | {cells} |")
    lines.append("")
    for group, modes in result["by_group"].items():
        margin = harness.margin_line(modes, GROUP_SCORES)
        lines.append(f"- {group} pages, hybrid minus the better single mode: {margin}.")
    lines.append("")
    if NOTES.exists():
        lines += [NOTES.read_text(encoding="utf-8").rstrip(), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--json", default=None, help="also write the raw results to this file")
    parser.add_argument("--out", default=str(REPO / "docs" / "eval"), help="output folder")
    parser.add_argument("--render", action="store_true", help="only rewrite sections.md from its JSON (notes edited)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if args.render:
        harness.render(out / "sections_results.json", out / "sections.md", markdown)
        return
    harness.quiet_logging()
    result = evaluate()
    text = markdown(result)
    print(text)
    if args.json:
        harness.write_json(Path(args.json), result)
    if not args.no_write:
        harness.write_json(out / "sections_results.json", result)
        (out / "sections.md").write_text(text, encoding="utf-8")
        say(f"wrote {out / 'sections_results.json'} and {out / 'sections.md'}")


if __name__ == "__main__":
    main()
