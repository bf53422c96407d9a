"""`make eval`, passage part: on pages of several chunks, does the cited chunk hold the answer?

Every result is one chunk per page (`SearchService.search`), and that chunk is what the answer is
built on and what the citation points at. On the dev sets as shipped each page is one paragraph, so
this cannot be measured there. Here each Wikipedia article is served as one page (its paragraphs in
order: `eval_set(..., merge_articles=True)`, no distractors), chunked by the product, and every
answerable question is scored on:
  - hit@1 / hit@5: the gold page (the article);
  - passage@5: the article is in the first 5 and the chunk cited for it holds the answer where the
    gold paragraph has it (`holds_answer`: a reference answer plus 4 words of its surroundings).
Only questions whose answer can be found in some chunk of their page count (an answer cut by a chunk
boundary, or rewritten by the conversion, cannot be scored). Written by others (PIAF, XQuAD): the
questions were not written for this product, and their wording is close to the paragraph's
(crowd-sourced reading-comprehension questions), which favours BM25; `benchmarks/sections.py`
measures the same on paraphrased questions about sections of real Confluence bodies.

    .venv/bin/python -m benchmarks.passages              # writes docs/eval/passages.md and passages.json
    .venv/bin/python -m benchmarks.passages --no-write --limit 200
    CHUNK_SIZE=128 .venv/bin/python -m benchmarks.passages --no-write   # more, smaller chunks per page
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks import harness
from benchmarks.datasets import REPO, SETS, Question, eval_set, sample
from benchmarks.harness import say
from benchmarks.metrics import first_relevant_rank, hit_at_k

NOTES = Path(__file__).with_name("passages_notes.md")
MODES = ("keyword", "vector", "hybrid")
SCORES = ("hit@1", "hit@5", "passage@5")
NEAR_WORDS = 8  # how far around the answer the 4 words that place it may be taken
_MARKUP = re.compile(r"[\\*_`#|>\[\]]")


def _plain(text: str) -> str:
    return " ".join(_MARKUP.sub(" ", text.lower()).split())


def holds_answer(chunk: str, question: Question) -> bool:
    """The chunk holds a reference answer together with 4 consecutive words of the gold paragraph
    taken within NEAR_WORDS of that answer: the answer where the paragraph has it, not the same
    words elsewhere on the page (a year or a name often appears in several paragraphs)."""
    text, paragraph = _plain(chunk), _plain(question.passage)
    words = paragraph.split()
    for answer in filter(None, map(_plain, question.answers)):
        at = paragraph.find(answer)
        if at < 0 or answer not in text:
            continue
        first = len(paragraph[:at].split())
        near = words[max(0, first - NEAR_WORDS) : first + len(answer.split()) + NEAR_WORDS]
        if any(" ".join(near[i : i + 4]) in text for i in range(max(1, len(near) - 3))):
            return True
    return False


def evaluate(limit: int | None = None, top_k: int = 10) -> dict:
    from confluence_rag.retrieval.search import SearchService

    started = time.perf_counter()
    out: dict = {"machine": harness.machine(), "limit": limit, "top_k": top_k, "sets": {}}
    for name, space in SETS.items():
        evalset = eval_set(name, space, distractors=0, merge_articles=True)
        fake = harness.start_fake([evalset])
        workdir = Path(tempfile.mkdtemp(prefix="confluence-rag-passages-"))
        try:
            ing = harness.ingest(fake, workdir, space)
            out["settings"] = harness.settings_summary(ing.components.settings)
            service = SearchService(ing.components)
            service.search("warm-up", top_k=top_k)  # builds the keyword index
            snap = service.keyword.snapshot
            chunks_of: dict[str, list[str]] = {}
            for text, meta in zip(snap.texts, snap.metadatas, strict=True):
                chunks_of.setdefault(str(meta.get("page_id")), []).append(text)
            # Scorable: the page has several chunks (else there is no choice) and one holds the answer.
            scorable = []
            for q in sample([q for q in evalset.questions if q.answerable], limit):
                page = evalset.gold_fake_ids(q)[0]
                if len(chunks_of.get(page, [])) > 1 and any(holds_answer(c, q) for c in chunks_of[page]):
                    scorable.append((q, page))
            modes = {}
            for mode in MODES:
                totals = dict.fromkeys(SCORES, 0.0)
                for q, page in scorable:
                    found = service.search(q.question, top_k=top_k, mode=mode)
                    ranking = [r.page_id for r in found]
                    rank = first_relevant_rank(ranking, [page])
                    totals["hit@1"] += hit_at_k(ranking, [page], 1)
                    totals["hit@5"] += hit_at_k(ranking, [page], 5)
                    totals["passage@5"] += rank is not None and rank <= 5 and holds_answer(found[rank - 1].text, q)
                modes[mode] = {s: round(v / max(len(scorable), 1), 4) for s, v in totals.items()}
                say(f"[passages {name}] {mode:8s} " + "  ".join(f"{s} {modes[mode][s]:.3f}" for s in SCORES))
            out["sets"][name] = {
                "pages": len(evalset.pages),
                "chunks": len(snap.ids),
                "questions": len(scorable),
                "modes": modes,
            }
        finally:
            fake.stop()
            shutil.rmtree(workdir, ignore_errors=True)
    out["duration_s"] = round(time.perf_counter() - started, 1)
    return out


def markdown(result: dict) -> str:
    info, st = result["machine"], result["settings"]
    lines = [
        "# Which chunk is cited: passages of long pages (`make eval`)",
        "",
        "Generated by `benchmarks/passages.py` (see its docstring for the method); the notes below the",
        "table come from `benchmarks/passages_notes.md`.",
        "",
        f"- Date: {info['date']}; commit {info['git_commit']}; {info['cores']} cores, CPU only; "
        f"run took {result['duration_s']:.0f} s.",
        harness.settings_line(st, f"; top_k {result['top_k']}."),
        "- One page per Wikipedia article, no distractors; passage@5: the article is in the first 5 and the",
        "  chunk cited for it holds the answer where the gold paragraph has it.",
        "",
        "| set | pages | chunks | questions | mode | " + " | ".join(SCORES) + " |",
        "|---|---|---|---|---|" + "---|" * len(SCORES),
    ]
    for name, entry in result["sets"].items():
        for mode, vals in entry["modes"].items():
            cells = " | ".join(f"{vals[s]:.3f}" for s in SCORES)
            lines.append(f"| {name} | {entry['pages']} | {entry['chunks']} | {entry['questions']} | {mode} | {cells} |")
    lines.append("")
    for name, entry in result["sets"].items():
        lines.append(f"- {name}, hybrid minus the better single mode: {harness.margin_line(entry['modes'], SCORES)}.")
    if NOTES.exists():
        lines += ["", NOTES.read_text(encoding="utf-8").rstrip()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--limit", type=int, default=None, help="questions per set (evenly spread); default: all")
    parser.add_argument("--out", default=str(REPO / "docs" / "eval"), help="output folder")
    parser.add_argument("--render", action="store_true", help="only rewrite passages.md from its JSON (notes edited)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if args.render:
        harness.render(out / "passages.json", out / "passages.md", markdown)
        return
    harness.quiet_logging()
    result = evaluate(args.limit)
    text = markdown(result)
    print(text)
    if not args.no_write:
        harness.write_report(out, "passages", result, text)


if __name__ == "__main__":
    main()
