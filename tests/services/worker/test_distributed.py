"""Distributed ingestion: real Redis, real Celery worker processes, the Confluence fake over HTTP and a
Chroma server. Each test syncs its own space of the module's fake into the module's collection and
compares the result with a fresh one-process index of the same space."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
import redis

from confluence_rag.container import Components
from confluence_rag.settings import Settings
from confluence_rag.worker.distributed import BrokerUnavailable, RunStore
from confluence_rag.worker.jobs import JobManager
from confluence_rag.worker.runs import ingest_space
from tests.conftest import confluence_settings, free_port

pytestmark = pytest.mark.timeout(240)


def _planner(cluster_settings: dict, tmp_path) -> Components:
    return Components(Settings(_env_file=None, **{**cluster_settings, "state_dir": tmp_path / "planner"}))


def _space_index(components: Components, space: str) -> dict[str, tuple]:
    got = components.store().collection.get(
        where={"space_key": space}, include=["documents", "metadatas", "embeddings"]
    )
    return {
        i: (doc, meta, np.asarray(emb))
        for i, doc, meta, emb in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True)
    }


def _one_process(cluster_confluence, make_settings) -> Components:
    """What `make ingest` uses: embedded Chroma, no Redis."""
    return Components(make_settings(**confluence_settings(cluster_confluence)))


def _reference(cluster_confluence, make_settings, space: str) -> dict[str, tuple]:
    """A fresh one-process index of the space."""
    components = _one_process(cluster_confluence, make_settings)
    stats = ingest_space(components, space)
    assert stats.pages_failed == 0
    return _space_index(components, space)


def _assert_same_index(got: dict[str, tuple], want: dict[str, tuple]) -> None:
    assert sorted(got) == sorted(want)  # same chunk ids: same pages, same chunking, no duplicates
    for chunk_id, (doc, meta, emb) in want.items():
        assert got[chunk_id][0] == doc, chunk_id
        # Every key, access and LlamaIndex's serialized node copy (`_node_content`) included.
        assert got[chunk_id][1] == meta, chunk_id
        assert np.allclose(got[chunk_id][2], emb, atol=1e-4), chunk_id


def _run_in_thread(components: Components, space: str) -> tuple[threading.Thread, dict]:
    out: dict = {}

    def run() -> None:
        try:
            out["stats"] = ingest_space(components, space)
        except BaseException as exc:
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def _runs(client: redis.Redis) -> list[RunStore]:
    return [RunStore(client, key.decode().split(":")[2]) for key in client.scan_iter("confluence_rag:run:*:meta")]


def test_distributed_sync_equals_one_process_sync_and_reports_one_job(
    cluster, cluster_settings, cluster_confluence, make_settings, tmp_path
):
    planner = _planner(cluster_settings, tmp_path)
    jobs = JobManager(planner, tmp_path / "jobs")
    seen: list[tuple[int, int]] = []
    written_mid_run: list[dict] = []  # chunks already in the index while the run goes on
    collection = planner.store().collection
    job = jobs.start("ONE")
    while job.status in ("queued", "running"):
        seen.append((job.stats.pages_done, job.stats.pages_total))
        if 0 < job.stats.pages_done < 12:
            written_mid_run += collection.get(where={"space_key": "ONE"}, include=["metadatas"])["metadatas"]
        time.sleep(0.05)
    assert job.status == "succeeded", job.error
    # Each batch wrote its chunks with their access (not denied until the final pass), also in the node copy.
    assert written_mid_run, "no chunk was seen before the end of the run"
    for meta in written_mid_run:
        assert meta.get("access_key") and meta.get("access_layers") == "[]", meta
        assert json.loads(meta["_node_content"])["metadata"]["access_key"] == meta["access_key"]
    assert job.stats.access_pages_updated == 0  # the final pass found every chunk already right
    # One job for the whole run, whatever the number of workers: counters aggregated in Redis.
    assert (job.stats.pages_done, job.stats.pages_total, job.stats.pages_added, job.stats.pages_failed) == (
        12,
        12,
        12,
        0,
    )
    assert any(0 < done < 12 for done, _ in seen), "no intermediate progress was reported"
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)

    got = _space_index(planner, "ONE")
    reference = _one_process(cluster_confluence, make_settings)
    ingest_space(reference, "ONE")
    _assert_same_index(got, _space_index(reference, "ONE"))
    assert job.stats.chunks_written == len(got)

    # An incremental rerun plans the same way as in one process: an edit and a deletion, nothing else.
    ids = {p.title: p.id for p in cluster_confluence.pages.values() if p.space == "ONE"}
    cluster_confluence.edit_page(ids["ONE page 001"], html="<p>Rewritten: the backup runs at night.</p>")
    cluster_confluence.delete_page(ids["ONE page 002"])
    stats = ingest_space(planner, "ONE")
    assert (stats.mode, stats.pages_updated, stats.pages_deleted, stats.pages_added) == ("incremental", 1, 1, 0)
    assert stats.pages_unchanged == stats.pages_done - 1  # refetched within the overlap margin, not re-embedded
    ingest_space(reference, "ONE")
    _assert_same_index(_space_index(planner, "ONE"), _space_index(reference, "ONE"))


def test_worker_killed_mid_batch_loses_nothing(cluster, cluster_settings, cluster_confluence, make_settings, tmp_path):
    planner = _planner(cluster_settings, tmp_path)
    client = redis.Redis.from_url(cluster_settings["broker_url"])
    cluster_confluence.latency_s = 0.3  # batches last long enough to be caught in flight
    victim = cluster.alive()[0]
    try:
        thread, out = _run_in_thread(planner, "KILL")
        deadline = time.monotonic() + 90
        killed = False
        while not killed and time.monotonic() < deadline and thread.is_alive():
            for run in _runs(client):
                if any(w.endswith(f":{victim.pid}") for w in run.running_batches().values()):
                    cluster.kill(victim)  # SIGKILL: no chance to acknowledge or clean up
                    killed = True
                    break
            time.sleep(0.05)
        assert killed, "the victim never held a batch"
        thread.join(120)
    finally:
        cluster_confluence.latency_s = 0.0
        cluster.add_worker()
    assert "error" not in out, out.get("error")
    assert out["stats"].pages_done == 12 and out["stats"].pages_failed == 0
    _assert_same_index(_space_index(planner, "KILL"), _reference(cluster_confluence, make_settings, "KILL"))


def test_redis_stopped_and_restarted_mid_run(
    cluster, cluster_settings, cluster_confluence, redis_server, make_settings, tmp_path
):
    planner = _planner(cluster_settings, tmp_path)
    client = redis.Redis.from_url(cluster_settings["broker_url"])
    cluster_confluence.latency_s = 0.2
    try:
        thread, out = _run_in_thread(planner, "REDIS")
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and thread.is_alive():
            snaps = [s for r in _runs(client) if (s := r.snapshot()) and s.status == "running"]
            if snaps and snaps[0].batches_done >= 1:
                break
            time.sleep(0.05)
        redis_server.stop()  # SIGTERM: Redis writes its append-only file and exits
        time.sleep(3)
        redis_server.start()  # same port, same folder: the queue and the run's counters come back
        thread.join(150)
    finally:
        cluster_confluence.latency_s = 0.0
    assert not thread.is_alive(), "the run did not resume after Redis came back"
    assert "error" not in out, out.get("error")
    assert out["stats"].pages_done == 12
    _assert_same_index(_space_index(planner, "REDIS"), _reference(cluster_confluence, make_settings, "REDIS"))


def test_redis_down_at_start_is_a_clear_error_and_writes_nothing(fake_confluence, make_settings, chroma_server):
    port = free_port()  # nothing listens there
    components = Components(
        make_settings(
            **confluence_settings(fake_confluence),
            broker_url=f"redis://:s3cret@127.0.0.1:{port}/0",
            chroma_host="127.0.0.1",
            chroma_port=chroma_server.port,
        )
    )
    with pytest.raises(BrokerUnavailable) as info:
        ingest_space(components, "ENG")
    message = str(info.value)
    assert f"127.0.0.1:{port}" in message and "BROKER_URL" in message and "s3cret" not in message
    assert components.store().collection.count() == 0
    assert not (components.settings.state_dir / "sync_state.json").exists()
