"""deploy/local/up.sh and down.sh mechanics, with the real Chroma server and nginx but a stand-in
for `confluence-rag api|worker` (tests/deploy/fake_backend.py), so they run in seconds and do not
depend on the backend. test_deploy_local_stack.py runs the same scripts with the real services.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.deploy.helpers import (
    DOWN,
    UP,
    VENV,
    pid_alive,
    pids_from_output,
    port_is_free,
    public_tempdir,
    wait_until,
)

FAKE_BACKEND = Path(__file__).with_name("fake_backend.py")
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def fake_venv():
    """A 'virtualenv' whose chroma is the real one and whose confluence-rag is the stand-in."""
    real_chroma = VENV / "bin" / "chroma"
    assert real_chroma.exists(), "the project's .venv (make venv) provides the chroma server"
    venv = public_tempdir("fake-venv-")
    (venv / "bin").mkdir()
    (venv / "bin" / "chroma").symlink_to(real_chroma)
    cli = venv / "bin" / "confluence-rag"
    cli.write_text(
        f"#!{sys.executable}\n"
        "import runpy, sys\n"
        f"sys.argv[0] = {str(FAKE_BACKEND)!r}\n"
        f"runpy.run_path({str(FAKE_BACKEND)!r}, run_name='__main__')\n"
    )
    cli.chmod(cli.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    yield venv
    for p in sorted(venv.rglob("*"), reverse=True):
        p.unlink() if p.is_file() or p.is_symlink() else p.rmdir()
    venv.rmdir()


@pytest.fixture(scope="module")
def dist():
    path = public_tempdir("fake-dist-")
    (path / "index.html").write_text("<!doctype html><app-root></app-root>\n")
    (path / "main-ABCD2345.js").write_text("console.log(1);\n")
    yield path
    for p in path.iterdir():
        p.unlink()
    path.rmdir()


def test_up_then_down(local_stack, fake_venv, dist):
    stack = local_stack(venv=fake_venv, frontend_dist=dist, extra_env={"PASS_THROUGH_PROBE": "from-caller"})
    up = stack.up
    assert up.returncode == 0, up.stdout + up.stderr

    # Announced URL and one PID file per process, all alive.
    assert f"chat page    {stack.nginx_url}/" in up.stdout
    assert set(stack.pids) == {"chroma", "worker", "api", "nginx"}
    assert all(pid_alive(pid) for pid in stack.pids.values()), stack.pids
    for name in ("chroma", "worker", "api"):
        assert (stack.run_dir / "logs" / f"{name}.log").stat().st_size > 0, name
    assert (stack.run_dir / "logs" / "nginx" / "access.log").exists()

    # Health, directly and through nginx.
    assert httpx.get(f"{stack.chroma_url}/api/v2/heartbeat").status_code == 200
    assert httpx.get(f"{stack.worker_url}/health").json() == {"status": "ok"}
    assert httpx.get(f"{stack.nginx_url}/api/health").json() == {"status": "ok"}
    assert httpx.get(f"{stack.nginx_url}/api/ready").json()["ready"] is True
    assert "<app-root>" in httpx.get(f"{stack.nginx_url}/any/route").text

    # Topology variables set by up.sh; the caller's other variables passed through.
    env = httpx.get(f"{stack.api_url}/api/debug/env").json()
    assert env["CHROMA_HOST"] == "127.0.0.1" and env["CHROMA_PORT"] == str(stack.ports["CHROMA_PORT"])
    assert env["WORKER_URL"] == stack.worker_url
    assert env["API_HOST"] == "127.0.0.1"
    assert env["STATE_DIR"] == str(stack.run_dir / "data" / "state")
    assert env["HF_HUB_OFFLINE"] == "1" and env["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"
    assert env["PASS_THROUGH_PROBE"] == "from-caller"
    assert (stack.run_dir / "data" / "chroma").is_dir()

    # stack.env tells `make ingest` (and people) where this stack is.
    stack_env = (stack.run_dir / "stack.env").read_text()
    assert f"CHROMA_PORT={stack.ports['CHROMA_PORT']}\n" in stack_env
    assert f"FRONTEND_URL={stack.nginx_url}/\n" in stack_env

    # SSE through nginx arrives event by event (the stand-in waits 0.4 s between events).
    times = []
    with httpx.stream("POST", f"{stack.nginx_url}/api/chat", json={"messages": []}, timeout=30) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("event: "):
                times.append(time.monotonic())
    assert len(times) == 6 and times[-1] - times[0] > 1.2

    # A second up.sh refuses to start a second stack in the same run dir.
    again = subprocess.run([str(UP)], env=stack.env, capture_output=True, text=True, timeout=60)
    assert again.returncode != 0 and "already running" in again.stderr

    down = stack.down()
    assert down.returncode == 0, down.stdout + down.stderr
    assert wait_until(lambda: not any(pid_alive(p) for p in stack.pids.values()), 10), stack.pids
    assert all(port_is_free(port) for port in stack.ports.values()), stack.ports
    assert not list((stack.run_dir / "pids").glob("*.pid"))
    assert not (stack.run_dir / "nginx" / "nginx.pid").exists()
    assert not (stack.run_dir / "stack.env").exists()
    # Idempotent.
    assert stack.down().returncode == 0


def test_a_service_that_does_not_come_up_fails_loudly_and_cleans_up(local_stack, fake_venv, dist):
    stack = local_stack(venv=fake_venv, frontend_dist=dist, extra_env={"FAKE_BACKEND_FAIL": "1"})
    assert stack.up.returncode != 0
    assert "simulated start-up failure: bad settings" in stack.up.stderr  # the log tail
    assert "exited before" in stack.up.stderr
    started = pids_from_output(stack.up.stdout)
    assert "chroma" in started  # chroma had come up and must be stopped again
    assert wait_until(lambda: not any(pid_alive(p) for p in started.values()), 10), started
    assert all(port_is_free(port) for port in stack.ports.values())


def test_a_taken_port_is_refused_before_anything_starts(local_stack, fake_venv, dist):
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    try:
        stack = local_stack(venv=fake_venv, frontend_dist=dist, extra_env={"API_PORT": str(blocker.getsockname()[1])})
        assert stack.up.returncode != 0
        assert "API_PORT" in stack.up.stderr and "already in use" in stack.up.stderr
        assert pids_from_output(stack.up.stdout) == {}
    finally:
        blocker.close()


def test_down_leaves_an_unrelated_process_alone():
    """A stale pid file whose PID now belongs to another program: down.sh must not kill it."""
    run_dir = public_tempdir("stale-run-")
    other = subprocess.Popen(["sleep", "60"])
    try:
        (run_dir / "pids").mkdir()
        (run_dir / "pids" / "api.pid").write_text(f"{other.pid}\n")
        result = subprocess.run(
            [str(DOWN)], env={**os.environ, "LOCAL_RUN_DIR": str(run_dir)}, capture_output=True, text=True, timeout=30
        )
        assert result.returncode == 0, result.stderr
        assert "leaving it alone" in result.stdout
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()
        for p in sorted(run_dir.rglob("*"), reverse=True):
            p.unlink() if p.is_file() else p.rmdir()
        run_dir.rmdir()
