"""The project's one Python install command takes exactly the lock, whatever the index publishes later.

`deploy/pip-install-lock.sh` is what `make venv` and `deploy/Dockerfile` run. These tests run it for real,
offline, in a fresh venv (the pip that `python3 -m venv` brings, as on a new machine), against a local
package index: a folder of wheels built here. The index holds the locked releases plus a newer release of
one of them, the shape of the day httpx 0.29.0 appeared: a locked package (`lockdemo-app`, like chromadb)
asks for `lockdemo-lib>=1.0` (like `httpx>=0.27.0`), and the lock pins `lockdemo-lib[http2]==1.0` with
an extra (like `httpx[http2]==0.28.1`). A resolving install picks 2.0 and stops on its missing hash.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.deploy.helpers import REPO

INSTALL = REPO / "deploy/pip-install-lock.sh"


def _wheel(folder: Path, name: str, version: str, requires: tuple[str, ...] = (), extras: tuple[str, ...] = ()) -> Path:
    """A minimal pure-Python wheel (PEP 427): one module exposing __version__, its METADATA, WHEEL, RECORD."""
    module, dist = name.replace("-", "_"), f"{name.replace('-', '_')}-{version}"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Provides-Extra: {e}\n" for e in extras) + "".join(f"Requires-Dist: {r}\n" for r in requires)
    files = {
        f"{module}/__init__.py": f"__version__ = '{version}'\n",
        f"{dist}.dist-info/METADATA": metadata,
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    files[f"{dist}.dist-info/RECORD"] = "\n".join([*record, f"{dist}.dist-info/RECORD,,"]) + "\n"
    target = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w") as archive:
        for path, text in files.items():
            archive.writestr(zipfile.ZipInfo(path, (2020, 1, 1, 0, 0, 0)), text)
    return target


def _locked(wheel: Path, requirement: str) -> str:
    return f"{requirement} \\\n    --hash=sha256:{hashlib.sha256(wheel.read_bytes()).hexdigest()}\n"


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("index")
    extra = ('lockdemo-h2>=1.0; extra == "http2"',)
    app = _wheel(folder, "lockdemo-app", "1.0", requires=("lockdemo-lib>=1.0",))
    lib = _wheel(folder, "lockdemo-lib", "1.0", requires=extra, extras=("http2",))
    h2 = _wheel(folder, "lockdemo-h2", "1.0")
    _wheel(folder, "lockdemo-lib", "2.0", requires=extra, extras=("http2",))  # published after the lock
    lock = (
        _locked(app, "lockdemo-app==1.0") + _locked(h2, "lockdemo-h2==1.0") + _locked(lib, "lockdemo-lib[http2]==1.0")
    )
    (folder / "requirements.lock").write_text(lock, encoding="utf-8")
    return folder


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    """A fresh venv with the pip that `python3 -m venv` brings, as `make venv` creates it."""
    python3 = shutil.which("python3")
    assert python3, "python3 is not on PATH"
    subprocess.run([python3, "-m", "venv", str(tmp_path / "venv")], check=True, timeout=120)
    return tmp_path / "venv"


def _offline_env(index: Path) -> dict[str, str]:
    """Only the local index: no configuration file, no other index or find-links of this machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_FIND_LINKS=str(index), PIP_NO_CACHE_DIR="1")
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def _install(venv: Path, index: Path, lock: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(INSTALL), str(venv / "bin/python"), str(lock)],
        env=_offline_env(index),
        capture_output=True,
        text=True,
        timeout=180,
    )


def _version(venv: Path, module: str) -> str:
    code = f"import {module}; print({module}.__version__)"
    return subprocess.run(
        [str(venv / "bin/python"), "-c", code], check=True, capture_output=True, text=True
    ).stdout.strip()


def test_the_install_takes_the_locked_release_though_a_newer_one_is_on_the_index(venv: Path, index: Path):
    done = _install(venv, index, index / "requirements.lock")
    assert done.returncode == 0, done.stdout + done.stderr
    assert _version(venv, "lockdemo_lib") == "1.0"
    assert _version(venv, "lockdemo_app") == "1.0" and _version(venv, "lockdemo_h2") == "1.0"


def test_a_resolving_install_breaks_on_this_index(venv: Path, index: Path):
    """The fixture reproduces the failure of the day: the pre-fix command resolves, picks 2.0, stops."""
    resolving = subprocess.run(
        [str(venv / "bin/python"), "-m", "pip", "install", "--require-hashes", "-r", str(index / "requirements.lock")],
        env=_offline_env(index),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert resolving.returncode != 0
    assert "lockdemo_lib-2.0" in resolving.stdout + resolving.stderr


def test_an_incomplete_lock_is_refused(venv: Path, index: Path, tmp_path: Path):
    """Without resolution a dependency missing from the lock would go unnoticed: pip check catches it."""
    lines = (index / "requirements.lock").read_text(encoding="utf-8").splitlines(keepends=True)
    without_lib = "".join(lines[:4])  # each entry is two lines: app, h2, then lib (which app requires)
    assert "lockdemo-lib" not in without_lib
    (tmp_path / "incomplete.lock").write_text(without_lib, encoding="utf-8")
    done = _install(venv, index, tmp_path / "incomplete.lock")
    assert done.returncode != 0
    assert "lockdemo-app 1.0 requires lockdemo-lib, which is not installed" in done.stdout + done.stderr


def test_a_file_that_does_not_match_its_hash_is_refused(venv: Path, index: Path, tmp_path: Path):
    lock = (index / "requirements.lock").read_text(encoding="utf-8")
    app_hash = lock.split("--hash=sha256:")[1][:64]
    (tmp_path / "tampered.lock").write_text(lock.replace(app_hash, "0" * 64), encoding="utf-8")
    done = _install(venv, index, tmp_path / "tampered.lock")
    assert done.returncode != 0
    assert "THESE PACKAGES DO NOT MATCH THE HASHES" in done.stderr
