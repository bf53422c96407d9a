"""Helpers the benchmarks use to run services on loopback (their own: benchmarks do not import tests)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    """Until `url` answers below 500 (or `proc` exits, or `timeout` seconds pass)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def subprocess_env(settings_env: dict[str, str]) -> dict[str, str]:
    """This environment without any product setting of the developer's, plus `settings_env`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONFLUENCE_", "LLM_", "LITELLM_", "CHROMA_"))}
    env.update(settings_env)
    return env
