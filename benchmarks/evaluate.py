"""`make eval`: retrieval quality of keyword-only, vector-only and hybrid search, page-level, then
the section questions on real Confluence bodies (`benchmarks/sections.py`, docs/eval/sections.md), then
which chunk is cited on pages of several chunks (`benchmarks/passages.py`, docs/eval/passages.md).

Two corpora, each one Confluence space served by the REST fake and ingested through the real
path (`ingest_space` → chunking → MiniLM → embedded Chroma in a temp dir):
  - piaf_dev (French Wikipedia paragraphs) + every docs_piwigo_fr_en page as distractors;
  - xquad_en (English Wikipedia paragraphs) + the same piwigo distractors.
Every question goes through `SearchService.search(query, top_k=10, mode=...)`; its ranking of
page ids is scored against the gold page (hit@1/5/10, MRR@10, nDCG@10). Questions marked
answerable=false are excluded. Metrics are given on all questions, on the first half (the half
the fusion settings were tuned on) and on the second half (held out).

    .venv/bin/python -m benchmarks.evaluate                 # full sets (~12 min on 2 cores)
    .venv/bin/python -m benchmarks.evaluate --limit 200     # 200 questions per set, evenly spread
                                                            # (prints only, unless --out DIR)
    .venv/bin/python -m benchmarks.evaluate --index-dir /tmp/eval-index   # keep/reuse the index
    .venv/bin/python -m benchmarks.evaluate --render        # notes edited: rewrite the three reports
Retrieval settings come from the product defaults, overridable by environment variables
(e.g. `VECTOR_WEIGHT=0.3 make eval`); `.env` is not read.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks import harness, passages, sections
from benchmarks.datasets import REPO, SETS, EvalSet, Question, eval_set, sample, split_questions
from benchmarks.harness import say
from benchmarks.metrics import METRICS, aggregate, paired_se, question_metrics
from benchmarks.processes import free_port

MODES = ("keyword", "vector", "hybrid")
SPLITS = ("all", "tune", "heldout")
NOTES = Path(__file__).with_name("eval_notes.md")


def open_workdir(index_dir: str | None) -> tuple[Path, int, bool]:
    """A temp dir (removed at the end), or a kept one whose fake port is reused so that page
    URLs, hence content hashes, stay identical and a second run embeds nothing."""
    if not index_dir:
        return Path(tempfile.mkdtemp(prefix="confluence-rag-eval-")), 0, True
    path = Path(index_dir)
    path.mkdir(parents=True, exist_ok=True)
    port_file = path / "fake_port"
    if not port_file.exists():
        port_file.write_text(str(free_port()))
    return path, int(port_file.read_text()), False


def rankings(service, questions: list[Question], evalset: EvalSet, mode: str, top_k: int) -> tuple[list, list]:
    rows, times = [], []
    for q in questions:
        start = time.perf_counter()
        results = service.search(q.question, top_k=top_k, mode=mode)
        times.append((time.perf_counter() - start) * 1000)
        rows.append([r.page_id for r in results])
    return rows, times


def evaluate(args: argparse.Namespace) -> dict:
    from confluence_rag.retrieval.search import SearchService

    started = time.perf_counter()
    info = harness.machine()
    names = list(args.sets)
    evalsets = [
        # Another folder of the data dir (`make eval-from-feedback` writes one) is served as its own space.
        eval_set(name, SETS.get(name, name.upper()), distractors=args.distractors, merge_articles=args.merge_articles)
        for name in names
    ]
    workdir, port, temporary = open_workdir(args.index_dir)
    fake = harness.start_fake(evalsets, port=port)
    out: dict = {
        "machine": info,
        "limit": args.limit,
        "distractors": args.distractors,
        "merge_articles": args.merge_articles,
        "top_k": args.top_k,
        "sets": {},
    }
    try:
        for evalset in evalsets:
            say(f"[{evalset.name}] ingesting {len(evalset.pages)} pages into space {evalset.space} …")
            ing = harness.ingest(fake, workdir, evalset.space)
            settings = ing.components.settings
            out["settings"] = harness.settings_summary(settings)
            say(
                f"[{evalset.name}] {ing.stats.pages_done} pages, {ing.stats.chunks_written} chunks embedded "
                f"in {ing.seconds:.0f}s"
            )
            chunks = ing.components.store().collection.count()
            answerable = [q for q in evalset.questions if q.answerable]
            questions = sample(answerable, args.limit)
            service = SearchService(ing.components)
            service.search("warm-up", top_k=args.top_k)  # builds the keyword index
            entry: dict = {
                "space": evalset.space,
                "pages": len(evalset.pages),
                "chunks": chunks,
                "ingest_s": round(ing.seconds, 1),
                "chunks_embedded": ing.stats.chunks_written,
                "questions": {split: len(split_questions(questions, split)) for split in SPLITS},
                "unanswerable_excluded": len(evalset.questions) - len(answerable),
                "modes": {},
            }
            per_mode: dict[str, dict[str, list]] = {}
            for mode in MODES:
                ranked, times = rankings(service, questions, evalset, mode, args.top_k)
                per_q = [question_metrics(r, evalset.gold_fake_ids(q)) for r, q in zip(ranked, questions, strict=True)]
                half = len(per_q) // 2
                parts = {"all": per_q, "tune": per_q[:half], "heldout": per_q[half:]}
                per_mode[mode] = parts
                entry["modes"][mode] = {split: _round(aggregate(rows)) for split, rows in parts.items()}
                entry["modes"][mode]["ms_per_query_median"] = round(statistics.median(times), 1)
                say(f"[{evalset.name}] {mode:8s} " + _line(entry["modes"][mode]["all"]))
            entry["hybrid_margin"], entry["hybrid_margin_se"] = margins(entry["modes"], per_mode)
            out["sets"][evalset.name] = entry
    finally:
        fake.stop()
        if temporary:
            shutil.rmtree(workdir, ignore_errors=True)
    harness.load_note(info)
    out["duration_s"] = round(time.perf_counter() - started, 1)
    return out


def margins(modes: dict, per_mode: dict[str, dict[str, list]]) -> tuple[dict, dict]:
    """Hybrid minus the better single mode, per split and metric, and the bootstrap standard error of
    that paired difference (how much it would move on another sample of questions)."""
    delta: dict = {}
    se: dict = {}
    for split in SPLITS:
        delta[split], se[split] = {}, {}
        for m in METRICS:
            best = max(("keyword", "vector"), key=lambda mode: modes[mode][split][m])
            delta[split][m] = round(modes["hybrid"][split][m] - modes[best][split][m], 4)
            se[split][m] = round(paired_se(per_mode["hybrid"][split], per_mode[best][split], m), 4)
    return delta, se


def _round(values: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in values.items()}


def _line(values: dict[str, float]) -> str:
    return "  ".join(f"{m} {values[m]:.3f}" for m in METRICS)


def markdown(result: dict) -> str:
    info, st = result["machine"], result["settings"]
    lines = [
        "# Retrieval evaluation (`make eval`)",
        "",
        "Generated by `benchmarks/evaluate.py`; do not edit the tables by hand (the notes below the",
        "tables come from `benchmarks/eval_notes.md`).",
        "",
        f"- Date: {info['date']}; machine: {info['cores']} cores ({info['cpu']}), CPU only; "
        f"commit {info['git_commit']}; run took {result['duration_s'] / 60:.1f} min.",
        f"- Load average at start / end: {_load(info['load_average_start'])} / "
        f"{_load(info.get('load_average_end', []))} (the box is shared with other engineers' test runs).",
        harness.settings_line(st, f"; top_k {result['top_k']}."),
        "- Page-level metrics: one result per page; gold = the Confluence page holding the answer. "
        "Unanswerable questions are excluded.",
    ]
    if result.get("limit"):
        lines.append(f"- **Quick run**: {result['limit']} questions per set, evenly spread.")
    if result.get("merge_articles"):
        lines.append("- **One page per article** (`--merge-articles`): the gold page is the whole article.")
    if result.get("distractors") is not None:
        lines.append(f"- **Reduced corpus**: {result['distractors']} piwigo distractor pages per set (of 171).")
    lines += ["", "## Results (all questions)", ""]
    lines += [
        "| set | corpus | mode | hit@1 | hit@5 | hit@10 | MRR@10 | nDCG@10 | ms/query |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, entry in result["sets"].items():
        corpus = f"{entry['pages']} pages, {entry['chunks']} chunks, {entry['questions']['all']} q"
        best = {m: max(entry["modes"][mode]["all"][m] for mode in MODES) for m in METRICS}
        for mode in MODES:
            vals = entry["modes"][mode]["all"]
            cells = [f"**{vals[m]:.3f}**" if vals[m] == best[m] else f"{vals[m]:.3f}" for m in METRICS]
            lines.append(
                f"| {name} | {corpus} | {mode} | "
                + " | ".join(cells)
                + f" | {entry['modes'][mode]['ms_per_query_median']} |"
            )
    lines += [
        "",
        "## Hybrid minus the better single mode (per metric)",
        "",
        "`tune` = first half of each question file (the fusion weights were chosen on it), "
        "`heldout` = second half (other articles; see the notes on how it was used). "
        "± = bootstrap standard error of the paired difference (the noise of the question sample).",
        "",
        "| set | questions | Δhit@1 | Δhit@5 | Δhit@10 | ΔMRR@10 | ΔnDCG@10 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, entry in result["sets"].items():
        for split in SPLITS:
            d, se = entry["hybrid_margin"][split], entry.get("hybrid_margin_se", {}).get(split, {})
            cells = [f"{d[m]:+.3f}" + (f" ± {se[m]:.3f}" if m in se else "") for m in METRICS]
            lines.append(f"| {name} | {split} ({entry['questions'][split]}) | " + " | ".join(cells) + " |")
    lines += ["", "Per split, every mode:", ""]
    lines += ["| set | split | mode | hit@1 | hit@5 | hit@10 | MRR@10 | nDCG@10 |", "|---|---|---|---|---|---|---|---|"]
    for name, entry in result["sets"].items():
        for split in ("tune", "heldout"):
            for mode in MODES:
                vals = entry["modes"][mode][split]
                lines.append(f"| {name} | {split} | {mode} | " + " | ".join(f"{vals[m]:.3f}" for m in METRICS) + " |")
    ingest = "; ".join(
        f"{n}: {e['pages']} pages → {e['chunks']} chunks in {e['ingest_s']:.0f} s"
        + (" (kept index reused, nothing embedded)" if e.get("chunks_embedded") == 0 else "")
        for n, e in result["sets"].items()
    )
    lines += ["", f"Ingestion during the run: {ingest}.", ""]
    if NOTES.exists():
        lines += [NOTES.read_text(encoding="utf-8").rstrip(), ""]
    return "\n".join(lines)


def _load(values: list) -> str:
    return " ".join(f"{v:.1f}" for v in values) if values else "?"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="questions per set (evenly spread); default: all")
    parser.add_argument(
        "--sets",
        default=",".join(SETS),
        help="comma-separated folders of the data dir: piaf_dev,xquad_en, or feedback (make eval-from-feedback)",
    )
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument(
        "--distractors", type=int, default=None, help="first N piwigo pages as distractors (default: all 171)"
    )
    parser.add_argument(
        "--merge-articles", action="store_true", help="one page per article, not per paragraph (chunk-size study)"
    )
    parser.add_argument("--index-dir", default=None, help="keep the index here and reuse it next time")
    parser.add_argument(
        "--out", default=None, help="where results.json and README.md go (default docs/eval, full runs only)"
    )
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--render", action="store_true", help="only rewrite the reports (README, sections, passages) from their JSON"
    )
    args = parser.parse_args(argv)
    args.sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    if args.out is None:
        # A quick or partial run must not overwrite the committed full results.
        args.out = str(REPO / "docs" / "eval")
        partial = args.limit or args.distractors is not None or args.merge_articles or set(args.sets) != set(SETS)
        if partial and not args.render:
            args.no_write = True
    if args.render:
        out = Path(args.out)
        harness.render(out / "results.json", out / "README.md", markdown)
        sections.main(["--render", "--out", args.out])
        passages.main(["--render", "--out", args.out])
        return
    harness.quiet_logging()
    result = evaluate(args)
    harness.publish(result, markdown(result), None if args.no_write else Path(args.out))
    if args.no_write:
        say(json.dumps(result["sets"], indent=1)[:2000])
    # Section citations on real Confluence bodies (~1 min): docs/eval/sections.md.
    sections.main(["--no-write"] if args.no_write else ["--out", args.out])
    # Which chunk is cited on pages of several chunks (~5 min): docs/eval/passages.md.
    limit = ["--limit", str(args.limit)] if args.limit else []
    passages.main((["--no-write"] if args.no_write else ["--out", args.out]) + limit)


if __name__ == "__main__":
    main()
