"""Cost of permission filtering on search: p50 with and without, on a 1,650-page / ~13,000-chunk pool.

The pool: the texts of the shared labelled pages (piaf_dev, docs_piwigo_fr_en, xquad_en), cut into
chunks of ~60 words and repeated under new page ids up to PAGES pages of CHUNKS_PER_PAGE chunks, in
SPACES spaces. Chunk vectors are random unit vectors (the HNSW search costs the same as with real
ones; embedding 13,000 chunks would take ~10 min here and measure nothing about filtering); the query
embedding is the real model's, so each search costs what it costs in production.
Permissions: 60 groups; each space grants view to 3 groups (two spaces also to anonymous); 30 % of
pages carry 1 or 2 restriction layers (one or two groups each, a user sometimes); the user asking is
in 20 groups. Measured in-process through `SearchService.search` (hybrid, the default settings),
permissions off vs on (same index, same queries, interleaved to share the machine's noise), and on
with the keyword scoring of before the ranking side-channel fix (bm25s scores precomputed with
statistics over every chunk, `PrecomputedBM25`) vs today's (statistics of the reader's readable
chunks, taken at query time from the posting lists: retrieval/bm25.py).
Run: `make bench-permissions` (part of `make bench`). Writes docs/bench/permissions.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import bm25s
import numpy as np
from llama_index.core.schema import TextNode

from benchmarks import harness
from benchmarks.datasets import PIWIGO, REPO, load_pages, load_questions
from confluence_rag import index_schema as keys
from confluence_rag.access.rule import SpaceAccess, SpaceGrant, can_read, canonical
from confluence_rag.access.store import access_metadata, save_tables
from confluence_rag.auth.identity import Identity
from confluence_rag.container import Components
from confluence_rag.retrieval.filters import SearchFilters
from confluence_rag.retrieval.keyword import KeywordHit, KeywordIndex
from confluence_rag.retrieval.search import SearchService
from confluence_rag.settings import Settings

PAGES = 1650
CHUNKS_PER_PAGE = 8
SPACES = 10
GROUPS = [f"grp{i:02d}" for i in range(60)]
USER = "bench.user"
USER_GROUPS = GROUPS[:20]
WORDS_PER_CHUNK = 60


def chunk_texts() -> list[str]:
    words = " ".join(p.text for p in load_pages("piaf_dev") + load_pages(PIWIGO) + load_pages("xquad_en")).split()
    return [" ".join(words[i : i + WORDS_PER_CHUNK]) for i in range(0, len(words), WORDS_PER_CHUNK)]


def build_pool(components: Components, rng: random.Random, page_count: int = PAGES) -> dict:
    texts = chunk_texts()
    store = components.store()
    dim = len(components.embedder.model.get_query_embedding("dimension"))
    grants: dict[str, SpaceGrant] = {}
    for s in range(SPACES):
        groups = rng.sample(GROUPS, 3) + ([USER_GROUPS[s]] if s % 2 == 0 else [])
        grants[f"S{s}"] = SpaceGrant(frozenset(f"g:{g}" for g in groups), anonymous=s < 2)
    pages: dict[str, dict[str, tuple]] = {space: {} for space in grants}
    nodes: list[TextNode] = []
    n = 0
    for p in range(page_count):
        space = f"S{p % SPACES}"
        layers: tuple = ()
        if rng.random() < 0.3:
            layer_list = []
            for _ in range(rng.choice([1, 1, 2])):
                layer = {f"g:{g}" for g in rng.sample(GROUPS, rng.choice([1, 2]))}
                if rng.random() < 0.2:
                    layer.add(f"u:{USER}")
                layer_list.append(layer)
            layers = canonical(layer_list)
        page_id = f"p{p}"
        pages[space][page_id] = layers
        vectors = rng_vectors(rng, CHUNKS_PER_PAGE, dim)
        for c in range(CHUNKS_PER_PAGE):
            text = texts[n % len(texts)]
            n += 1
            metadata = {
                keys.PAGE_ID: page_id,
                keys.SPACE_KEY: space,
                keys.TITLE: f"Page {p}",
                keys.URL: f"https://wiki.example/pages/{p}",
                keys.CHUNK_INDEX: c,
                keys.CONTEXT: f"Page {p}",
                keys.LABELS: "[]",
                keys.BREADCRUMB: "[]",
                **access_metadata(space, layers),
            }
            nodes.append(TextNode(id_=f"{page_id}#{c}", text=text, metadata=metadata, embedding=vectors[c].tolist()))
    for start in range(0, len(nodes), 1000):
        store.vector_store.add(nodes[start : start + 1000])
    members = {f"g:{g}": frozenset({f"u:{USER}"} if g in USER_GROUPS else {"u:someone.else"}) for g in GROUPS}
    for space, page_layers in pages.items():
        save_tables(store, SpaceAccess(space, grants[space], page_layers, members))
    store.bump_generation()
    principals = frozenset({f"u:{USER}", *(f"g:{g}" for g in USER_GROUPS)})
    readable_pages = sum(
        can_read(principals, grants[space], layers) for space, pl in pages.items() for layers in pl.values()
    )
    return {"pages": page_count, "chunks": len(nodes), "readable_pages": readable_pages}


class PrecomputedBM25(KeywordIndex):
    """The keyword scoring before the side-channel fix, for comparison only: bm25s with its statistics
    (N, average length, document frequencies) over every chunk, readable or not, and a 0/1 mask."""

    def _build(self, store, generation):
        snap = super()._build(store, generation)
        self.reference = bm25s.BM25()
        self.reference.index(([self._tokens[i][1] for i in snap.ids], dict(self._vocab)), show_progress=False)
        return snap

    def search(self, query: str, limit: int, filters: SearchFilters, principals=None) -> list[KeywordHit]:
        snap = self.snapshot
        tokens = self.token_ids(query)
        if not tokens:
            return []
        mask = None if principals is None else snap.access.readable(principals).chunks
        scores = self.reference.get_scores(tokens, weight_mask=mask)
        top = np.argpartition(-scores, limit - 1)[:limit]
        top = top[np.argsort(-scores[top])]
        return [KeywordHit(snap.ids[i], float(scores[i]), snap.texts[i], snap.metadatas[i]) for i in top if scores[i]]


def rng_vectors(rng: random.Random, count: int, dim: int) -> np.ndarray:
    gen = np.random.default_rng(rng.randrange(2**32))
    vectors = gen.standard_normal((count, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def p50(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def measure(settings: Settings, embedder, queries: list[str], rounds: int) -> dict:
    off = Components(settings.model_copy(update={"permissions": "off"}))
    on = Components(settings.model_copy(update={"permissions": "confluence"}))
    for comps in (off, on):
        comps.__dict__["embedder"] = embedder
    search_off, search_on = SearchService(off), SearchService(on)
    search_before = SearchService(on, PrecomputedBM25(refresh_s=settings.keyword_refresh_s))
    user = Identity(USER, frozenset(), False)
    runs = (("off", search_off, None), ("on", search_on, user), ("on_before", search_before, user))
    for q in queries[:10]:  # warm-up: keyword index built, caches filled
        for _, service, who in runs:
            service.search(q) if who is None else service.search(q, identity=who)
    times: dict[str, list[float]] = {name: [] for name, _, _ in runs}
    keyword_ms: dict[str, list[float]] = {"on": [], "on_before": []}
    access_ms: list[float] = []
    counts = dict.fromkeys(times, 0)
    for _ in range(rounds):
        for q in queries:
            for name, service, who in runs:
                start = time.perf_counter()
                results = service.search(q) if who is None else service.search(q, identity=who)
                times[name].append((time.perf_counter() - start) * 1000)
                counts[name] += len(results)
                if name in keyword_ms:
                    keyword_ms[name].append(service.last_timings.get("keyword_ms", 0.0))
            access_ms.append(search_on.last_timings.get("access_ms", 0.0))
    result = {
        "queries": len(queries),
        "rounds": rounds,
        "p50_ms_off": p50(times["off"]),
        "p50_ms_on": p50(times["on"]),
        "p90_ms_off": round(float(np.percentile(times["off"], 90)), 2),
        "p90_ms_on": round(float(np.percentile(times["on"], 90)), 2),
        "access_check_p50_ms": p50(access_ms),
        "results_per_query_off": round(counts["off"] / len(times["off"]), 2),
        "results_per_query_on": round(counts["on"] / len(times["on"]), 2),
    }
    result["overhead_pct"] = round(100 * (result["p50_ms_on"] / result["p50_ms_off"] - 1), 1)
    result |= {
        "p50_ms_on_before": p50(times["on_before"]),
        "p90_ms_on_before": round(float(np.percentile(times["on_before"], 90)), 2),
        "results_per_query_on_before": round(counts["on_before"] / len(times["on_before"]), 2),
        "keyword_p50_ms_on": p50(keyword_ms["on"]),
        "keyword_p50_ms_on_before": p50(keyword_ms["on_before"]),
    }
    result["side_channel_fix_pct"] = round(100 * (result["p50_ms_on"] / result["p50_ms_on_before"] - 1), 1)
    return result


def markdown(result: dict) -> str:
    pool, m = result["pool"], result["search"]
    return "\n".join(
        [
            "# Permission filtering: search latency with and without",
            "",
            f"Machine: {result['machine']['cores']} cores ({result['machine']['cpu']}), load average at the start "
            f"{[round(x, 1) for x in result['machine']['load_average_start']]} (a shared machine), "
            f"commit {result['machine']['git_commit']}. "
            f"Pool: {pool['pages']} pages, {pool['chunks']} chunks in {SPACES} spaces; the user is in "
            f"{len(USER_GROUPS)} groups and may read {pool['readable_pages']} pages. "
            f"{m['queries']} questions (piaf_dev + xquad_en) × {m['rounds']} rounds, off and on interleaved, "
            "`SearchService.search` in process (hybrid, default settings).",
            "",
            "| | p50 ms | p90 ms | results per query |",
            "|---|---|---|---|",
            f"| permissions off | {m['p50_ms_off']} | {m['p90_ms_off']} | {m['results_per_query_off']} |",
            f"| permissions on (user in 20 groups) | {m['p50_ms_on']} | {m['p90_ms_on']} "
            f"| {m['results_per_query_on']} |",
            f"| permissions on, keyword scoring before the side-channel fix | {m['p50_ms_on_before']} "
            f"| {m['p90_ms_on_before']} | {m['results_per_query_on_before']} |",
            "",
            f"**Side-channel fix (BM25 statistics over the reader's readable chunks, at query time): "
            f"{m['side_channel_fix_pct']} % at p50** (target: within 10 %); the keyword retriever alone "
            f"{m['keyword_p50_ms_on_before']} → {m['keyword_p50_ms_on']} ms at p50.",
            "",
            f"**Overhead at p50: {m['overhead_pct']} %** (target: within 10 %). The access check itself "
            f"(principals → readable access keys, cached per user and index generation) takes "
            f"{m['access_check_p50_ms']} ms at p50.",
            "",
            "Vectors of the pool are random unit vectors (same HNSW cost as real ones); the query embedding is the "
            "real model's. See `benchmarks/permissions.py`.",
            "",
            "How: with permissions on, the vector query asks Chroma for ids and distances only, oversampled by "
            "2 / readable share, and takes readability, text and metadata from the keyword snapshot the access "
            "decision was made on (without permissions it asks for depth ids and reads the results' text from "
            "Chroma). Earlier designs measured on the same pool: Chroma's `where access_key $in [...]` filter, "
            "+316 % at p50 (Chroma's metadata filter costs tens of ms on 13,000 chunks whatever the clause: "
            "+37 ms for a single boolean); an oversampled query through LlamaIndex filtered in process, +18.7 %. "
            "Chroma's filter remains the fallback for users who may read less than 20 % of the index, or when "
            "the oversampled query holds too few readable chunks.",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--pages", type=int, default=PAGES, help="pool size (a small one to try the script)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=str(REPO / "docs" / "bench"))
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--index-dir", default=None, help="keep the pool there and reuse it next time")
    args = parser.parse_args(argv)
    harness.quiet_logging()
    rng = random.Random(1650)
    info = harness.machine()
    questions = load_questions("piaf_dev") + load_questions("xquad_en")
    queries = [q.question for q in rng.sample(questions, min(args.queries, len(questions)))]
    workdir = Path(args.index_dir) if args.index_dir else Path(tempfile.mkdtemp(prefix="confluence-rag-bench-perm-"))
    try:
        settings = Settings(
            _env_file=None, chroma_path=workdir / "chroma", state_dir=workdir / "state", keyword_refresh_s=3600
        )
        components = Components(settings)
        pool_file = workdir / "pool.json"
        if pool_file.exists():
            pool = json.loads(pool_file.read_text())
        else:
            started = time.perf_counter()
            pool = build_pool(components, rng, args.pages)
            harness.say(f"[pool] {pool['chunks']} chunks written in {time.perf_counter() - started:.1f}s")
            pool_file.write_text(json.dumps(pool))
        search = measure(settings, components.embedder, queries, args.rounds)
    finally:
        if not args.index_dir:
            shutil.rmtree(workdir, ignore_errors=True)
    result = {"machine": info, "pool": pool, "search": search}
    text = markdown(result)
    print(text)
    if not args.no_write:
        harness.write_report(Path(args.out), "permissions", result, text)


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
