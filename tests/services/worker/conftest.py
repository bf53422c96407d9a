"""Distributed ingestion fixtures: Debian's redis-server on a free loopback port, real Celery workers
as processes, the Confluence fake over HTTP, the session's Chroma server."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from confluence_rag.worker.local_cluster import stop, wait_for_workers, worker_command
from tests.conftest import confluence_settings, subprocess_env
from tests.fakes.confluence import FakeConfluence, generated_space

PAGES = 12  # per space; batches of 3 pages


class Cluster:
    """Celery worker processes sharing one Redis, one Chroma collection and one fake Confluence."""

    def __init__(self, env: dict[str, str], logs: Path):
        self.env = env
        self.logs = logs
        self.workers: list[subprocess.Popen] = []

    def add_worker(self) -> subprocess.Popen:
        log = open(self.logs / f"worker-{len(self.workers)}.log", "wb")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(worker_command(), env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.workers.append(proc)
        return proc

    def alive(self) -> list[subprocess.Popen]:
        return [p for p in self.workers if p.poll() is None]

    def kill(self, proc: subprocess.Popen) -> None:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop(self) -> None:
        for proc in self.alive():
            proc.send_signal(signal.SIGTERM)
        for proc in self.workers:
            stop(proc)


@pytest.fixture(scope="module")
def cluster_confluence() -> Iterator[FakeConfluence]:
    fake = FakeConfluence(cloud=True, page_cap=10)
    for key in ("ONE", "KILL", "REDIS"):
        generated_space(fake, key, PAGES)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def cluster_settings(redis_server, chroma_server, cluster_confluence, tmp_path_factory) -> dict:
    """Settings shared by the workers and the planner of this module (a collection of its own)."""
    values = {
        **confluence_settings(cluster_confluence),
        "embedding_backend": "torch",  # as make_settings: the fast bundled model for integration tests
        "broker_url": redis_server.url,
        "broker_visibility_timeout_s": 8.0,
        "broker_wait_s": 60.0,
        "ingest_batch_pages": 3,
        "chroma_host": "127.0.0.1",
        "chroma_port": chroma_server.port,
        "chroma_collection": f"d{uuid.uuid4().hex[:12]}",
        "confluence_max_backoff_s": 2.0,
        "state_dir": tmp_path_factory.mktemp("worker-state"),
        "log_level": "INFO",
    }
    return values


@pytest.fixture(scope="module")
def cluster(cluster_settings, tmp_path_factory) -> Iterator[Cluster]:
    env = subprocess_env({k.upper(): str(v) for k, v in cluster_settings.items()})
    env["PYTHONPATH"] = os.environ.get("PYTHONPATH", "")
    logs = tmp_path_factory.mktemp("worker-logs")
    group = Cluster(env, logs)
    for _ in range(2):
        group.add_worker()
    try:
        from confluence_rag.settings import Settings

        wait_for_workers(Settings(_env_file=None, **cluster_settings), 2, group.workers)
        yield group
    finally:
        group.stop()
        for path in sorted(logs.iterdir()):
            text = path.read_text(errors="replace")
            if "Traceback" in text:
                print(f"--- {path.name} (last 3000 chars) ---\n{text[-3000:]}")
