"""GET /metrics on the query API and on the worker: the counters move after real requests, chats and
syncs (Confluence, LLM and the query API over real HTTP), every label is a route template or a fixed
name (no user text), and only METRICS_TOKEN reads them.

Metrics are per process, and every test here shares one: each test compares a scrape after its
actions with a scrape before them.
"""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from confluence_rag.api.app import create_app
from confluence_rag.container import Components
from confluence_rag.web.metrics import serve_metrics
from confluence_rag.worker.app import create_worker_app
from confluence_rag.worker.runs import ingest_space
from tests.conftest import ServerThread, confluence_settings, free_port, llm_settings, wait_for_job

ADMIN = "admin-token-for-metrics-tests"
METRICS = "metrics-token-for-tests"
ADMIN_AUTH = {"Authorization": f"Bearer {ADMIN}"}
METRICS_AUTH = {"Authorization": f"Bearer {METRICS}"}
USER_TEXT = "zanzibar-secret-words"


class WorkerThread(ServerThread):
    health_path = "/health"


def scrape(base_url: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of GET /metrics: (name, labels) → value."""
    response = httpx.get(f"{base_url}/metrics", headers=METRICS_AUTH, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def delta(before: dict, after: dict, name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    return after.get(key, 0.0) - before.get(key, 0.0)


@pytest.fixture
def api_settings(fake_confluence, fake_llm, make_settings):
    return make_settings(
        **confluence_settings(fake_confluence), **llm_settings(fake_llm), admin_token=ADMIN, metrics_token=METRICS
    )


def test_query_api_counts_requests_retrieval_llm_and_its_in_process_syncs(api_settings, fake_confluence, fake_llm):
    with ServerThread(create_app(api_settings)) as server:
        client = httpx.Client(base_url=server.url, timeout=60)
        before = scrape(server.url)
        # A sync through the ingestion API (jobs run in-process without WORKER_URL), with one 429 on the way.
        fake_confluence.fail_next(429, times=1, retry_after="0", path_contains="/content/search")
        job = client.post("/api/ingest/jobs", json={"space_key": "ENG"}, headers=ADMIN_AUTH).json()
        done = wait_for_job(client, f"/api/ingest/jobs/{job['id']}", ADMIN_AUTH)
        assert done["status"] == "succeeded" and done["pages_added"] > 0
        assert client.post("/api/search", json={"query": f"deploy {USER_TEXT}"}).status_code == 200
        chat = {"messages": [{"role": "user", "content": "How do we deploy?"}]}
        answer = client.post("/api/chat", json=chat, headers={"Accept": "application/json"})
        assert answer.status_code == 200 and answer.json()["sources"]
        fake_llm.mode = "unauthorized"
        failed = client.post("/api/chat", json=chat, headers={"Accept": "application/json"})
        assert failed.status_code == 502
        assert client.get(f"/api/{USER_TEXT}").status_code == 404
        assert client.get(f"/api/ingest/jobs/{USER_TEXT}", headers=ADMIN_AUTH).status_code == 422
        text = httpx.get(f"{server.url}/metrics", headers=METRICS_AUTH).text
        after = scrape(server.url)

    requests = "rag_http_requests_total"
    assert delta(before, after, requests, app="query-api", method="POST", route="/api/search", status="200") == 1
    assert delta(before, after, requests, app="query-api", method="POST", route="/api/chat", status="200") == 1
    assert delta(before, after, requests, app="query-api", method="POST", route="/api/chat", status="502") == 1
    assert delta(before, after, requests, app="query-api", method="GET", route="unmatched", status="404") == 1
    jobs_route = "/api/ingest/jobs/{job_id}"
    assert delta(before, after, requests, app="query-api", method="GET", route=jobs_route, status="422") == 1
    seconds = "rag_http_request_duration_seconds_count"
    assert delta(before, after, seconds, app="query-api", method="POST", route="/api/search", status="200") == 1
    # Retrieval stages: one search and two chats.
    for stage in ("access", "keyword", "embed", "vector", "fetch"):
        assert delta(before, after, "rag_retrieval_stage_seconds_count", stage=stage) == 3, stage
    assert delta(before, after, "rag_llm_time_to_first_token_seconds_count") == 1
    assert delta(before, after, "rag_llm_errors_total", kind="auth") == 1
    # The in-process sync: its duration, pages and chunks, its permission pass, the 429.
    assert delta(before, after, "rag_sync_duration_seconds_count", kind="sync") == 1
    assert delta(before, after, "rag_pages_indexed_total", outcome="added") == done["pages_added"]
    assert delta(before, after, "rag_chunks_indexed_total") == done["chunks_written"]
    assert delta(before, after, "rag_permission_pass_duration_seconds_count", phase="read") == 1
    assert delta(before, after, "rag_permission_pass_duration_seconds_count", phase="apply") == 1
    assert delta(before, after, "rag_confluence_rate_limited_total") == 1
    # No user text anywhere in the exposition: route templates and fixed names only.
    assert USER_TEXT not in text and "deploy" not in text


def test_worker_counts_its_jobs_and_failures(fake_confluence, make_settings, chroma_server):
    settings = make_settings(
        **confluence_settings(fake_confluence),
        chroma_host="127.0.0.1",
        chroma_port=chroma_server.port,
        admin_token=ADMIN,
        metrics_token=METRICS,
    )
    with WorkerThread(create_worker_app(settings)) as worker:
        client = httpx.Client(base_url=worker.url, timeout=60)
        before = scrape(worker.url)
        ok = client.post("/jobs", json={"space_key": "ENG"}, headers=ADMIN_AUTH).json()
        assert wait_for_job(client, f"/jobs/{ok['id']}", ADMIN_AUTH)["status"] == "succeeded"
        bad = client.post("/jobs", json={"space_key": "NOSUCHSPACE"}, headers=ADMIN_AUTH).json()
        assert wait_for_job(client, f"/jobs/{bad['id']}", ADMIN_AUTH)["status"] == "failed"
        after = scrape(worker.url)

    assert delta(before, after, "rag_sync_duration_seconds_count", kind="sync") == 2
    assert delta(before, after, "rag_sync_failures_total", kind="sync") == 1
    assert delta(before, after, "rag_pages_indexed_total", outcome="added") > 0
    requests = "rag_http_requests_total"
    assert delta(before, after, requests, app="worker", method="POST", route="/jobs", status="202") == 2
    assert delta(before, after, requests, app="worker", method="GET", route="/jobs/{job_id}", status="200") >= 2
    assert not any("NOSUCHSPACE" in str(labels) for _, labels in after)


@pytest.mark.parametrize("app_kind", ["query-api", "worker"])
def test_only_the_metrics_token_reads_metrics(app_kind, make_settings):
    def build(**overrides):
        settings = make_settings(admin_token=ADMIN, **overrides)
        return create_app(settings) if app_kind == "query-api" else create_worker_app(settings)

    thread = ServerThread if app_kind == "query-api" else WorkerThread
    with thread(build(metrics_token=METRICS)) as server:
        url = f"{server.url}/metrics"
        assert httpx.get(url).status_code == 401
        assert httpx.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert httpx.get(url, headers=ADMIN_AUTH).status_code == 401  # the admin token is not the metrics token
        assert httpx.get(url, headers={"Authorization": f"Basic {METRICS}"}).status_code == 401
        assert httpx.get(url, headers=METRICS_AUTH).status_code == 200
    with thread(build()) as server:  # METRICS_TOKEN unset: nobody reads them
        refused = httpx.get(f"{server.url}/metrics", headers=METRICS_AUTH)
        assert refused.status_code == 403 and "METRICS_TOKEN" in refused.json()["detail"]


def test_the_grafana_dashboard_queries_only_metrics_the_code_defines():
    import json
    import re
    from pathlib import Path

    from prometheus_client import REGISTRY

    import confluence_rag.components.metrics  # noqa: F401  (registers them)

    dashboard = json.loads((Path(__file__).parents[3] / "deploy" / "grafana" / "confluence-rag.json").read_text())
    queried = {
        re.sub(r"_(bucket|count|sum|total)$", "", name)  # a counter's family name has no _total
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\brag_[a-z_]+", target["expr"])
    }
    defined = {family.name for family in REGISTRY.collect() if family.name.startswith("rag_")}
    assert queried and queried <= defined, queried - defined


def test_a_celery_worker_serves_metrics_without_a_web_app(fake_confluence, make_settings):
    """What `celery-worker` starts with CELERY_METRICS_PORT: the same token rule, on its own port; here it
    counts the 429s this process gets from Confluence."""
    server = serve_metrics("127.0.0.1", free_port(), SecretStr(METRICS))
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        before = scrape(url)
        fake_confluence.fail_next(429, times=2, retry_after="0", path_contains="/content/search")
        assert ingest_space(Components(make_settings(**confluence_settings(fake_confluence))), "ENG").pages_added
        after = scrape(url)
        assert delta(before, after, "rag_confluence_rate_limited_total") == 2
        assert httpx.get(f"{url}/metrics").status_code == 401
        assert httpx.get(f"{url}/metrics", headers=ADMIN_AUTH).status_code == 401
        assert httpx.get(f"{url}/other", headers=METRICS_AUTH).status_code == 404
    finally:
        server.shutdown()
        server.server_close()
    closed = serve_metrics("127.0.0.1", free_port(), SecretStr(""))
    try:
        assert httpx.get(f"http://127.0.0.1:{closed.server_port}/metrics", headers=METRICS_AUTH).status_code == 403
    finally:
        closed.shutdown()
        closed.server_close()
