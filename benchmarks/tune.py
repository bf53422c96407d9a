"""Fusion tuning helper (not part of `make eval`): fetch each question's keyword and vector
candidate lists once, then replay fusion variants offline on them, fast.

    .venv/bin/python -m benchmarks.tune --index-dir /tmp/eval-index dump     # candidates → JSON
    .venv/bin/python -m benchmarks.tune --index-dir /tmp/eval-index sweep    # grid on the tune half

Only the first half of each question file ("tune") is used to choose settings; the second half
("heldout") is reported separately by `make eval`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import time
from pathlib import Path

import numpy as np

from benchmarks import harness
from benchmarks.datasets import SETS, eval_set, sample, split_questions
from benchmarks.evaluate import open_workdir
from benchmarks.harness import say
from benchmarks.metrics import aggregate, paired_se, question_metrics

DEPTH = 100


def dump(args: argparse.Namespace) -> None:
    from llama_index.core.vector_stores.types import VectorStoreQuery

    from confluence_rag.retrieval.filters import SearchFilters
    from confluence_rag.retrieval.search import SearchService

    evalsets = [eval_set(name, SETS[name], distractors=args.distractors) for name in args.sets.split(",")]
    workdir, port, _ = open_workdir(args.index_dir)
    fake = harness.start_fake(evalsets, port=port)
    out = {}
    meta: dict = {"machine": harness.machine(), "distractors": args.distractors, "sets": {}}
    try:
        for es in evalsets:
            if args.skip_ingest:
                comps = harness.Components(harness.make_settings(fake, workdir, es.space.lower()))
            else:
                ing = harness.ingest(fake, workdir, es.space)
                comps = ing.components
                say(f"[{es.name}] re-ingest embedded {ing.stats.chunks_written} chunks in {ing.seconds:.0f}s")
                meta["sets"][es.name] = {"chunks_embedded": ing.stats.chunks_written, "ingest_s": round(ing.seconds, 1)}
            meta["settings"] = harness.settings_summary(comps.settings)
            meta["sets"].setdefault(es.name, {})["chunks"] = comps.store().collection.count()
            embed_ms: list[float] = []
            service = SearchService(comps)
            store = comps.store()
            service.keyword.sync(store)
            snap = service.keyword.snapshot
            position = {cid: i for i, cid in enumerate(snap.ids)}
            embedder = comps.embedder.model
            rows = []
            for q in sample([q for q in es.questions if q.answerable], args.limit):
                kw = service.keyword.search(q.question, DEPTH, SearchFilters())
                started = time.perf_counter()
                emb = np.asarray(embedder.get_query_embedding(q.question))
                embed_ms.append((time.perf_counter() - started) * 1000)
                res = store.vector_store.query(VectorStoreQuery(query_embedding=emb.tolist(), similarity_top_k=DEPTH))
                # Full scores of the other retriever for every candidate (cosine; BM25).
                got = store.collection.get(ids=[h.id for h in kw], include=["embeddings"]) if kw else None
                cos = dict(zip(got["ids"], (np.asarray(got["embeddings"]) @ emb).tolist(), strict=True)) if got else {}
                bm25 = snap.postings.scores(service.keyword.token_ids(q.question))
                rows.append(
                    {
                        "qid": q.qid,
                        "gold": es.gold_fake_ids(q),
                        "kw": [[h.id, str(h.metadata["page_id"]), h.score, cos.get(h.id, 0.0)] for h in kw],
                        "vec": [
                            [n.node_id, str(n.metadata["page_id"]), s, float(bm25[position[n.node_id]])]
                            for n, s in zip(res.nodes or [], res.similarities or [], strict=False)
                        ],
                    }
                )
            out[es.name] = rows
            meta["sets"][es.name]["query_embedding_median_ms"] = round(float(np.median(embed_ms)), 1)
            say(f"[{es.name}] {len(rows)} questions dumped; {meta['sets'][es.name]}")
    finally:
        fake.stop()
    harness.load_note(meta["machine"])
    Path(args.cache).write_text(json.dumps(out))
    Path(args.cache + ".meta.json").write_text(json.dumps(meta, indent=1, default=str))


# --- fusion variants, replayed on cached candidates ---------------------------------------------
# A cached row: kw = [[chunk_id, page_id, bm25, cosine]], vec = [[chunk_id, page_id, similarity, bm25]]
# (similarity as ChromaVectorStore reports it, exp(-distance); cosine = 1 + ln(similarity)).
def pages_of(ranked) -> list[str]:
    seen: dict[str, None] = {}
    for item in ranked:
        seen.setdefault(item[1], None)
    return list(seen)


def rrf(kw, vec, wk, wv, k, depth=40):
    """Weighted reciprocal rank fusion of the two chunk lists (FUSION=rrf)."""
    scores: dict[str, float] = {}
    page_of: dict[str, str] = {}
    for weight, lst in ((wk, kw[:depth]), (wv, vec[:depth])):
        for rank, item in enumerate(lst):
            page_of[item[0]] = item[1]
            scores[item[0]] = scores.get(item[0], 0.0) + weight / (k + rank + 1)
    order = sorted(scores, key=scores.get, reverse=True)
    return pages_of([(c, page_of[c]) for c in order])


def convex_lists(kw, vec, alpha, depth=40):
    """Convex combination using only the scores each list returned (0 when absent from a list)."""
    kw, vec = kw[:depth], vec[:depth]
    scores: dict[str, float] = {}
    page_of: dict[str, str] = {}
    for cid, page, s, _ in kw:
        page_of[cid] = page
        scores[cid] = alpha * s / kw[0][2]
    if vec:
        top, low = vec[0][2], vec[-1][2]
        for cid, page, s, _ in vec:
            page_of[cid] = page
            scores[cid] = scores.get(cid, 0.0) + (1 - alpha) * ((s - low) / (top - low) if top > low else 1.0)
    order = sorted(scores, key=scores.get, reverse=True)
    return pages_of([(c, page_of[c]) for c in order])


def product_score_fusion(kw, vec, wk, wv, depth=40):
    """The product's FUSION=score (`fuse_scores`), with the cosines `_add_cosines` would fetch."""
    from confluence_rag.retrieval.search import _Candidate, fuse_scores

    keyword = [_Candidate(cid, "", {"page_id": page}, s, cos) for cid, page, s, cos in kw[:depth]]
    vector = [
        _Candidate(cid, "", {"page_id": page}, sim, 1.0 + math.log(max(sim, 1e-12)))
        for cid, page, sim, _ in vec[:depth]
    ]
    return pages_of([(c.chunk_id, c.metadata["page_id"]) for c in fuse_scores(keyword, vector, wk, wv)])


def score(rows, fn) -> dict[str, float]:
    return aggregate(question_metrics(fn(r["kw"], r["vec"])[:10], r["gold"]) for r in rows)


def sweep(args: argparse.Namespace) -> None:
    data = json.loads(Path(args.cache).read_text())
    parts = {name: {s: split_questions(rows, s) for s in ("tune", "heldout")} for name, rows in data.items()}
    splits = ("tune", "heldout") if args.heldout else ("tune",)
    names = list(data)
    header = " | ".join(f"{split} {name} h1 / h5 / MRR@10" for split in splits for name in names)
    lines = [f"{'variant':34s} | {header}"]
    print(lines[0], flush=True)

    def report(label, fn):
        cells = []
        for split in splits:
            for name in names:
                m = score(parts[name][split], fn)
                cells.append(f"{m['hit@1']:.3f} / {m['hit@5']:.3f} / {m['mrr@10']:.3f}")
        lines.append(f"{label:34s} | " + " | ".join(cells))
        print(lines[-1], flush=True)

    report("keyword", lambda kw, vec: pages_of(kw))
    report("vector", lambda kw, vec: pages_of(vec))
    for k, wv in itertools.product((60, 20, 5), (1.0, 0.5, 0.3)):
        report(f"rrf k={k} kw=1 vec={wv}", lambda kw, vec, k=k, wv=wv: rrf(kw, vec, 1.0, wv, k))
    for alpha in (0.6, 0.7, 0.75, 0.8, 0.85):
        report(f"convex, list scores only a={alpha}", lambda kw, vec, a=alpha: convex_lists(kw, vec, a))
    for alpha in (0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9):
        report(f"score fusion (product) kw={alpha}", lambda kw, vec, a=alpha: product_score_fusion(kw, vec, a, 1 - a))
    for depth in (20, 30, 60, 100):
        report(
            f"score fusion kw=0.75 depth={depth}", lambda kw, vec, d=depth: product_score_fusion(kw, vec, 0.75, 0.25, d)
        )
    if args.out:
        counts = ", ".join(
            f"{name}: {len(parts[name]['tune'])} tune / {len(parts[name]['heldout'])} held-out" for name in names
        )
        table = [f"| {line.replace(' | ', ' | ')} |" for line in lines]
        table.insert(1, "|" + "---|" * (1 + len(splits) * len(names)))
        text = [
            "# Fusion sweep (`benchmarks/tune.py`)",
            "",
            "Replayed offline on each question's cached keyword and vector candidates (depth 100, cut to",
            "40 unless said), page-level, hit@1 / hit@5 / MRR@10. Settings are chosen on the **tune** half",
            f"(first half of each question file); the held-out half is shown for the record. Questions: {counts}.",
            "",
            *table,
            "",
        ]
        Path(args.out).write_text("\n".join(text), encoding="utf-8")


COMPARE_ALPHAS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9)
COMPARE_METRICS = ("hit@1", "hit@5", "mrr@10")


def _per_question(rows, fn) -> list[dict[str, float]]:
    return [question_metrics(fn(r["kw"], r["vec"])[:10], r["gold"]) for r in rows]


def compare(args: argparse.Namespace) -> None:
    """Per model (a dumped cache each): keyword, vector and score fusion with the keyword weight chosen
    on the tune half only (best mean MRR@10 over the sets); the held-out half reported, with the
    hybrid's margin over the better single mode and that margin's bootstrap standard error."""
    out: dict = {}
    for spec in args.caches:
        label, _, path = spec.partition("=")
        data = json.loads(Path(path).read_text())
        tune = {name: split_questions(rows, "tune") for name, rows in data.items()}

        def tune_mrr(alpha, tune=tune):
            fn = lambda kw, vec: product_score_fusion(kw, vec, alpha, 1 - alpha)  # noqa: E731
            return float(np.mean([aggregate(_per_question(rows, fn))["mrr@10"] for rows in tune.values()]))

        grid = {alpha: tune_mrr(alpha) for alpha in COMPARE_ALPHAS}
        alpha = max(grid, key=grid.get)
        entry: dict = {"keyword_weight": alpha, "tune_grid_mrr": {str(a): round(v, 4) for a, v in grid.items()}}
        modes = {
            "keyword": lambda kw, vec: pages_of(kw),
            "vector": lambda kw, vec: pages_of(vec),
            "hybrid": lambda kw, vec, a=alpha: product_score_fusion(kw, vec, a, 1 - a),
        }
        for name, rows in data.items():
            entry[name] = {}
            for split in ("tune", "heldout", "all"):
                part = split_questions(rows, split)
                per = {mode: _per_question(part, fn) for mode, fn in modes.items()}
                cell = {mode: {m: round(v, 4) for m, v in aggregate(per[mode]).items()} for mode in modes}
                for m in COMPARE_METRICS:
                    best = max(("keyword", "vector"), key=lambda mode: cell[mode][m])
                    cell.setdefault("margin", {})[m] = round(cell["hybrid"][m] - cell[best][m], 4)
                    cell.setdefault("margin_se", {})[m] = round(paired_se(per["hybrid"], per[best], m), 4)
                    cell.setdefault("margin_over_keyword", {})[m] = round(cell["hybrid"][m] - cell["keyword"][m], 4)
                cell["questions"] = len(part)
                entry[name][split] = cell
        out[label] = entry
        say(f"[{label}] keyword weight {alpha} (tune MRR@10 by weight: {entry['tune_grid_mrr']})")
        for name in data:
            for split in ("tune", "heldout"):
                c = entry[name][split]
                cells = "  ".join(f"{mode} " + "/".join(f"{c[mode][m]:.3f}" for m in COMPARE_METRICS) for mode in modes)
                margins = " ".join(f"{c['margin'][m]:+.3f}±{c['margin_se'][m]:.3f}" for m in COMPARE_METRICS)
                say(f"  {name:9s} {split:8s} {cells}  margin {margins}")
    if args.out:
        harness.write_json(Path(args.out), out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["dump", "sweep", "compare"])
    parser.add_argument("caches", nargs="*", help="compare: LABEL=path of a dumped cache, one per model")
    parser.add_argument("--index-dir", default="")
    parser.add_argument("--cache", default="/tmp/eval-candidates.json")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated: piaf_dev,xquad_en")
    parser.add_argument("--distractors", type=int, default=None, help="first N piwigo pages (default: all)")
    parser.add_argument("--skip-ingest", action="store_true", help="use the kept index as it is")
    parser.add_argument("--heldout", action="store_true", help="also show the held-out half (after choosing!)")
    parser.add_argument("--out", default=None, help="write the sweep table to this file")
    args = parser.parse_args()
    harness.quiet_logging()
    {"dump": dump, "sweep": sweep, "compare": compare}[args.action](args)


if __name__ == "__main__":
    main()
