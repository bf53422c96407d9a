"""`make run` and `make test` on a fresh clone leave `git status` clean.

The set-up steps that could touch tracked files run for real in a clone of the committed tree: npm
validates the lock the way `npm ci` does (and `npm install` keeps it as it is: it lists every
platform's optional packages). Everything set-up and the tests write (venv, data, node_modules, the
build, caches) is then laid out in the clone, and git must see none of it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.helpers import REPO

# What `make run` / `make test` / the tests / the tools write inside the repository.
SET_UP_OUTPUTS = (
    ".venv/.installed",
    ".venv/bin/python",
    "services/confluence_rag.egg-info/PKG-INFO",
    "services/confluence_rag/__pycache__/settings.cpython-311.pyc",
    "data/chroma/chroma.sqlite3",
    "data/state/jobs.json",
    "data/state/history.db",
    "data/eval/feedback/questions.jsonl",
    "data/onnx/model.onnx",
    "frontend-angular/node_modules/.install-stamp",
    "frontend-angular/dist/chat/browser/index.html",
    "frontend-angular/.angular/cache/21/chat/x",
    "test-artifacts/screenshot.png",
    ".run/logs/api.log",
    ".pytest_cache/v/cache/nodeids",
    ".ruff_cache/CACHEDIR.TAG",
    ".grimp_cache/x.json",
    ".schemathesis/default/cache/crashes/manifest.json",
    ".env",
)


def _git(clone: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=clone, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    target = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(target)], check=True, timeout=120)
    return target


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_set_up_leaves_a_fresh_clone_clean(clone: Path):
    frontend = clone / "frontend-angular"
    npm = ["--no-audit", "--no-fund", "--ignore-scripts"]
    dry_ci = subprocess.run(["npm", "ci", "--dry-run", *npm], cwd=frontend, capture_output=True, text=True, timeout=300)
    assert dry_ci.returncode == 0, "npm ci rejects the lock:\n" + dry_ci.stderr[-3000:]
    relock = subprocess.run(["npm", "install", "--package-lock-only", *npm], cwd=frontend, timeout=300)
    assert relock.returncode == 0
    for path in SET_UP_OUTPUTS:
        (clone / path).parent.mkdir(parents=True, exist_ok=True)
        (clone / path).write_text("x", encoding="utf-8")
    assert _git(clone, "status", "--porcelain") == ""
