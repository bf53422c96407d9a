"""`make bench-distributed` (and the end of `make bench`): ingestion pages/s with 1, 2 and 4 Celery workers.

One generated space (`--pages`, default 128, one to three chunks per page) served by the Confluence
fake with `--confluence-latency` seconds per request (default 0.2 s: a remote Confluence). For each
worker count, `LocalCluster` starts Debian's redis-server, a Chroma server and N
`confluence-rag celery-worker` processes and waits until every worker answers a ping (model
loaded); then one full sync is timed, planner included (listing, batches, deletions, sync point).
A one-process sync (`make ingest`: embedded Chroma, no Redis) of the same space is the baseline.

Embeddings (`--embedding`):
- `local`: a bundled CPU model inside each worker (`--backend`, default torch: MiniLM), what limits
  it: the machine's cores;
- `server`: EMBEDDING_BACKEND=openai against the embedding-server fake with `--embedding-latency`
  seconds per request (default 0.4 s: a remote GPU server). Its vectors here are deterministic
  hashes, not the model's (`_TimingOnlyServer`): a GPU server's compute is small next to the
  network round trip, while the fake's real model would compete with the workers for this
  machine's cores and measure them instead. Tests use the real-vector fake.

    .venv/bin/python -m benchmarks.bench_distributed --embedding local
    .venv/bin/python -m benchmarks.bench_distributed --embedding server --pages 256
Results: docs/bench/distributed-<embedding>.json and .md (with --no-write: printed only).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import harness
from benchmarks.datasets import REPO
from benchmarks.harness import say
from confluence_rag.container import Components
from confluence_rag.settings import Settings
from confluence_rag.worker.local_cluster import LocalCluster
from confluence_rag.worker.runs import ingest_space
from tests.fakes.confluence import FakeConfluence, generated_space

SPACE = "SCALE"
WORKER_COUNTS = (1, 2, 4)


def _embedding(args, stack: list) -> dict[str, str]:
    """Settings (as environment variables) for the chosen embeddings; starts the fake server if needed."""
    if args.embedding == "local":
        return {"EMBEDDING_BACKEND": args.backend}
    if "embedding_api_base" not in Settings.model_fields:
        raise SystemExit("--embedding server needs EMBEDDING_BACKEND=openai (not in this checkout)")
    from tests.fakes.embedding_server import MODEL_NAME, FakeEmbeddingServer

    class _TimingOnlyServer(FakeEmbeddingServer):
        def embed(self, texts: list[str]) -> np.ndarray:
            seeds = [int.from_bytes(hashlib.sha256(t.encode()).digest()[:4], "little") for t in texts]
            out = np.stack([np.random.default_rng(s).standard_normal(384) for s in seeds]).astype(np.float32)
            return out / np.linalg.norm(out, axis=1, keepdims=True)

    server = _TimingOnlyServer(latency_s=args.embedding_latency)
    server.start()
    stack.append(server)
    return {
        "EMBEDDING_BACKEND": "openai",
        "EMBEDDING_API_BASE": server.api_base,
        "EMBEDDING_API_MODEL": MODEL_NAME,
        "EMBEDDING_QUERY_PREFIX": "query: ",
        "EMBEDDING_PASSAGE_PREFIX": "passage: ",
        "EMBEDDING_API_TIMEOUT_S": "120",
    }


def _settings(env: dict[str, str], workdir: Path) -> Settings:
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return Settings(_env_file=None, chroma_path=workdir / "chroma", state_dir=workdir / "state")
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _timed_sync(components: Components) -> dict:
    components.embedder.model.get_text_embedding("warm-up")  # model / client loaded outside the timing
    start = time.perf_counter()
    stats = ingest_space(components, SPACE, full=True)
    seconds = time.perf_counter() - start
    assert stats.pages_failed == 0, stats.failures
    return {
        "seconds": round(seconds, 2),
        "pages": stats.pages_done,
        "chunks": stats.chunks_written,
        "pages_per_s": round(stats.pages_done / seconds, 2),
        "chunks_per_s": round(stats.chunks_written / seconds, 2),
    }


def run(args) -> dict:
    result: dict = {"machine": harness.machine(), "args": vars(args), "runs": {}}
    fake = FakeConfluence(cloud=True, page_cap=50)
    generated_space(fake, SPACE, args.pages)
    fake.start()
    stack: list = []
    try:
        base_env = {
            "CONFLUENCE_URL": fake.base_url,
            "CONFLUENCE_CLOUD": "true",
            "CONFLUENCE_USERNAME": fake.username,
            "CONFLUENCE_API_TOKEN": fake.api_token,
            "INGEST_BATCH_PAGES": str(args.batch_pages),
            "LOG_LEVEL": "WARNING",
            **_embedding(args, stack),
        }
        fake.latency_s = args.confluence_latency
        with tempfile.TemporaryDirectory(prefix="bench-distributed-") as tmp:
            one = Path(tmp) / "one-process"
            say("one process (make ingest)")
            result["runs"]["one_process"] = _timed_sync(Components(_settings(base_env, one)))
            say(result["runs"]["one_process"])
            for workers in WORKER_COUNTS:
                workdir = Path(tmp) / f"workers-{workers}"
                settings = _settings(base_env, workdir)
                say(f"{workers} worker(s): starting redis, chroma and the workers")
                with LocalCluster(settings, workers, env=base_env) as cluster_settings:
                    result["runs"][f"workers_{workers}"] = _timed_sync(Components(cluster_settings))
                say(result["runs"][f"workers_{workers}"])
    finally:
        for server in stack:
            server.stop()
        fake.stop()
    one_worker = result["runs"]["workers_1"]["pages_per_s"]
    one_process = result["runs"]["one_process"]["pages_per_s"]
    workers = {name: r for name, r in result["runs"].items() if name.startswith("w")}
    result["speedup_vs_1_worker"] = {name: round(r["pages_per_s"] / one_worker, 2) for name, r in workers.items()}
    result["speedup_vs_one_process"] = {name: round(r["pages_per_s"] / one_process, 2) for name, r in workers.items()}
    harness.load_note(result["machine"])
    return result


def markdown(result: dict) -> str:
    a = result["args"]
    lines = [
        f"# Distributed ingestion: {a['embedding']} embeddings",
        "",
        f"{a['pages']} generated pages, batches of {a['batch_pages']} pages, Confluence fake at "
        f"{a['confluence_latency']} s per request"
        + (f", embedding-server fake at {a['embedding_latency']} s per request" if a["embedding"] == "server" else "")
        + ". Timed: one full sync, planner included, workers already started.",
        "",
        "| run | seconds | pages/s | chunks/s | speed-up vs 1 worker | vs one process (`make ingest`) |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in result["runs"].items():
        speedup = result["speedup_vs_1_worker"].get(name, "")
        vs_one = result.get("speedup_vs_one_process", {}).get(name, "")
        label = name.replace("_", " ")
        lines.append(f"| {label} | {r['seconds']} | {r['pages_per_s']} | {r['chunks_per_s']} | {speedup} | {vs_one} |")
    m = result["machine"]
    lines += [
        "",
        f"Machine: {m['cores']} cores ({m['cpu']}), commit {m['git_commit']}, {m['date']}; load average "
        f"{m['load_average_start'][0]:.1f} at start, {m.get('load_average_end', [0])[0]:.1f} at end.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedding", choices=("local", "server"), default="local")
    parser.add_argument("--backend", default="torch", help="EMBEDDING_BACKEND of --embedding local")
    parser.add_argument("--pages", type=int, default=128)
    parser.add_argument("--batch-pages", type=int, default=8)
    parser.add_argument("--confluence-latency", type=float, default=0.2)
    parser.add_argument("--embedding-latency", type=float, default=0.4)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    harness.quiet_logging()
    result = run(args)
    text = markdown(result)
    print(text)
    if not args.no_write:
        harness.write_report(REPO / "docs" / "bench", f"distributed-{args.embedding}", result, text)


if __name__ == "__main__":
    main()
