"""The repository stands alone: no tracked file points into the research notes beside it.

Facts the code relies on are copied into `docs/` with their public sources (`docs/confluence.md`).
Only the data location of `make eval` / `make bench` may name the folder beside the repository, and
this test only looks for the research notes and the target design file, which nothing may name.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Built from parts so that this file does not match itself.
FORBIDDEN = ("shared" + "/research", "ARCHITECTURE" + ".md")
# Where the labelled data sets are read from: these places name `../shared/data` on purpose.
DATA_LOCATION_FILES = {"tests/benchmarks/test_datasets.py", "tests/fixtures/data/README.md"}


def _allowed(path: str) -> bool:
    return path.startswith("benchmarks/") or path in DATA_LOCATION_FILES


def _offending_lines(path: str, text: str) -> list[str]:
    lines = text.splitlines()
    if path == "README.md":  # its troubleshooting line says where `make eval` reads its data
        lines = [line for line in lines if "../shared/data" not in line]
    return [f"{path}: {line.strip()}" for line in lines if any(word in line for word in FORBIDDEN)]


def test_no_tracked_file_points_into_shared_research() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, check=True, capture_output=True, timeout=30
    ).stdout.decode()
    offending = []
    for path in filter(None, tracked.split("\0")):
        file = REPO / path
        if _allowed(path) or path.endswith(".lock") or not file.is_file():
            continue
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError:  # binary fixtures
            continue
        offending += _offending_lines(path, text)
    assert not offending, "copy the facts into docs/ with their sources instead:\n" + "\n".join(offending)
