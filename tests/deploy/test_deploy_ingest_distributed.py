"""`make ingest-distributed SPACE=KEY WORKERS=N` itself, as other tooling drives it: it indexes a space
exactly as `make ingest SPACE=KEY` does (pages, chunks, vectors, metadata, read access) and stops what it
started (Redis, Chroma, the workers), on success and on failure.

Real parts: the Makefile target, the CLI it runs, Debian's redis-server and `chroma run` started by the
target, real Celery worker processes, the Confluence fake over HTTP (with a restricted subtree, so
access is part of what is compared). WORKERS=2, not 4: these machines have two cores.
`make_venv=true` skips the venv step (the top Makefile's, tested by the clean-clone test): the target
runs the CLI of the venv running these tests. Every process the target starts inherits a marker in its
environment, which is how the test finds them (and proves none is left) without touching anyone else's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import chromadb
import numpy as np
import pytest
from chromadb.config import Settings as ChromaSettings

from tests.conftest import confluence_settings, free_port, subprocess_env
from tests.deploy.helpers import REPO, kill_group_or_pid
from tests.fakes.confluence import FakeConfluence

pytestmark = pytest.mark.timeout(300)

SPACE = "MK"
MARK = "CONFLUENCE_RAG_TEST_MAKE_RUN"
COLLECTION = "confluence"


@pytest.fixture(scope="module")
def confluence() -> Iterator[FakeConfluence]:
    """A dozen short pages: a tree, a subtree restricted to a group, a page restricted again inside it."""
    fake = FakeConfluence(cloud=True, page_cap=5)
    fake.add_space(SPACE, "Make space")
    fake.add_group("staff", ["alice", "bob", "carol"])
    fake.add_group("security", ["alice", "bob"])
    fake.set_space_permissions(SPACE, groups=["staff"])
    home = fake.add_page(SPACE, "Home", "<h1 id='home'>Home</h1><p>Start here.</p>")
    for n in range(7):
        fake.add_page(SPACE, f"Guide {n}", f"<h2 id='g{n}'>Guide {n}</h2><p>Step {n}: restart the service.</p>",
                      parent=home.id, labels=[f"l{n % 2}"])  # fmt: skip
    secret = fake.add_page(SPACE, "Security", "<p>Incident contacts and the vault procedure.</p>", parent=home.id)
    fake.set_read_restriction(secret.id, groups=["security"])
    fake.add_page(SPACE, "Vault", "<p>Vault keys rotate every month.</p>", parent=secret.id)
    audit = fake.add_page(SPACE, "Audit", "<p>Only Alice reads the audit log.</p>", parent=secret.id)
    fake.set_read_restriction(audit.id, users=["alice"])
    fake.add_page(SPACE, "Audit 2026", "<p>The 2026 audit found nothing.</p>", parent=audit.id)
    fake.start()
    yield fake
    fake.stop()


def _env(fake: FakeConfluence, tmp: Path, name: str, marker: str) -> dict[str, str]:
    """The same settings for both targets but where the index and the sync state go."""
    settings = {k.upper(): str(v) for k, v in confluence_settings(fake).items()}
    settings.update(
        {
            "CHROMA_PATH": str(tmp / name / "chroma"),
            "CHROMA_HOST": "",  # the target starts `chroma run` on CHROMA_PATH itself
            "CHROMA_COLLECTION": COLLECTION,
            "STATE_DIR": str(tmp / name / "state"),
            "BROKER_URL": "",  # the target starts its own Redis on loopback
            "PERMISSIONS": "confluence",
            "EMBEDDING_BACKEND": "torch",  # the fast bundled model, as the other integration tests
            "INGEST_BATCH_PAGES": "3",  # 12 pages: 4 batches for 2 workers
            "CONFLUENCE_MAX_BACKOFF_S": "2",
            "TMPDIR": str(tmp / name),  # LocalCluster's Redis folder lands here
            MARK: marker,
        }
    )
    env = {k: v for k, v in subprocess_env(settings).items() if not k.startswith("MAKE")}
    env["PYTHONPATH"] = os.environ.get("PYTHONPATH", "")
    return env


@dataclass(frozen=True)
class Proc:
    ppid: int
    started: int  # clock ticks after boot: a pid reused later is another process
    command: str
    marked: bool


def _processes(marker: str) -> dict[int, Proc]:
    """Every live process on the machine: parent, start time, command line, marker in its environment.
    (redis-server rewrites its title over its environment, hence the parent links too.)"""
    needle = f"{MARK}={marker}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if stat[0] == "Z":  # exited, not yet reaped: gone for our purposes
                continue
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            try:
                marked = needle in (entry / "environ").read_bytes().split(b"\0")
            except OSError:  # not ours
                marked = False
            found[int(entry.name)] = Proc(int(stat[1]), int(stat[19]), command, marked)
        except (OSError, IndexError, ValueError):  # gone meanwhile
            continue
    return found


def _descendants(root: int, procs: dict[int, Proc]) -> set[int]:
    found, todo = set(), [root]
    while todo:
        parent = todo.pop()
        children = [pid for pid, proc in procs.items() if proc.ppid == parent and pid not in found]
        found.update(children)
        todo += children
    return found


@dataclass
class MakeRun:
    code: int | None
    output: str
    seen: dict[tuple[int, int], set[str]]  # every process make started, (pid, start time) → its command lines
    left: dict[int, str]  # those still running once make had returned (killed by the test)

    def started(self, *parts: str) -> int:
        """How many processes had a command line with every part (redis-server retitles itself)."""
        return sum(any(all(p in c for p in parts) for c in lines) for lines in self.seen.values())


def _make(tmp: Path, name: str, env: dict[str, str], *args: str) -> MakeRun:
    """Run a make target with the environment `env`, watching the processes it starts."""
    (tmp / name).mkdir(parents=True, exist_ok=True)
    log = tmp / name / "make.log"
    command = ["make", "--no-print-directory", *args, f"VENV={sys.prefix}", "make_venv=true", "COMPOSE=false",
               f"LOCAL_RUN_DIR={tmp / name / 'run'}"]  # fmt: skip
    seen: dict[tuple[int, int], set[str]] = {}
    left: dict[int, str] = {}
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)  # fmt: skip
        try:
            deadline = time.monotonic() + 240
            while proc.poll() is None and time.monotonic() < deadline:
                procs = _processes(env[MARK])
                for pid in _descendants(proc.pid, procs) | {p for p, info in procs.items() if info.marked}:
                    seen.setdefault((pid, procs[pid].started), set()).add(procs[pid].command)
                time.sleep(0.2)
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)
        finally:
            procs = _processes(env[MARK])
            left = {
                pid: info.command
                for pid, info in procs.items()
                if info.marked or (pid, info.started) in seen and pid != proc.pid
            }
            for pid in left:  # never leave a process behind, even when the test failed
                kill_group_or_pid(pid)
    return MakeRun(proc.returncode, log.read_text(errors="replace"), seen, left)


def _index(path: Path) -> tuple[dict[str, tuple], dict, dict[str, str]]:
    """chunk id → (document, metadata, embedding); the collection's fingerprint; the access records."""
    client = chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))
    collection = client.get_collection(COLLECTION)
    got = collection.get(include=["documents", "metadatas", "embeddings"])
    chunks = {
        i: (doc, meta, np.asarray(emb))
        for i, doc, meta, emb in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True)
    }
    side = client.get_collection(f"{COLLECTION}__meta").get(include=["documents"])
    records = {i: d for i, d in zip(side["ids"], side["documents"], strict=True) if i.startswith("access:")}
    return chunks, dict(collection.metadata or {}), {i: _without_read_times(i, d) for i, d in records.items()}


def _without_read_times(record_id: str, document: str) -> str | dict:
    """The operators' provenance records say when a pass read Confluence: compare what, not when."""
    if record_id.startswith("access:trail:"):
        return {k: v for k, v in json.loads(document).items() if k != "read_at"}
    if record_id == "access:groups_read":
        return sorted(json.loads(document))
    return document


@pytest.mark.slow
def test_make_ingest_distributed_indexes_the_space_as_make_ingest_does(confluence, redis_available, tmp_path):
    marker = uuid.uuid4().hex
    dist_env = _env(confluence, tmp_path, "distributed", marker)
    run = _make(tmp_path, "distributed", dist_env, "ingest-distributed", f"SPACE={SPACE}", "WORKERS=2")
    assert run.code == 0, run.output
    assert f"ingest-distributed {SPACE} --workers 2" in run.output
    assert "12 pages fetched (12 added" in run.output and "0 failed" in run.output, run.output
    # It did start its own Redis, Chroma and two workers, and stopped every one of them.
    chroma = f" run --path {tmp_path / 'distributed' / 'chroma'} --host 127.0.0.1 "
    assert run.started("redis-server") == run.started("redis-server", "127.0.0.1") == 1, run.seen
    assert run.started(chroma) == 1, run.seen
    assert run.started("-m confluence_rag.cli celery-worker") == 2, run.seen
    assert run.left == {}, "make ingest-distributed left processes running"
    assert not list((tmp_path / "distributed").glob("ingest-distributed-*")), "its temporary folder was left"

    one = _make(tmp_path, "one", _env(confluence, tmp_path, "one", marker), "ingest", f"SPACE={SPACE}")
    assert one.code == 0, one.output
    assert one.started("redis-server") == one.started("celery-worker") == 0  # one process, no broker

    got, got_fingerprint, got_records = _index(tmp_path / "distributed" / "chroma")
    want, want_fingerprint, want_records = _index(tmp_path / "one" / "chroma")
    pages = {meta["page_id"] for _, meta, _ in want.values()}
    assert pages == {p.id for p in confluence.pages.values()}  # every page, the restricted ones too
    assert {meta["page_id"] for _, meta, _ in got.values()} == pages
    assert sorted(got) == sorted(want)  # same chunk ids: same chunking, no duplicates
    for chunk_id, (doc, meta, emb) in want.items():
        assert got[chunk_id][0] == doc, chunk_id
        assert got[chunk_id][1] == meta, chunk_id  # every key: access, and LlamaIndex's node copy too
        assert np.allclose(got[chunk_id][2], emb, atol=1e-4), chunk_id
    assert got_fingerprint == want_fingerprint
    assert got_records == want_records and f"access:space:{SPACE}" in got_records  # space grant, groups

    # The access is Confluence's: the restricted subtree carries its layers, nested ones intersected.
    by_title = {meta["title"]: meta for _, meta, _ in got.values()}
    groups = {name: g.id for name, g in confluence.groups.items()}
    alice = confluence.users["alice"].account_id
    assert json.loads(by_title["Guide 0"]["access_layers"]) == []
    assert json.loads(by_title["Vault"]["access_layers"]) == [[f"g:{groups['security']}"]]
    assert sorted(json.loads(by_title["Audit 2026"]["access_layers"])) == sorted(
        [[f"g:{groups['security']}"], [f"u:{alice}"]]
    )
    assert len({by_title[t]["access_key"] for t in ("Guide 0", "Security", "Audit")}) == 3

    # Both runs moved the sync point with the same fingerprint: a later incremental run plans alike.
    states = [
        json.loads((tmp_path / n / "state" / "sync_state.json").read_text())[SPACE] for n in ("distributed", "one")
    ]
    assert states[0]["fingerprint"] == states[1]["fingerprint"] and all(s["last_success"] for s in states)


@pytest.mark.parametrize(
    ("space", "settings", "message"),
    [
        ("NOPE", {}, "ingest-distributed: space NOPE: Space 'NOPE' not found or not visible to this account."),
        (
            SPACE,
            {"CONFLUENCE_URL": "closed", "CONFLUENCE_MAX_RETRIES": "0"},
            "Confluence unreachable at http://127.0.0.1:",
        ),
    ],
    ids=["unknown-space", "confluence-unreachable"],
)
def test_make_ingest_distributed_fails_clearly_before_starting_anything(
    confluence, redis_available, tmp_path, space, settings, message
):
    marker = uuid.uuid4().hex
    env = _env(confluence, tmp_path, "failed", marker)
    if settings.get("CONFLUENCE_URL") == "closed":
        settings["CONFLUENCE_URL"] = f"http://127.0.0.1:{free_port()}/wiki"  # nothing listens there
    env.update(settings)
    run = _make(tmp_path, "failed", env, "ingest-distributed", f"SPACE={space}", "WORKERS=2")
    assert run.code != 0
    assert message in run.output, run.output
    assert run.started("redis-server") == run.started("celery-worker") == run.started(" run --path ") == 0
    assert run.left == {}
    assert not (tmp_path / "failed" / "state" / "sync_state.json").exists()
