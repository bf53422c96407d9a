"""`make ingest-distributed SPACE=KEY WORKERS=N` on one machine: what it starts, and stops.

- Redis: BROKER_URL when set; else Debian's `redis-server` on a free loopback port (no persistence:
  it lives for this one run).
- Chroma: CHROMA_HOST when set; else `chroma run` on CHROMA_PATH, the folder `make ingest` and
  `make run` use embedded, so both commands build the same index (N processes cannot share an
  embedded Chroma folder, a server can).
- N `confluence-rag celery-worker` processes, each one batch at a time.
Everything it started is stopped on the way out, failure or not.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx
import redis
from pydantic import SecretStr

from confluence_rag.components.rate_limit import connect_redis
from confluence_rag.settings import Settings
from confluence_rag.worker.distributed import make_celery

log = logging.getLogger(__name__)


class ClusterError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis(folder: Path, port: int | None = None, *, persist: bool = False) -> subprocess.Popen:
    """Debian's redis-server on loopback, in the foreground of a child process, data in `folder`."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise ClusterError("redis-server is not installed: `make redis-install` (Debian's redis-server package)")
    folder.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    args = [exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder), "--save", ""]
    args += ["--appendonly", "yes" if persist else "no", "--daemonize", "no", "--protected-mode", "yes"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1, socket_connect_timeout=1)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ClusterError(f"redis-server exited with {proc.returncode} on port {port}")
        try:
            client.ping()
            return proc
        except redis.RedisError:
            time.sleep(0.1)
    stop(proc)
    raise ClusterError(f"redis-server did not answer on port {port}")


def stop(proc: subprocess.Popen | None, timeout: float = 15) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def worker_command() -> list[str]:
    return [sys.executable, "-m", "confluence_rag.cli", "celery-worker"]


def wait_for_workers(settings: Settings, count: int, procs: list[subprocess.Popen], timeout: float = 180) -> None:
    """Until `count` workers answer a ping (their model is loaded), or one of them exited."""
    app = make_celery(settings)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [p.pid for p in procs if p.poll() is not None]
            if dead:
                raise ClusterError(f"ingest worker(s) {dead} exited during start-up (see their log above)")
            if len(app.control.ping(timeout=1.0) or []) >= count:
                return
        raise ClusterError(f"{count} ingest workers did not answer within {timeout:.0f} s")
    finally:
        app.close()


class LocalCluster:
    """Context manager: yields the settings that point at what it started."""

    def __init__(self, settings: Settings, workers: int, env: dict[str, str] | None = None):
        """`settings` are the planner's; the workers read theirs from the environment (and .env), plus `env`."""
        if workers < 1:
            raise ClusterError("WORKERS must be at least 1")
        self.settings = settings
        self.workers = workers
        self.env = env or {}
        self.procs: list[subprocess.Popen] = []
        self.redis: subprocess.Popen | None = None
        self.chroma: subprocess.Popen | None = None
        self.tmp = Path(tempfile.mkdtemp(prefix="ingest-distributed-"))

    def __enter__(self) -> Settings:
        try:
            return self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def _start(self) -> Settings:
        updates: dict[str, object] = {}
        if not self.settings.broker_url.get_secret_value():
            port = free_port()
            self.redis = start_redis(self.tmp / "redis", port)
            updates["broker_url"] = SecretStr(f"redis://127.0.0.1:{port}/0")
            log.info("started redis-server on 127.0.0.1:%d", port)
        else:
            connect_redis(self.settings.broker_url.get_secret_value()).ping()
        if not self.settings.chroma_host:
            port = free_port()
            self.chroma = self._start_chroma(port)
            updates.update(chroma_host="127.0.0.1", chroma_port=port)
            log.info("started chroma on 127.0.0.1:%d for %s", port, self.settings.chroma_path)
        settings = self.settings.model_copy(update=updates) if updates else self.settings
        env = {**os.environ, **self.env}
        env["BROKER_URL"] = settings.broker_url.get_secret_value()
        env["CHROMA_HOST"], env["CHROMA_PORT"] = settings.chroma_host, str(settings.chroma_port)
        for _ in range(self.workers):
            self.procs.append(subprocess.Popen(worker_command(), env=env))
        wait_for_workers(settings, self.workers, self.procs)
        log.info("%d ingest workers ready", self.workers)
        return settings

    def _start_chroma(self, port: int) -> subprocess.Popen:
        path = Path(self.settings.chroma_path)
        path.mkdir(parents=True, exist_ok=True)
        exe = Path(sys.executable).parent / "chroma"
        proc = subprocess.Popen(
            [str(exe), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ClusterError(f"chroma exited with {proc.returncode} (is {path} used by another process?)")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2).status_code == 200:
                    return proc
            except httpx.HTTPError:
                time.sleep(0.2)
        stop(proc)
        raise ClusterError("chroma did not answer within 30 s")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # warm shutdown: the current batch finishes or is redelivered
        for proc in self.procs:
            stop(proc)
        stop(self.chroma)
        stop(self.redis)
        shutil.rmtree(self.tmp, ignore_errors=True)
