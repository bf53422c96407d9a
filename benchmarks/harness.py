"""Shared by eval, tuning and bench: serve sets through the Confluence fake, ingest them through
the real ingestion path (`ingest_space`) into embedded Chroma, and describe the machine."""

from __future__ import annotations

import json
import logging
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import confluence_rag  # noqa: F401  (offline / no-telemetry environment before heavy imports)
from benchmarks.datasets import REPO, EvalSet, serve
from confluence_rag.container import Components
from confluence_rag.ingestion.indexer import SyncStats
from confluence_rag.settings import Settings
from confluence_rag.worker.runs import ingest_space
from tests.fakes.confluence import FakeConfluence

RETRIEVAL_FIELDS = (
    "embedding_model",
    "embedding_backend",
    "embedding_batch_size",
    "chunk_size",
    "chunk_overlap",
    "retrieval_mode",
    "fusion",
    "vector_weight",
    "keyword_weight",
    "rrf_k",
    "candidate_depth",
)


def quiet_logging() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("httpx", "chromadb", "sentence_transformers", "confluence_rag", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)


def say(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def start_fake(evalsets: list[EvalSet], port: int = 0) -> FakeConfluence:
    # A large server page cap: paging is tested elsewhere; here it would only add requests.
    fake = FakeConfluence(cloud=True, page_cap=100)
    for evalset in evalsets:
        serve(fake, evalset)
    fake.start(port=port)
    return fake


def make_settings(fake: FakeConfluence, workdir: Path, collection: str, **overrides) -> Settings:
    """Product defaults (and RETRIEVAL env variables, if set) pointed at the fake and a temp Chroma."""
    values = {
        "confluence_url": fake.base_url,
        "confluence_cloud": True,
        "confluence_username": fake.username,
        "confluence_api_token": fake.api_token,
        "chroma_host": "",
        "chroma_path": workdir / "chroma",
        "chroma_collection": collection,
        "state_dir": workdir / "state",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@dataclass
class Ingested:
    components: Components
    stats: SyncStats
    seconds: float
    cpu_seconds: float  # this process, every thread (the fake, the engine's threads, embedded Chroma)


def ingest(fake: FakeConfluence, workdir: Path, space: str, **overrides) -> Ingested:
    return ingest_with(Components(make_settings(fake, workdir, space.lower(), **overrides)), space)


def ingest_with(components: Components, space: str) -> Ingested:
    components.embedder  # load the model outside the timing  # noqa: B018
    start, cpu = time.perf_counter(), time.process_time()
    stats = ingest_space(components, space)
    return Ingested(components, stats, time.perf_counter() - start, time.process_time() - cpu)


def settings_summary(settings: Settings) -> dict:
    return {name: getattr(settings, name) for name in RETRIEVAL_FIELDS if hasattr(settings, name)}


def settings_line(settings: dict, tail: str = "") -> str:
    """A report's settings bullet: `- Settings: `NAME=value`, …` (settings from `settings_summary`)."""
    return "- Settings: " + ", ".join(f"`{k.upper()}={v}`" for k, v in settings.items()) + (tail or ".")


def margin_line(modes: dict[str, dict[str, float]], scores: tuple[str, ...]) -> str:
    """`hit@1 +0.012, …`: the hybrid minus the better of keyword-only and vector-only, per score."""
    best = {s: max(modes["keyword"][s], modes["vector"][s]) for s in scores}
    return ", ".join(f"{s} {modes['hybrid'][s] - best[s]:+.3f}" for s in scores)


def machine() -> dict:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "services", "benchmarks"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        if dirty:
            commit += " + uncommitted changes in services/ or benchmarks/"
    except OSError:
        commit = ""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "git_commit": commit,
        "load_average_start": list(os.getloadavg()),
    }


def load_note(extra: dict) -> None:
    """Record the load average at the end: on a shared 2-core box it says how contended a run was."""
    extra["load_average_end"] = list(os.getloadavg())


def publish(result: dict, text: str, out: Path | None) -> None:
    """Print the Markdown report; with `out`, also write results.json and README.md there."""
    print(text)
    if out is not None:
        write_json(out / "results.json", result)
        (out / "README.md").write_text(text, encoding="utf-8")
        say(f"wrote {out / 'results.json'} and {out / 'README.md'}")


def write_report(out: Path, stem: str, result: dict, text: str) -> None:
    """Write a benchmark's results as `stem`.json and its Markdown report as `stem`.md in `out`."""
    write_json(out / f"{stem}.json", result)
    (out / f"{stem}.md").write_text(text, encoding="utf-8")
    say(f"wrote {out / stem}.md and .json")


def render(data: Path, report: Path, markdown: Callable[[dict], str]) -> None:
    """Rewrite a Markdown report from its saved results (after its notes were edited), without rerunning."""
    report.write_text(markdown(json.loads(data.read_text(encoding="utf-8"))), encoding="utf-8")
    say(f"rendered {report}")


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
