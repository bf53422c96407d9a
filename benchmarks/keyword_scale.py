"""`make bench-keyword`: how the in-memory keyword (BM25) index of a query-api replica scales.

Every replica keeps a BM25 index of all chunks (`retrieval/keyword.py`). This measures, for
synthetic corpora of 10k, 100k and 300k chunks (~120 words each, words drawn from the shared French
and English pages) stored in embedded Chroma:
- the rebuild time, split into reading the chunks back from Chroma, tokenizing them and indexing;
- the memory the served index holds (process RSS before and after, the corpus already in Chroma);
- the query latency of a replica while a rebuild runs in its background thread, against idle.

    .venv/bin/python -m benchmarks.keyword_scale                   # 10k, 100k, 300k (~15 min)
    .venv/bin/python -m benchmarks.keyword_scale --sizes 10000 --no-write
"""

from __future__ import annotations

import argparse
import gc
import random
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import confluence_rag  # noqa: F401  (offline / no-telemetry environment before heavy imports)
from benchmarks import harness
from benchmarks.datasets import REPO, load_pages
from benchmarks.harness import say
from confluence_rag import index_schema as keys
from confluence_rag.components.vector_store import build_chroma_client, open_chunk_store
from confluence_rag.retrieval.filters import SearchFilters
from confluence_rag.retrieval.keyword import KeywordIndex
from confluence_rag.settings import Settings

WORDS_PER_CHUNK = 120
WRITE_BATCH = 5000
QUERIES = 200


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def vocabulary() -> list[str]:
    words: list[str] = []
    for folder in ("piaf_dev", "xquad_en", "docs_piwigo_fr_en"):
        for page in load_pages(folder):
            words += page.text.split()
    return words


def fill(store, n: int, words: list[str], rng: random.Random) -> None:
    for start in range(0, n, WRITE_BATCH):
        ids = [f"p{i // 8}#{i % 8}" for i in range(start, min(n, start + WRITE_BATCH))]
        store.collection.add(
            ids=ids,
            documents=[" ".join(rng.choices(words, k=WORDS_PER_CHUNK)) for _ in ids],
            metadatas=[
                {keys.PAGE_ID: i.split("#")[0], keys.SPACE_KEY: "S", keys.CHUNK_INDEX: int(i.split("#")[1])}
                for i in ids
            ],
            embeddings=[[rng.random() for _ in range(4)] for _ in ids],
        )
    store.bump_generation()


def query_latencies(index: KeywordIndex, queries: list[str], stop_after_s: float | None = None) -> list[float]:
    out = []
    deadline = time.monotonic() + stop_after_s if stop_after_s else None
    for q in queries:
        start = time.perf_counter()
        index.search(q, 40, SearchFilters())
        out.append((time.perf_counter() - start) * 1000)
        if deadline and time.monotonic() > deadline:
            break
    return out


def measure(n: int, words: list[str], workdir: Path, rng: random.Random) -> dict:
    settings = Settings(chroma_path=workdir / f"chroma-{n}", chroma_collection="scale")
    store = open_chunk_store(build_chroma_client(settings), "scale", {"bench": "keyword"})
    start = time.perf_counter()
    fill(store, n, words, rng)
    fill_s = time.perf_counter() - start
    gc.collect()
    before = rss_mib()
    index = KeywordIndex()
    start = time.perf_counter()
    index.sync(store)
    build_s = time.perf_counter() - start
    parts = dict(index.last_build_s)
    gc.collect()
    held = rss_mib() - before
    queries = [" ".join(rng.choices(words, k=6)) for _ in range(QUERIES)]
    idle = query_latencies(index, queries)
    # An ingestion batch changes 1 % of the chunks; the replica then rebuilds in its background thread
    # (re-reading everything, re-tokenizing only the changed texts) while it serves queries.
    changed = [f"p{i // 8}#{i % 8}" for i in rng.sample(range(n), max(1, n // 100))]
    store.collection.update(
        ids=changed,
        documents=[" ".join(rng.choices(words, k=WORDS_PER_CHUNK)) for _ in changed],
        embeddings=[[rng.random() for _ in range(4)] for _ in changed],
    )
    done = threading.Event()
    incremental: dict[str, float] = {}

    def rebuild() -> None:
        start = time.perf_counter()
        index._build(store, "bench")
        incremental["total"] = time.perf_counter() - start
        incremental.update(index.last_build_s)
        done.set()

    threading.Thread(target=rebuild, daemon=True).start()
    during: list[float] = []
    while not done.is_set():
        during += query_latencies(index, queries[:20])
    result = {
        "chunks": n,
        "fill_chroma_s": round(fill_s, 1),
        "rebuild_s": round(build_s, 2),
        "rebuild_parts_s": {k: round(v, 2) for k, v in parts.items()},
        "rebuild_after_1pct_change_s": round(incremental["total"], 2),
        "rebuild_after_1pct_change_parts_s": {k: round(v, 2) for k, v in incremental.items() if k != "total"},
        "rss_held_mib": round(held, 1),
        "query_idle_p50_ms": round(statistics.median(idle), 2),
        "query_during_rebuild_p50_ms": round(statistics.median(during), 2) if during else None,
        "query_during_rebuild_max_ms": round(max(during), 1) if during else None,
    }
    say(f"[keyword] {result}")
    store.client.delete_collection("scale")
    return result


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [
        "# Keyword index of a query-API replica (`make bench-keyword`)",
        "",
        "Generated by `benchmarks/keyword_scale.py`. Synthetic chunks of ~120 words drawn from the shared "
        "French and English pages, stored in embedded Chroma; the replica's `KeywordIndex` built from them, "
        "then rebuilt in its background thread after 1 % of the chunks changed (what a replica does during a "
        "sync) while queries run. What the limit means and the path past it: `docs/design.md`.",
        "",
        f"Machine: {m['cores']} cores ({m['cpu']}); commit {m['git_commit']}; {m['date']}; load average at start "
        f"{' '.join(f'{x:.1f}' for x in m['load_average_start'])}.",
        "",
        "| chunks | first build (s): read / tokenize / index | rebuild after 1 % changed (s): read / tokenize / "
        "index | RSS held (MiB) | query p50 idle (ms) | query p50 during rebuild (ms) | max during (ms) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result["sizes"]:
        lines.append(
            f"| {r['chunks']:,} | {r['rebuild_s']}: {_split(r['rebuild_parts_s'])} | "
            f"{r['rebuild_after_1pct_change_s']}: {_split(r['rebuild_after_1pct_change_parts_s'])} | "
            f"{r['rss_held_mib']} | {r['query_idle_p50_ms']} | "
            f"{r['query_during_rebuild_p50_ms']} | {r['query_during_rebuild_max_ms']} |"
        )
    return "\n".join(lines) + "\n"


def _split(parts: dict[str, float]) -> str:
    return " / ".join(str(parts.get(k, "–")) for k in ("read", "tokenize", "index"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 300_000])
    parser.add_argument("--no-write", action="store_true", help="print only, keep docs/bench as it is")
    args = parser.parse_args(argv)
    harness.quiet_logging()
    words = vocabulary()
    rng = random.Random(7)
    workdir = Path(tempfile.mkdtemp(prefix="kw-scale-"))
    try:
        result = {"machine": harness.machine(), "sizes": [measure(n, words, workdir, rng) for n in args.sizes]}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    text = markdown(result)
    print(text)
    harness.publish(result, text, None if args.no_write else REPO / "docs" / "bench" / "keyword_scale")


if __name__ == "__main__":
    main()
