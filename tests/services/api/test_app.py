"""The query API over real HTTP (uvicorn on loopback), against the fakes and embedded Chroma."""

from __future__ import annotations

import time

import httpx
import pytest

from confluence_rag.api.app import create_app
from tests.conftest import ServerThread, confluence_settings, llm_settings, sse_events

ADMIN = "admin-secret-token"


@pytest.fixture
def api(fake_confluence, fake_llm, make_settings):
    settings = make_settings(**confluence_settings(fake_confluence), **llm_settings(fake_llm), admin_token=ADMIN)
    with ServerThread(create_app(settings)) as server:
        client = httpx.Client(base_url=server.url, timeout=60)
        job = client.post("/api/ingest/jobs", json={"space_key": "ENG"}, headers={"Authorization": f"Bearer {ADMIN}"})
        assert job.status_code == 202, job.text
        _wait_job(client, job.json()["id"])
        yield client


def _wait_job(client: httpx.Client, job_id: str) -> dict:
    for _ in range(300):
        job = client.get(f"/api/ingest/jobs/{job_id}", headers={"Authorization": f"Bearer {ADMIN}"}).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.1)
    raise TimeoutError(job)


def test_health_ready_openapi(api):
    assert api.get("/api/health").json() == {"status": "ok"}
    ready = api.get("/api/ready").json()
    # The total chunk count includes restricted chunks: operators only.
    assert ready["ready"] is True and ready["llm_configured"] is True and ready["chunks"] is None
    assert api.get("/api/ready", headers={"Authorization": f"Bearer {ADMIN}"}).json()["chunks"] > 5
    paths = api.get("/api/openapi.json").json()["paths"]
    assert {"/api/search", "/api/chat", "/api/ready", "/api/ingest/jobs"} <= set(paths)
    assert api.get("/api/docs").status_code == 200


def test_search_finds_the_page(api):
    results = api.post("/api/search", json={"query": "who carries the pager?", "top_k": 3}).json()["results"]
    assert results[0]["title"] == "On-call rotation"
    assert {"page_id", "title", "url", "space_key", "score", "text", "heading", "breadcrumb"} <= set(results[0])
    chunks = api.get("/api/ready", headers={"Authorization": f"Bearer {ADMIN}"}).json()["chunks"]
    assert api.get("/api/spaces").json() == {"spaces": [{"key": "ENG", "pages": 5, "chunks": chunks}]}


def test_chat_streams_server_sent_events(api):
    body = {"messages": [{"role": "user", "content": "When can we deploy?"}]}
    with api.stream("POST", "/api/chat", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response)
    names = [n for n, _ in events]
    assert names[0] == "sources" and names[-1] == "done" and "token" in names
    assert events[0][1]["sources"][0]["title"] == "Deployment guide"


def test_chat_json_when_asked(api):
    response = api.post(
        "/api/chat",
        json={"messages": [{"role": "user", "content": "When can we deploy?"}]},
        headers={"Accept": "application/json"},
    )
    data = response.json()
    assert response.status_code == 200 and "[1]" in data["answer"] and data["sources"][0]["n"] == 1
    assert data["answer_found"] is True and data["mode"] == "llm"


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/api/search", {"query": ""}, 422, "query"),
        ("/api/search", {"query": "   "}, 422, "blank"),
        ("/api/search", {"query": "x" * 5000}, 422, "longer than"),
        ("/api/search", {"query": "x", "top_k": 0}, 422, "top_k"),
        ("/api/search", {"query": "x", "top_k": 51}, 422, "top_k"),
        ("/api/search", {"query": "x", "spaces": ["NOPE"]}, 404, "Unknown space"),
        ("/api/search", "{not json", 400, "Invalid JSON"),
        ("/api/chat", {"messages": []}, 422, "messages"),
        ("/api/chat", {"messages": [{"role": "assistant", "content": "hi"}]}, 422, "last message"),
        ("/api/chat", {"messages": [{"role": "system", "content": "hi"}]}, 422, "role"),
        ("/api/chat", {"messages": [{"role": "user", "content": "x"}], "spaces": ["NOPE"]}, 404, "Unknown space"),
    ],
)
def test_bad_input_gets_a_clear_4xx(api, path, body, status, message):
    if isinstance(body, str):
        response = api.post(path, content=body, headers={"Content-Type": "application/json"})
    else:
        response = api.post(path, json=body)
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]


def test_ingestion_control_needs_the_admin_token(api):
    assert api.get("/api/ingest/jobs").status_code == 401
    assert api.get("/api/ingest/jobs", headers={"Authorization": "Bearer wrong"}).status_code == 401
    jobs = api.get("/api/ingest/jobs", headers={"Authorization": f"Bearer {ADMIN}"}).json()["jobs"]
    assert jobs[0]["status"] == "succeeded" and jobs[0]["pages_added"] == 5 and jobs[0]["chunks_written"] > 5


def test_failed_job_reports_the_reason(api):
    job = api.post("/api/ingest/jobs", json={"space_key": "NOPE"}, headers={"Authorization": f"Bearer {ADMIN}"})
    finished = _wait_job(api, job.json()["id"])
    assert finished["status"] == "failed" and "NOPE" in finished["error"]


def test_secrets_never_appear_in_responses_or_logs(api, fake_confluence, fake_llm, caplog):
    caplog.set_level("DEBUG")
    texts = [
        api.get("/api/ready").text,
        api.get("/api/openapi.json").text,
        api.get("/api/ingest/jobs", headers={"Authorization": f"Bearer {ADMIN}"}).text,
        api.post(
            "/api/chat",
            json={"messages": [{"role": "user", "content": "deploy?"}]},
            headers={"Accept": "application/json"},
        ).text,
    ]
    for secret in (fake_confluence.api_token, fake_llm.api_key, ADMIN):
        assert all(secret not in t for t in texts)
        assert secret not in caplog.text


def test_without_admin_token_ingestion_is_disabled(make_settings):
    with ServerThread(create_app(make_settings())) as server:
        response = httpx.get(server.url + "/api/ingest/jobs")
    assert response.status_code == 403 and "ADMIN_TOKEN" in response.json()["detail"]
