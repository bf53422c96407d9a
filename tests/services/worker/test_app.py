"""The ingest worker's control API and scheduler, and the query API forwarding to it."""

from __future__ import annotations

import time

import httpx
import pytest

from confluence_rag.api.app import create_app
from confluence_rag.worker.app import create_worker_app
from tests.conftest import ServerThread, confluence_settings, wait_for_job

ADMIN = "admin-token-for-tests"
AUTH = {"Authorization": f"Bearer {ADMIN}"}


class WorkerThread(ServerThread):
    health_path = "/health"


@pytest.fixture
def worker_settings(fake_confluence, make_settings, chroma_server):
    fake_confluence.add_space("OPS")
    fake_confluence.add_page("OPS", "Pager duty", "<p>The pager rotates weekly.</p>")
    return make_settings(
        **confluence_settings(fake_confluence),
        confluence_spaces=["ENG", "OPS"],
        chroma_host="127.0.0.1",
        chroma_port=chroma_server.port,
        admin_token=ADMIN,
    )


def test_jobs_run_with_counts_and_history_survives_a_restart(worker_settings):
    with WorkerThread(create_worker_app(worker_settings)) as worker:
        assert httpx.get(worker.url + "/health").json() == {"status": "ok"}  # health is open
        # The control API is on the compose network: no token, a bare token or a wrong one is refused.
        for headers in ({}, {"Authorization": ADMIN}, {"Authorization": "Bearer wrong"}):
            refused = httpx.post(worker.url + "/jobs", json={"space_key": "ENG"}, headers=headers)
            assert refused.status_code == 401, headers
        assert httpx.get(worker.url + "/jobs").status_code == 401
        client = httpx.Client(base_url=worker.url, timeout=30, headers=AUTH)
        job = client.post("/jobs", json={"space_key": "ENG"})
        assert job.status_code == 202
        assert client.post("/jobs", json={"space_key": "ENG"}).status_code == 409  # one job per space
        done = wait_for_job(client, f"/jobs/{job.json()['id']}")
        assert done["status"] == "succeeded" and done["mode"] == "full"
        assert (done["pages_seen"], done["pages_added"], done["pages_failed"]) == (5, 5, 0)
        assert done["chunks_written"] > 5 and done["duration_s"] > 0

        both = client.post("/sync").json()["jobs"]
        assert sorted(j["space_key"] for j in both) == ["ENG", "OPS"]
        results = {j["space_key"]: wait_for_job(client, f"/jobs/{j['id']}") for j in both}
        assert results["ENG"]["mode"] == "incremental" and results["ENG"]["chunks_written"] == 0
        assert results["OPS"]["pages_added"] == 1
        assert client.get("/jobs/ffff").status_code == 404

    with WorkerThread(create_worker_app(worker_settings)) as worker:  # a restarted worker
        jobs = httpx.get(worker.url + "/jobs", headers=AUTH).json()["jobs"]
        assert len(jobs) == 3 and {j["status"] for j in jobs} == {"succeeded"}


def test_scheduler_syncs_every_space_by_itself(worker_settings):
    settings = worker_settings.model_copy(update={"sync_interval_minutes": 0.02})  # about a second
    with WorkerThread(create_worker_app(settings)) as worker:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            jobs = httpx.get(worker.url + "/jobs", headers=AUTH).json()["jobs"]
            if {j["space_key"] for j in jobs if j["status"] == "succeeded"} == {"ENG", "OPS"}:
                break
            time.sleep(0.3)
        assert {j["space_key"] for j in jobs if j["status"] == "succeeded"} == {"ENG", "OPS"}


def test_query_api_forwards_ingestion_control_to_the_worker(worker_settings):
    with WorkerThread(create_worker_app(worker_settings)) as worker:
        api_settings = worker_settings.model_copy(update={"worker_url": worker.url})
        with ServerThread(create_app(api_settings)) as api:
            auth = {"Authorization": f"Bearer {ADMIN}"}
            client = httpx.Client(base_url=api.url, timeout=30)
            job = client.post("/api/ingest/jobs", json={"space_key": "OPS"}, headers=auth)
            assert job.status_code == 202, job.text
            done = wait_for_job(client, f"/api/ingest/jobs/{job.json()['id']}", auth)
            assert done["status"] == "succeeded" and done["pages_added"] == 1
            assert httpx.get(worker.url + f"/jobs/{done['id']}", headers=AUTH).json()["status"] == "succeeded"
            results = client.post("/api/search", json={"query": "pager rotates"}).json()["results"]
            assert results[0]["title"] == "Pager duty"
    # Worker gone: a clear 503, not a 500.
    with ServerThread(create_app(api_settings)) as api:
        gone = httpx.get(api.url + "/api/ingest/jobs", headers={"Authorization": f"Bearer {ADMIN}"})
        assert gone.status_code == 503 and "worker unreachable" in gone.json()["detail"]


def test_the_worker_describes_its_api_to_operators_only_and_caps_request_heads(worker_settings):
    with WorkerThread(create_worker_app(worker_settings)) as worker:
        assert httpx.get(worker.url + "/docs").status_code == 404
        assert httpx.get(worker.url + "/redoc").status_code == 404
        assert httpx.get(worker.url + "/openapi.json").status_code == 401
        spec = httpx.get(worker.url + "/openapi.json", headers=AUTH)
        assert spec.status_code == 200 and "/jobs" in spec.json()["paths"]
        twice = [("Authorization", f"Bearer {ADMIN}"), ("Authorization", "Bearer other")]
        assert httpx.get(worker.url + "/jobs", headers=twice).status_code == 401
        huge = httpx.get(worker.url + "/health", headers={"X-Pad": "a" * 40_000})
        assert huge.status_code == 431
