"""Fast tier: the query API's routers, contract and error mapping on FastAPI's TestClient.

No model, no uvicorn, no Chroma: the services behind the routers are replaced through FastAPI's
dependency overrides by small stand-ins that answer, or fail the way the real ones fail.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from confluence_rag.answering.chat import ChatService
from confluence_rag.api.app import create_app
from confluence_rag.api.routers.ingest import job_backend
from confluence_rag.api.schemas import ChatOut, ErrorBody, SearchOut, SourceOut
from confluence_rag.api.services import Services, get_services
from confluence_rag.components.vector_store import VectorStoreUnavailable
from confluence_rag.retrieval.search import Source
from confluence_rag.worker.jobs import JobConflict
from confluence_rag.worker.jobs_api import JobBody, JobNotFound, JobOut

ADMIN = "contract-admin-token"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
SOURCE = SourceOut(
    n=1,
    chunk_id="p1#0",
    page_id="p1",
    title="Deployment guide",
    url="https://wiki.example.com/p1",
    space_key="ENG",
    breadcrumb=["Home"],
    heading="Windows",
    labels=["ops"],
    last_modified="2026-11-01T00:00:00Z",
    score=0.9,
    snippet="Deploy on Tuesdays.",
    text="Deploy on Tuesdays.",
)


class StandInSearch:
    """Answers like SearchService, or raises what SearchService raises when Chroma is down."""

    def __init__(self) -> None:
        self.down = False
        self.queries: list[str] = []

    def spaces(self, identity=None) -> list[dict]:
        if self.down:
            raise VectorStoreUnavailable("Chroma server 127.0.0.1:9 unreachable: ConnectError")
        return [{"key": "ENG", "pages": 1, "chunks": 1}]

    def search(self, query, top_k=None, filters=None, mode=None, identity=None):
        self.queries.append(query)
        if self.down:
            raise VectorStoreUnavailable("Chroma server 127.0.0.1:9 unreachable: ReadTimeout")
        return [Source(**SOURCE.model_dump())]


class StandInJobs:
    """The JobBackend contract: one job, 409 for a second sync of its space, 404 for others."""

    job = JobOut(
        id="abc123", space_key="ENG", full=False, kind="sync", status="running", error=None,
        created_at="2026-11-01T00:00:00Z", started_at=None, finished_at=None, duration_s=None, mode="",
        pages_seen=0, pages_total=0, pages_done=0, pages_added=0, pages_updated=0, pages_unchanged=0,
        pages_deleted=0, pages_failed=0, chunks_written=0, failures=[], access_pages_updated=0, access_problems=[],
    )  # fmt: skip

    async def list(self):
        return [self.job]

    async def start(self, body: JobBody):
        if body.space_key == "ENG":
            raise JobConflict("a sync of space ENG is already running (job abc123)")
        return self.job.model_copy(update={"space_key": body.space_key, "status": "queued"})

    async def get(self, job_id: str):
        if job_id != self.job.id:
            raise JobNotFound(job_id)
        return self.job


@pytest.fixture
def frontend(tmp_path):
    root = tmp_path / "frontend"
    root.mkdir()
    (root / "index.html").write_text("<!doctype html><title>chat</title>", encoding="utf-8")
    (root / "main-ABCDEFGH.js").write_text("console.log('chat')", encoding="utf-8")
    return root


@pytest.fixture
def search():
    return StandInSearch()


@pytest.fixture
def client(make_settings, frontend, search):
    settings = make_settings(admin_token=ADMIN, frontend_dir=frontend, max_body_bytes=10_000)
    app = create_app(settings)
    real: Services = app.state.services
    stand_in = Services(real.settings, real.components, search, ChatService(real.components, search), None)
    app.dependency_overrides[get_services] = lambda: stand_in
    app.dependency_overrides[job_backend] = StandInJobs
    return TestClient(app)  # no `with`: the lifespan (model loading) does not run


def test_every_route_declares_its_models_and_statuses(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    expected = {
        ("get", "/api/health"): {"200"},
        ("get", "/api/ready"): {"200", "503"},
        ("get", "/api/auth/config"): {"200"},
        ("get", "/api/auth/me"): {"200", "401", "403"},
        ("get", "/api/spaces"): {"200", "401", "403", "503"},
        ("post", "/api/search"): {"200", "400", "401", "403", "404", "413", "422", "503"},
        ("post", "/api/chat"): {"200", "400", "401", "403", "404", "413", "422", "502", "503", "504"},
        ("get", "/api/ingest/jobs"): {"200", "401", "403", "422", "503"},
        ("post", "/api/ingest/jobs"): {"202", "400", "401", "403", "409", "413", "422", "503"},
        ("get", "/api/ingest/jobs/{job_id}"): {"200", "401", "403", "404", "422", "503"},
        ("get", "/api/access/explain"): {"200", "401", "403", "404", "422", "503"},
    }
    assert {(m, p) for p, ops in paths.items() for m in ops} == set(expected)
    for (method, path), statuses in expected.items():
        responses = paths[path][method]["responses"]
        assert set(responses) == statuses, (method, path)
        for status, response in responses.items():
            schema = response["content"]["application/json"]["schema"]
            assert "$ref" in schema, (method, path, status)  # a pydantic model, never an untyped body
            if status.startswith(("4", "5")) and path != "/api/ready":
                assert schema["$ref"].endswith("/ErrorBody"), (method, path, status)
    document = client.get("/api/openapi.json").text
    assert "HTTPValidationError" not in document  # the 422 body is ours (ErrorBody), as declared


def test_answers_match_their_models(client):
    found = client.post("/api/search", json={"query": "deploy"})
    assert found.status_code == 200 and SearchOut(**found.json()).results[0].chunk_id == "p1#0"
    chat = client.post(
        "/api/chat", json={"messages": [{"role": "user", "content": "deploy?"}]}, headers={"Accept": "application/json"}
    )
    assert chat.status_code == 200 and ChatOut(**chat.json()).mode == "extractive"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"query": "   "}, 422, "blank"),
        ({"query": "\x00\x01\x1b"}, 400, "control characters"),
        ({"query": "\u200b"}, 400, "control characters"),
        ({"query": 5}, 422, "query"),
        ({"query": "x", "top_k": "5"}, 422, "top_k"),  # strict: no silent conversion
        ({"query": "x", "spaces": ["NOPE"]}, 404, "Unknown space"),
    ],
)
def test_bad_input_gets_a_clear_4xx_with_the_declared_body(client, search, body, status, message):
    response = client.post("/api/search", json=body)
    assert response.status_code == status, response.text
    assert message in ErrorBody(**response.json()).detail
    assert search.queries == []  # never searched


def test_get_on_a_post_route_is_405_not_the_spa(client):
    response = client.get("/api/search")
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    assert "POST" in ErrorBody(**response.json()).detail
    assert client.get("/api/nothing-here").status_code == 404
    assert client.get("/some/client/route").text.startswith("<!doctype html>")  # the SPA still answers


def test_options_lists_every_method_of_the_path(client):
    response = client.options("/api/ingest/jobs")
    assert response.status_code == 204
    assert set(response.headers["allow"].split(", ")) == {"GET", "POST", "OPTIONS"}


@pytest.mark.parametrize("path", ["/%00", "/assets/%00.js", "/a%00b/index.html", "/" + "x" * 5000])
def test_odd_static_paths_are_4xx_or_the_spa_never_500(client, path):
    response = client.get(path)
    assert response.status_code < 500
    if "%00" in path:
        assert 400 <= response.status_code < 500


def test_request_bodies_are_capped(client, search):
    big = {"query": "x" * 20_000}
    response = client.post("/api/search", json=big)
    assert response.status_code == 413 and "MAX_BODY_BYTES" in ErrorBody(**response.json()).detail

    def chunks():  # no Content-Length: the API counts what it reads
        for _ in range(30):
            yield b"x" * 1000

    streamed = client.post("/api/search", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413 and search.queries == []


def test_a_store_outage_is_a_clear_503(client, search):
    search.down = True
    for response in (client.get("/api/spaces"), client.post("/api/search", json={"query": "deploy"})):
        assert response.status_code == 503
        assert ErrorBody(**response.json()).detail == "The document index (vector store) is unreachable."
    with client.stream("POST", "/api/chat", json={"messages": [{"role": "user", "content": "deploy?"}]}) as stream:
        text = "".join(stream.iter_text())
    assert "event: error" in text and '"status": 503' in text


def test_job_api_maps_conflicts_and_unknown_jobs(client):
    assert client.get("/api/ingest/jobs", headers=AUTH).json()["jobs"][0]["id"] == "abc123"
    started = client.post("/api/ingest/jobs", json={"space_key": "OPS"}, headers=AUTH)
    assert started.status_code == 202 and JobOut(**started.json()).status == "queued"
    conflict = client.post("/api/ingest/jobs", json={"space_key": "ENG"}, headers=AUTH)
    assert conflict.status_code == 409 and "already running" in conflict.json()["detail"]
    assert client.get("/api/ingest/jobs/ffff", headers=AUTH).status_code == 404
    assert client.get("/api/ingest/jobs/not-hex", headers=AUTH).status_code == 422
    assert client.post("/api/ingest/jobs", json={"space_key": "OPS", "full": 0}, headers=AUTH).status_code == 422


def test_security_headers_on_everything_served(client):
    for response in (
        client.get("/api/health"),
        client.get("/"),
        client.get("/main-ABCDEFGH.js"),
        client.get("/api/search"),  # an error too
        client.get("/api/docs"),
    ):
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
    policy = client.get("/").headers["content-security-policy"]
    assert "script-src 'self';" in policy and "default-src 'self'" in policy


def test_api_docs_load_nothing_from_another_host(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)""", page.text) + re.findall(
        r"https?://[^\s\"'<>]+", page.text
    )
    assert urls and all(url.startswith("/") for url in urls), urls
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 1000, url
    # The inline start-up script is allowed by its hash, not by 'unsafe-inline'.
    assert "script-src 'self' 'sha256-" in page.headers["content-security-policy"]
