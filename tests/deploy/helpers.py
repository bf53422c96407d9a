"""Helpers for the deployment tests: repository paths, free loopback ports, processes."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
UP = DEPLOY / "local" / "up.sh"
DOWN = DEPLOY / "local" / "down.sh"
RENDER = DEPLOY / "local" / "render-nginx.sh"
VENV = REPO / ".venv"
# The placeholders of deploy/nginx/nginx.conf.template.
VARS = (
    "NGINX_USER",
    "NGINX_LISTEN",
    "NGINX_ROOT",
    "API_UPSTREAM",
    "NGINX_PREFIX",
    "NGINX_LOG_DIR",
    "CSP_CONNECT_SRC",
    "NGINX_AUTH_PROXY",
)
# Variables of .env.example that docker compose interpolates and that are no settings of the Python services.
COMPOSE_ONLY = frozenset(
    {"FRONTEND_PORT", "CSP_CONNECT_SRC", "NGINX_AUTH_PROXY", "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"}
)


def venv_or_path_binary(name: str) -> str | None:
    """The virtualenv's binary if there is one, else the one on PATH."""
    candidate = VENV / "bin" / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    return shutil.which(name)


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    assert found, "nginx is not installed: `apt-get install -y nginx` (the Makefile's test set-up does it)"
    return found


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (bound to port 0 together, then released)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by its parent) is gone for our purposes.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def public_tempdir(prefix: str) -> Path:
    """A temp dir that nginx's unprivileged workers can traverse (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


@dataclass
class Stack:
    run_dir: Path
    ports: dict[str, int]
    env: dict[str, str]
    up: subprocess.CompletedProcess[str] | None = None
    pids: dict[str, int] = field(default_factory=dict)

    @property
    def nginx_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['NGINX_PORT']}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['API_PORT']}"

    @property
    def worker_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['WORKER_PORT']}"

    @property
    def chroma_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['CHROMA_PORT']}"

    def read_pids(self) -> dict[str, int]:
        files = {name: self.run_dir / "pids" / f"{name}.pid" for name in ("chroma", "worker", "api")}
        files["nginx"] = self.run_dir / "nginx" / "nginx.pid"
        return {name: int(p.read_text().strip()) for name, p in files.items() if p.is_file()}

    def down(self, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(DOWN)], env=self.env, capture_output=True, text=True, timeout=timeout)


def ingest_via_api(base_url: str, space_key: str, admin_token: str, timeout: float = 300) -> dict:
    """Start an ingestion job through the API (as the admin panel does) and return it once finished."""
    auth = {"Authorization": f"Bearer {admin_token}"}
    started = httpx.post(f"{base_url}/api/ingest/jobs", json={"space_key": space_key}, headers=auth, timeout=30)
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = httpx.get(f"{base_url}/api/ingest/jobs/{started.json()['id']}", headers=auth, timeout=30).json()
        if job["status"] in {"succeeded", "failed"}:
            return job
        time.sleep(0.5)
    raise AssertionError(f"ingestion of {space_key} did not finish in {timeout}s")


def pids_from_output(text: str) -> dict[str, int]:
    """PIDs that up.sh announced ("up-local: chroma started (PID 123), ...")."""
    return {m[1]: int(m[2]) for m in re.finditer(r"up-local: (\S+) started \(PID (\d+)\)", text)}


def kill_group_or_pid(pid: int, sig: int = 9) -> None:
    try:
        if os.getpgid(pid) == pid:  # started as a group leader (setsid, nginx daemon)
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def nginx_user() -> str:
    if os.geteuid() != 0:
        return os.environ.get("USER", "nobody")
    return "www-data" if subprocess.run(["id", "www-data"], capture_output=True).returncode == 0 else "nobody"


def render(out: Path, **values: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in VARS}
    env.update(values)
    subprocess.run([str(RENDER), str(out)], env=env, check=True, capture_output=True, text=True)
    return out.read_text(encoding="utf-8")


def local_values(base: Path, listen: str, upstream: str, root: Path) -> dict[str, str]:
    (base / "nginx").mkdir(exist_ok=True)
    (base / "logs").mkdir(exist_ok=True)
    return {
        "NGINX_USER": nginx_user(),
        "NGINX_LISTEN": listen,
        "NGINX_ROOT": str(root),
        "API_UPSTREAM": upstream,
        "NGINX_PREFIX": str(base / "nginx"),
        "NGINX_LOG_DIR": str(base / "logs"),
        "CSP_CONNECT_SRC": "'self'",
        "NGINX_AUTH_PROXY": "none",
    }


@contextmanager
def running_nginx(base: Path, values: dict[str, str]) -> Iterator[str]:
    """Debian's nginx on the template rendered with `values` (local_values), under `base`; its URL."""
    conf = base / "nginx" / "nginx.conf"
    render(conf, **values)
    cmd = [nginx_binary(), "-p", f"{base}/nginx/", "-c", str(conf), "-e", str(base / "logs" / "error.log")]
    pidfile = base / "nginx" / "nginx.pid"
    url = f"http://{values['NGINX_LISTEN']}"
    try:
        subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=30)
        assert wait_until(lambda: answers_200(f"{url}/healthz"), 10), "nginx did not start"
        yield url
    finally:
        master = int(pidfile.read_text()) if pidfile.exists() else None
        subprocess.run([*cmd, "-s", "quit"], capture_output=True, timeout=30)
        if master and not wait_until(lambda: not pid_alive(master), 15):
            kill_group_or_pid(master)


def answers_200(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
