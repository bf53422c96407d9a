"""Fixtures for the deployment tests (helpers live in helpers.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from tests.deploy.helpers import (
    REPO,
    UP,
    VENV,
    Stack,
    free_ports,
    pid_alive,
    public_tempdir,
)


@pytest.fixture(scope="session")
def compose() -> dict:
    with open(REPO / "docker-compose.yml", encoding="utf-8") as f:
        return yaml.safe_load(f)


@pytest.fixture
def local_stack() -> Iterator[Callable[..., Stack]]:
    """Factory: start deploy/local/up.sh on free ports in a fresh run dir; always stopped after."""
    stacks: list[Stack] = []

    def start(
        *,
        venv: Path = VENV,
        frontend_dist: Path | None = None,
        extra_env: dict[str, str] | None = None,
        timeout: float = 400,
    ) -> Stack:
        run_dir = public_tempdir("deploy-stack-")
        ports = dict(
            zip(
                ("NGINX_PORT", "API_PORT", "WORKER_PORT", "CHROMA_PORT"),
                free_ports(4),
                strict=True,
            )
        )
        env = dict(os.environ)
        env.update({k: str(v) for k, v in ports.items()})
        env.update(
            {
                "LOCAL_RUN_DIR": str(run_dir),
                "VENV": str(venv),
                "FRONTEND_DIST": str(frontend_dist or run_dir / "no-frontend"),
                "UP_TIMEOUT": "240",
                # Keep the services quiet and offline whatever the developer's .env says.
                "SYNC_INTERVAL_MINUTES": "0",
                "LLM_MODEL": "",
                "CONFLUENCE_SPACES": "",
            }
        )
        env.update(extra_env or {})
        stack = Stack(run_dir=run_dir, ports=ports, env=env)
        stacks.append(stack)
        stack.up = subprocess.run([str(UP)], env=env, capture_output=True, text=True, timeout=timeout)
        stack.pids = stack.read_pids()
        return stack

    yield start

    for stack in stacks:
        pids = stack.pids or stack.read_pids()
        result = stack.down()
        leftovers = {name: pid for name, pid in pids.items() if pid_alive(pid)}
        for pid in leftovers.values():  # never leave a process behind, even when the test failed
            try:
                if os.getpgid(pid) == pid:  # each was started as a group leader (setsid, nginx daemon)
                    os.killpg(pid, 9)
                else:
                    os.kill(pid, 9)
            except ProcessLookupError:
                pass
        shutil.rmtree(stack.run_dir, ignore_errors=True)
        assert not leftovers, f"down.sh left processes running: {leftovers}\n{result.stdout}\n{result.stderr}"
