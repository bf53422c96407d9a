"""Ingestion jobs: queued, run one at a time, one per space at most, history kept on disk.

Used by the ingest worker's control API, and in-process by the query API in embedded mode
(`make run`), where a second process could not open the same embedded Chroma folder.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path

from confluence_rag.components.metrics import CHUNKS_INDEXED, PAGES_INDEXED, SYNC_FAILURES, SYNC_SECONDS
from confluence_rag.container import Components
from confluence_rag.ingestion.indexer import SyncStats
from confluence_rag.worker.runs import ingest_space, permission_pass

log = logging.getLogger(__name__)
HISTORY = 100  # jobs kept, in memory and in the history file


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class Job:
    """One ingestion run: identity, status and timing, plus its progress counters."""

    space_key: str
    full: bool = False
    kind: str = "sync"  # sync | permissions (the permission pass alone: nothing re-embedded)
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    status: str = "queued"  # queued | running | succeeded | failed
    error: str | None = None
    created_at: str = field(default_factory=_now)
    started_at: str | None = None
    finished_at: str | None = None
    duration_s: float | None = None
    stats: SyncStats = field(default_factory=SyncStats)

    def update(self, stats: SyncStats) -> None:
        self.stats = SyncStats(**{**stats.as_dict(), "failures": list(stats.failures)})

    def public(self) -> dict:
        """The job as the API shows it: its fields and its counters side by side."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "stats"}
        return {**self.stats.as_dict(), **data}

    @classmethod
    def from_record(cls, raw: dict) -> Job:
        """A job from the history file (also the older flat records, counters beside the fields)."""
        raw = dict(raw)
        stats = raw.pop("stats", None)
        if stats is None:
            stats = {name: raw.pop(name) for name in SyncStats.__dataclass_fields__ if name in raw}
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known}, stats=SyncStats(**stats))


def _count_pages(stats: SyncStats) -> None:
    """A finished job's page and chunk counts into the metrics (a distributed run's are its totals)."""
    for outcome in ("added", "updated", "unchanged", "deleted", "failed"):
        PAGES_INDEXED.labels(outcome).inc(getattr(stats, f"pages_{outcome}"))
    CHUNKS_INDEXED.inc(stats.chunks_written)


class JobConflict(RuntimeError):
    pass


class JobManager:
    def __init__(self, components: Components, state_dir: Path):
        self.components = components
        self.path = Path(state_dir) / "jobs.json"
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest")
        # Held by each job and by each scheduled permission pass (access_watch.py): one index writer at a time.
        self.writer_lock = threading.Lock()
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        for raw in json.loads(self.path.read_text(encoding="utf-8")):
            job = Job.from_record(raw)
            if job.status in ("queued", "running"):
                job.status, job.error = "failed", "interrupted: the worker stopped during this job"
            self._jobs[job.id] = job
        self._trim()

    def _trim(self) -> None:
        """Forget the oldest finished jobs beyond HISTORY (in memory as in the file)."""
        finished = [
            j for j in sorted(self._jobs.values(), key=lambda j: j.created_at) if j.status in ("succeeded", "failed")
        ]
        for job in finished[: max(0, len(self._jobs) - HISTORY)]:
            del self._jobs[job.id]

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._trim()
        jobs = sorted(self._jobs.values(), key=lambda j: j.created_at)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps([asdict(j) for j in jobs], indent=1), encoding="utf-8")
        tmp.replace(self.path)

    def start(self, space_key: str, full: bool = False, kind: str = "sync") -> Job:
        with self._lock:
            busy = [j for j in self._jobs.values() if j.space_key == space_key and j.status in ("queued", "running")]
            if busy:
                raise JobConflict(f"a sync of space {space_key!r} is already {busy[0].status} (job {busy[0].id})")
            job = Job(space_key=space_key, full=full, kind=kind)
            self._jobs[job.id] = job
            self._save()
        self._executor.submit(self._run, job)
        return job

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def list(self) -> list[Job]:
        with self._lock:
            jobs = list(self._jobs.values())
        return sorted(jobs, key=lambda j: j.created_at, reverse=True)

    def _run(self, job: Job) -> None:
        started = time.perf_counter()
        job.status, job.started_at = "running", _now()
        with self._lock:
            self._save()
        try:
            with self.writer_lock:
                if job.kind == "permissions":
                    stats = permission_pass(self.components, job.space_key)
                else:
                    stats = ingest_space(self.components, job.space_key, full=job.full, progress=job.update)
            job.update(stats)
            job.status = "succeeded"
        except Exception as exc:  # reported on the job; the worker keeps running
            log.exception("job %s (space %r) failed", job.id, job.space_key)
            job.status, job.error = "failed", str(exc) or type(exc).__name__
            SYNC_FAILURES.labels(job.kind).inc()
        job.finished_at = _now()
        job.duration_s = round(time.perf_counter() - started, 2)
        SYNC_SECONDS.labels(job.kind).observe(job.duration_s)
        _count_pages(job.stats)
        with self._lock:
            self._save()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
