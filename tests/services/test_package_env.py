"""What importing the package sets before any heavy library loads (confluence_rag/__init__.py)."""

import subprocess
import sys

from tests.conftest import subprocess_env

SHOW = "import os, confluence_rag; print(os.environ['OMP_WAIT_POLICY'], os.environ['HF_HUB_OFFLINE'])"


def _env_after_import(**overrides: str) -> str:
    env = {k: v for k, v in subprocess_env({}).items() if k not in ("OMP_WAIT_POLICY", "HF_HUB_OFFLINE")}
    env.update(overrides)
    return subprocess.run([sys.executable, "-c", SHOW], env=env, capture_output=True, text=True, check=True).stdout


def test_openmp_threads_sleep_when_idle_unless_the_operator_says_otherwise():
    assert _env_after_import().split() == ["PASSIVE", "1"]
    assert _env_after_import(OMP_WAIT_POLICY="ACTIVE").split() == ["ACTIVE", "1"]
