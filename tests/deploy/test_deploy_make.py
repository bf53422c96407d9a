"""deploy/deploy.mk: `make ingest` / `make sync` go to the compose worker when it runs, else run locally.

A stand-in for `docker compose` (COMPOSE=...) answers `ps` like a running or stopped stack and records
what `exec` is asked to run; a stand-in CLI (CLI=...) records the local command. `make_venv=true`
skips the venv step, which belongs to the top Makefile.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.deploy.helpers import REPO


@pytest.fixture
def fakes(tmp_path: Path) -> dict[str, Path]:
    record = tmp_path / "record.txt"
    compose = tmp_path / "compose"
    compose.write_text(
        "#!/bin/bash\n"
        'if [[ $1 == ps ]]; then [[ -f "$(dirname "$0")/running" ]] && echo 3f2a1b; exit 0; fi\n'
        f'echo "compose $*" >> {record}\n'
    )
    cli = tmp_path / "cli"
    cli.write_text(f'#!/bin/bash\necho "local $* CHROMA_PORT=${{CHROMA_PORT:-unset}}" >> {record}\n')
    for f in (compose, cli):
        f.chmod(0o755)
    return {"compose": compose, "cli": cli, "record": record, "dir": tmp_path}


def make(fakes: dict[str, Path], *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    env.pop("CHROMA_PORT", None)
    return subprocess.run(
        ["make", "--no-print-directory", *args, f"COMPOSE={fakes['compose']}", f"CLI={fakes['cli']}",
         "make_venv=true", f"LOCAL_RUN_DIR={fakes['dir'] / 'run'}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def recorded(fakes: dict[str, Path]) -> list[str]:
    return fakes["record"].read_text().splitlines() if fakes["record"].exists() else []


def test_ingest_needs_a_space(fakes):
    result = make(fakes, "ingest")
    assert result.returncode == 2 and "usage: make ingest SPACE=KEY" in result.stderr
    assert recorded(fakes) == []


def test_ingest_and_sync_run_locally_without_compose(fakes):
    assert make(fakes, "ingest", "SPACE=RH").returncode == 0
    assert make(fakes, "ingest", "SPACE=RH", "FULL=1").returncode == 0
    assert make(fakes, "ingest", "SPACE=RH", "FULL=0").returncode == 0
    assert make(fakes, "sync").returncode == 0
    assert recorded(fakes) == [
        "local ingest RH CHROMA_PORT=unset",
        "local ingest RH --full CHROMA_PORT=unset",
        "local ingest RH CHROMA_PORT=unset",
        "local sync CHROMA_PORT=unset",
    ]


def test_local_ingest_targets_the_running_local_stack(fakes):
    run = fakes["dir"] / "run"
    run.mkdir()
    (run / "stack.env").write_text("CHROMA_HOST=127.0.0.1\nCHROMA_PORT=18100\n")
    result = make(fakes, "ingest", "SPACE=RH")
    assert result.returncode == 0, result.stderr
    assert "local stack running" in result.stdout
    assert recorded(fakes) == ["local ingest RH CHROMA_PORT=18100"]


def test_ingest_and_sync_go_to_the_compose_scheduler_when_it_runs(fakes):
    (fakes["dir"] / "running").touch()
    assert make(fakes, "ingest", "SPACE=RH", "FULL=1").returncode == 0
    assert make(fakes, "sync").returncode == 0
    # stdin is not a terminal here: -T, so that `docker compose exec` does not ask for a TTY.
    assert recorded(fakes) == [
        "compose exec -T ingest-scheduler confluence-rag ingest RH --full",
        "compose exec -T ingest-scheduler confluence-rag sync",
    ]


def test_a_failing_ingestion_fails_make(fakes):
    fakes["cli"].write_text("#!/bin/bash\nexit 1\n")
    assert make(fakes, "ingest", "SPACE=RH").returncode != 0


def test_ingest_distributed_runs_the_cli_with_its_workers(fakes):
    assert make(fakes, "ingest-distributed").returncode == 2
    assert make(fakes, "ingest-distributed", "SPACE=RH", "WORKERS=4", "BROKER_URL=redis://r:6379/0").returncode == 0
    assert make(fakes, "ingest-distributed", "SPACE=RH", "FULL=1", "BROKER_URL=redis://r:6379/0").returncode == 0
    assert recorded(fakes) == [
        "local ingest-distributed RH --workers 4 CHROMA_PORT=unset",
        "local ingest-distributed RH --workers 2 --full CHROMA_PORT=unset",
    ]
    fakes["cli"].write_text("#!/bin/bash\nexit 1\n")
    assert make(fakes, "ingest-distributed", "SPACE=RH", "BROKER_URL=redis://r:6379/0").returncode != 0
