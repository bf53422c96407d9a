"""Ingestion fanned out over Celery workers on a Redis broker (BROKER_URL set).

The planner (the process running the sync: `make ingest`, a job of the worker app) plans the sync
once, exactly as in one process (`ingestion.sync.plan_ids`: the cheap listing, diffed against the
index), splits the ids into batches of INGEST_BATCH_PAGES and publishes one task per batch. Any
number of `confluence-rag celery-worker` processes fetch their batch by ids, then convert, chunk,
embed and write it with the same `Indexer.index` as a one-process sync. The planner follows the
run's counters in Redis (its progress, whatever the number of workers) and, only once every batch
has succeeded, deletes the pages that left the space and moves the sync point.

Read access (permissions on) also follows the one-process sync: the planner reads the space's access
once, before planning (the workers add no permission request to the shared Confluence budget), and
stores it with the run in Redis; each worker loads it once per run and `Indexer.index` stamps every
chunk it writes, in its metadata and in LlamaIndex's serialized node copy, so no chunk is ever
written without its access. The run ends with the same permission pass over the whole space.

What makes it safe:
- late acknowledgement: a batch is acknowledged after it was written; a worker killed mid-batch
  leaves it unacknowledged and Redis delivers it again after BROKER_VISIBILITY_TIMEOUT_S. Chunk ids
  are deterministic (`page_id#n`) and a page's chunks are replaced as a unit, so a batch written
  twice leaves no duplicates;
- a batch's counters are added once (a Lua script keyed by the batch number), however often it ran;
- no batch finished for a visibility timeout: the planner publishes again the batches not yet done
  (a message lost with a Redis restart, measured in the tests; a duplicate is skipped or rewritten
  without harm); after three such periods (no worker at all?) the run fails, clearly;
- Redis down: the planner waits up to BROKER_WAIT_S for it, then fails with a clear error; workers
  reconnect by themselves. Nothing was deleted and the sync point did not move, so a rerun (or the
  next scheduled sync) redoes only what is missing. With Redis persistence (compose: appendonly),
  a run resumes where it was once Redis is back.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

import redis
from celery import Celery, Task
from kombu.exceptions import OperationalError

from confluence_rag.access.rule import SpaceAccess
from confluence_rag.components.rate_limit import connect_redis, redacted
from confluence_rag.container import Components
from confluence_rag.ingestion.indexer import Indexer, ProgressFn, SyncStats
from confluence_rag.ingestion.source import PageSource
from confluence_rag.ingestion.sync import SyncState, finish_sync, plan_ids, start_sync
from confluence_rag.settings import Settings, get_settings
from confluence_rag.web.metrics import serve_metrics

log = logging.getLogger(__name__)

TASK_NAME = "confluence_rag.index_batch"
QUEUE = "confluence_rag.ingest"
RUN_TTL_S = 7 * 24 * 3600
COUNTERS = ("pages_done", "pages_added", "pages_updated", "pages_unchanged", "pages_failed", "chunks_written")
MAX_FAILURES_KEPT = 100
T = TypeVar("T")


class BrokerUnavailable(RuntimeError):
    """Redis (BROKER_URL) cannot be reached; the message says what to do."""


class DistributedRunFailed(RuntimeError):
    pass


# --- the run's shared state in Redis ---------------------------------------------------------------

# KEYS: done set, stats hash, failures list, running hash. ARGV: batch no, stats JSON, failures JSON.
_BATCH_DONE = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
local stats = cjson.decode(ARGV[2])
for name, value in pairs(stats) do redis.call('HINCRBY', KEYS[2], name, value) end
redis.call('HINCRBY', KEYS[2], 'batches_done', 1)
for _, failure in ipairs(cjson.decode(ARGV[3])) do redis.call('RPUSH', KEYS[3], failure) end
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[4]) - 1)
redis.call('HDEL', KEYS[4], ARGV[1])
return 1
"""


@dataclass
class RunSnapshot:
    status: str
    batches: int
    pages_total: int
    counters: dict[str, int]
    failed: dict[str, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def batches_done(self) -> int:
        return self.counters.get("batches_done", 0)


class RunStore:
    """One distributed run's keys: meta, counters, done batches, failed batches, page failures."""

    def __init__(self, client: redis.Redis, run_id: str):
        self.client = client
        self.run_id = run_id
        prefix = f"confluence_rag:run:{run_id}"
        self.meta, self.stats, self.done = f"{prefix}:meta", f"{prefix}:stats", f"{prefix}:done"
        self.failed, self.failures, self.running = f"{prefix}:failed", f"{prefix}:failures", f"{prefix}:running"
        self.access = f"{prefix}:access"
        self._batch_done = client.register_script(_BATCH_DONE)

    def create(self, space_key: str, batches: int, pages_total: int, access: SpaceAccess | None = None) -> None:
        """The run's keys, in one transaction: its access (when permissions are on) exists with its meta."""
        meta = {"space_key": space_key, "batches": batches, "pages_total": pages_total, "status": "running"}
        meta["permissions"] = int(access is not None)
        pipe = self.client.pipeline()
        pipe.hset(self.meta, mapping=meta)
        pipe.hset(self.stats, mapping={name: 0 for name in (*COUNTERS, "batches_done")})
        keys = [self.meta, self.stats]
        if access is not None:
            pipe.set(self.access, access.to_json())
            keys.append(self.access)
        for key in keys:
            pipe.expire(key, RUN_TTL_S)
        pipe.execute()

    def load_access(self) -> SpaceAccess | None:
        """The access the planner read (None: permissions off). Raises when it should be there and is not."""
        pipe = self.client.pipeline()
        pipe.hget(self.meta, "permissions")
        pipe.get(self.access)
        wanted, text = pipe.execute()
        if wanted in (None, b"0"):
            return None
        if text is None:  # deny when unsure: never write chunks without their access
            raise DistributedRunFailed(f"run {self.run_id}: its access is missing from Redis")
        return SpaceAccess.from_json(text.decode())

    def set_status(self, status: str) -> None:
        self.client.hset(self.meta, "status", status)

    def status(self) -> str | None:
        value = self.client.hget(self.meta, "status")
        return value.decode() if value else None

    def is_done(self, batch_no: int) -> bool:
        return bool(self.client.sismember(self.done, batch_no))

    def batch_started(self, batch_no: int, worker: str) -> None:
        self.client.hset(self.running, batch_no, worker)
        self.client.expire(self.running, RUN_TTL_S)

    def batch_done(self, batch_no: int, stats: SyncStats) -> bool:
        """Add the batch's counters once (True), or nothing if it was already counted (False)."""
        counters = {name: getattr(stats, name) for name in COUNTERS}
        added = self._batch_done(
            keys=[self.done, self.stats, self.failures, self.running],
            args=[batch_no, json.dumps(counters), json.dumps(stats.failures[:MAX_FAILURES_KEPT]), MAX_FAILURES_KEPT],
        )
        for key in (self.done, self.failures):
            self.client.expire(key, RUN_TTL_S)
        return bool(added)

    def batch_failed(self, batch_no: int, message: str) -> None:
        self.client.hset(self.failed, batch_no, message)
        self.client.expire(self.failed, RUN_TTL_S)

    def done_batches(self) -> set[int]:
        return {int(b) for b in self.client.smembers(self.done)}

    def running_batches(self) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.client.hgetall(self.running).items()}

    def snapshot(self) -> RunSnapshot | None:
        pipe = self.client.pipeline()
        pipe.hgetall(self.meta)
        pipe.hgetall(self.stats)
        pipe.hgetall(self.failed)
        pipe.lrange(self.failures, 0, MAX_FAILURES_KEPT - 1)
        meta, stats, failed, failures = pipe.execute()
        if not meta:
            return None
        return RunSnapshot(
            status=meta[b"status"].decode(),
            batches=int(meta[b"batches"]),
            pages_total=int(meta[b"pages_total"]),
            counters={k.decode(): int(v) for k, v in stats.items()},
            failed={k.decode(): v.decode() for k, v in failed.items()},
            failures=[f.decode() for f in failures],
        )


# --- the Celery app --------------------------------------------------------------------------------


def make_celery(settings: Settings) -> Celery:
    """The Celery app of the planner and of the workers, from settings."""
    url = settings.broker_url.get_secret_value()
    visibility = settings.broker_visibility_timeout_s
    app = Celery("confluence_rag", broker=url, set_as_current=False)
    app.conf.update(
        task_default_queue=QUEUE,
        task_ignore_result=True,  # results travel through the run's counters, not a result backend
        task_acks_late=True,  # acknowledged once written: a killed worker's batch is delivered again
        task_reject_on_worker_lost=True,
        # A batch that raised is acknowledged (the default): left unacknowledged it would hold the
        # worker's only prefetch slot until restart. `index_batch` turns every failure into a retry
        # or a recorded failure while Redis is up; when Redis is down the acknowledgement cannot
        # reach it either, and the batch comes back after the visibility timeout.
        worker_prefetch_multiplier=1,  # a worker holds one batch at a time, the others stay queued
        broker_transport_options={
            "visibility_timeout": visibility,
            # Look for batches of dead workers often (cheap), so redelivery follows the timeout closely.
            "unacked_restore_interval": max(1, min(10, int(visibility / 5))),
            "unacked_restore_throttle": 1,
            "socket_timeout": 10,
            "socket_connect_timeout": 5,
        },
        broker_connection_timeout=5,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # workers wait for Redis as long as it takes
        worker_cancel_long_running_tasks_on_connection_loss=False,
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0.5, "interval_step": 1, "interval_max": 2},
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
    )
    app.task(name=TASK_NAME, bind=True, max_retries=None)(index_batch)  # retries counted in index_batch
    return app


@dataclass
class _WorkerContext:
    components: Components
    redis: redis.Redis
    name: str
    access: tuple[str, SpaceAccess | None] | None = None  # (run id, its access): read once per run

    def run_access(self, run: RunStore) -> SpaceAccess | None:
        if self.access is None or self.access[0] != run.run_id:
            self.access = (run.run_id, run.load_access())
        return self.access[1]


_context: _WorkerContext | None = None


def worker_context() -> _WorkerContext:
    """This worker process's components (embedding model, Chroma handle) and Redis client, built once."""
    global _context
    if _context is None:
        settings = get_settings()
        _context = _WorkerContext(
            Components(settings),
            connect_redis(settings.broker_url.get_secret_value()),
            f"{socket.gethostname()}:{os.getpid()}",
        )
    return _context


def index_batch(
    task: Task, run_id: str, batch_no: int, space_key: str, ids: list[str], full: bool, fingerprint: dict
) -> str:
    """One batch of a distributed run: fetch by ids, convert, chunk, embed, write (the one-process code)."""
    ctx = worker_context()
    run = RunStore(ctx.redis, run_id)
    status = run.status()
    if status != "running":
        return f"skipped: run {status or 'unknown'}"  # finished, failed or expired: nothing to do
    if run.is_done(batch_no):
        return "skipped: already done"  # delivered again after it was written
    if ctx.components.fingerprint != fingerprint:
        # Vectors of another model (or chunking) must never be mixed into the index.
        run.batch_failed(
            batch_no,
            f"worker {ctx.name} embeds with {ctx.components.fingerprint}, the run with {fingerprint}: "
            "give the workers the planner's EMBEDDING_* and CHUNK_* settings",
        )
        return "failed: settings differ"
    run.batch_started(batch_no, ctx.name)
    try:
        access = ctx.run_access(run)
        source = ctx.components.source(space_key)
        indexer = ctx.components.indexer()
        pages = source.pages_by_id(space_key, ids)
        stats = indexer.index(pages, space_key, full=full, batch_ids=ids, access=access)
    except Exception as exc:
        ctx.components.forget_store()  # reconnect to Chroma next time
        retries = task.request.retries or 0
        if retries >= ctx.components.settings.ingest_batch_retries:
            log.error("run %s batch %d failed for good: %s", run_id, batch_no, exc)
            run.batch_failed(batch_no, f"{type(exc).__name__}: {exc}"[:500])
            return "failed"
        log.warning("run %s batch %d failed (%s), retry %d", run_id, batch_no, type(exc).__name__, retries + 1)
        raise task.retry(exc=exc, countdown=min(2**retries, 10)) from exc
    run.batch_done(batch_no, stats)
    return f"{stats.pages_done} pages, {stats.chunks_written} chunks"


# --- the planner -----------------------------------------------------------------------------------


def _batches(ids: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


class _RedisWait:
    """Runs Redis calls, waiting up to BROKER_WAIT_S for an unreachable Redis before giving up."""

    errors = (redis.ConnectionError, redis.TimeoutError, OperationalError, ConnectionError)

    def __init__(self, settings: Settings, space_key: str):
        self.limit = settings.broker_wait_s
        self.where = redacted(settings.broker_url.get_secret_value())
        self.space_key = space_key

    def __call__(self, fn: Callable[[], T]) -> T:
        down_since: float | None = None
        while True:
            try:
                result = fn()
            except self.errors as exc:
                now = time.monotonic()
                if down_since is None:
                    down_since = now
                    log.warning("Redis at %s unreachable (%s): waiting up to %.0f s", self.where, exc, self.limit)
                if now - down_since > self.limit:
                    raise BrokerUnavailable(
                        f"Redis broker at {self.where} (BROKER_URL) unreachable for {self.limit:.0f} s during the sync "
                        f"of space {self.space_key}: nothing was deleted and the sync point did not move; "
                        "run the sync again once Redis is back."
                    ) from exc
                time.sleep(1.0)
                continue
            if down_since is not None:
                log.info("Redis at %s is back", self.where)
            return result


def check_broker(settings: Settings) -> redis.Redis:
    """A Redis client for BROKER_URL, or BrokerUnavailable with what to do."""
    url = settings.broker_url.get_secret_value()
    client = connect_redis(url)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise BrokerUnavailable(
            f"Redis broker unreachable at {redacted(url)} (BROKER_URL): {type(exc).__name__}. Start Redis, "
            "or leave BROKER_URL empty to ingest in this process."
        ) from exc
    return client


def sync_space_distributed(
    components: Components,
    source: PageSource,
    indexer: Indexer,
    state: SyncState,
    space_key: str,
    *,
    full: bool,
    fingerprint: str,
    overlap_minutes: int,
    progress: ProgressFn | None = None,
    permissions: bool = False,
    poll_s: float = 0.5,
) -> tuple[str, SyncStats]:
    """`sync.sync_space`, with the batches done by the Celery workers listening on BROKER_URL."""
    settings = components.settings
    client = check_broker(settings)
    overlap = timedelta(minutes=overlap_minutes)
    start = start_sync(
        source, state, space_key, full=full, fingerprint=fingerprint, overlap=overlap, permissions=permissions
    )
    plan = plan_ids(source, indexer, space_key, start.since)
    batches = list(_batches(plan.ids, max(1, settings.ingest_batch_pages)))
    log.info("space %r: %s sync, %d pages in %d batches", space_key, plan.mode, len(plan.ids), len(batches))
    stats = SyncStats(mode=plan.mode, pages_total=len(plan.ids))
    run = RunStore(client, uuid.uuid4().hex[:16])
    with_redis = _RedisWait(settings, space_key)
    with_redis(lambda: run.create(space_key, len(batches), len(plan.ids), start.access))
    app = make_celery(settings)

    def publish(numbers: list[int]) -> None:
        for batch_no in numbers:
            args = [run.run_id, batch_no, space_key, batches[batch_no], full, components.fingerprint]
            with_redis(lambda a=args: app.send_task(TASK_NAME, args=a))

    try:
        publish(list(range(len(batches))))
        _follow(run, stats, len(batches), with_redis, progress, poll_s, settings.broker_visibility_timeout_s, publish)
    except BaseException:
        with contextlib.suppress(redis.RedisError):
            run.set_status("failed")  # the workers skip what is still queued
        raise
    finally:
        app.close()
    # Every batch succeeded: now (and only now) pages that left the space go, and the point moves.
    indexed = indexer.indexed_pages(space_key)
    stats.pages_deleted = indexer.delete_pages(space_key, set(indexed) - plan.keep)
    stats.pages_seen = len(plan.keep)
    # As in one process: the batches wrote each chunk with its access; the permission pass brings the
    # chunks of unchanged pages to it too and stores the space grant and the groups; then the sync point.
    finish_sync(stats, indexer, state, space_key, start, fingerprint)
    with_redis(lambda: run.set_status("succeeded"))
    if progress:
        progress(stats)
    return plan.mode, stats


def _follow(
    run: RunStore,
    stats: SyncStats,
    batches: int,
    with_redis: _RedisWait,
    progress: ProgressFn | None,
    poll_s: float,
    stall_s: float,
    publish: Callable[[list[int]], None],
) -> None:
    """Copy the run's counters into `stats` until every batch is done; raise if one failed. When no
    batch finished for `stall_s`, publish the missing ones again; after three such periods, raise."""
    last_done, last_change, republished = -1, time.monotonic(), 0
    while True:
        snap = with_redis(run.snapshot)
        if snap is None:
            raise DistributedRunFailed(
                f"Redis lost the state of run {run.run_id} (restarted without persistence?): nothing was deleted and "
                "the sync point did not move; run the sync again."
            )
        for name in COUNTERS:
            setattr(stats, name, snap.counters.get(name, 0))
        stats.failures = snap.failures
        if progress:
            progress(stats)
        if snap.failed:
            first = next(iter(snap.failed.values()))
            raise DistributedRunFailed(
                f"{len(snap.failed)} of {batches} batches failed (first: {first}); nothing was deleted and the sync "
                "point did not move: the next sync redoes them."
            )
        if snap.batches_done >= batches:
            return
        if snap.batches_done != last_done:
            last_done, last_change, republished = snap.batches_done, time.monotonic(), 0
        elif time.monotonic() - last_change > stall_s * (republished + 1):
            if republished >= 2:
                raise DistributedRunFailed(
                    f"no batch finished for {stall_s * 3:.0f} s ({snap.batches_done} of {batches} done): is any "
                    "`confluence-rag celery-worker` listening on BROKER_URL? Nothing was deleted and the sync "
                    "point did not move."
                )
            missing = sorted(set(range(batches)) - with_redis(run.done_batches))
            log.warning("run %s: no batch finished for %.0f s, publishing %d again", run.run_id, stall_s, len(missing))
            with_redis(lambda m=missing: publish(m))
            republished += 1
        time.sleep(poll_s)


def _warm_up(components: Components) -> None:
    """Load the model (or the embedding server's client, whose import alone takes seconds) before
    taking batches, so that the first batch costs what the others do."""
    try:
        components.embedder.model.get_text_embedding("warm-up")
    except Exception as exc:  # the server may be down now; batches retry on their own
        log.warning("embedding warm-up failed: %s", exc)


def run_worker(settings: Settings, argv: list[str] | None = None) -> None:
    """`confluence-rag celery-worker`: one batch at a time per process (scale with processes)."""
    app = make_celery(settings)
    if settings.celery_metrics_port:
        serve_metrics(settings.worker_host, settings.celery_metrics_port, settings.metrics_token)
    _warm_up(worker_context().components)
    name = f"ingest-{uuid.uuid4().hex[:6]}@{socket.gethostname()}"
    # One batch at a time, in a thread: the main thread stays free to answer pings (health checks)
    # and control messages while a batch is embedded. More throughput = more processes.
    args: list[Any] = ["worker", "--pool=threads", "--concurrency=1", "-Q", QUEUE, "-n", name]
    args += ["--without-gossip", "--without-mingle"]
    args += ["--loglevel", settings.log_level.upper(), *(argv or [])]
    app.worker_main(args)
