"""The whole local topology for real: `deploy/local/up.sh` starts `chroma run`, `confluence-rag worker`,
`confluence-rag api` and Debian's nginx on free loopback ports; the test goes through nginx like the
browser does, then `deploy/local/down.sh` must leave no process and no port behind.

No LLM (extractive mode). Content comes from the Confluence fake (tests/fakes), ingested twice: by the
worker through nginx -> query API -> worker, and by `make ingest` against the running stack.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import httpx
import pytest

from tests.deploy.helpers import REPO, ingest_via_api, pid_alive, port_is_free, public_tempdir, wait_until
from tests.fakes.confluence import FakeConfluence, sample_space

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ADMIN_TOKEN = "deploy-test-admin-token"
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def sse_events(response: httpx.Response):
    event = None
    for line in response.iter_lines():
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event:
            yield event, json.loads(line[6:])
            event = None


@pytest.fixture
def confluence():
    fake = FakeConfluence(cloud=True, page_cap=3)
    sample_space(fake, "ENG")
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def dist():
    path = public_tempdir("stack-dist-")
    (path / "index.html").write_text("<!doctype html><app-root></app-root>\n")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_local_stack_end_to_end(local_stack, confluence, dist):
    confluence_env = {
        "CONFLUENCE_URL": confluence.base_url,
        "CONFLUENCE_CLOUD": "true",
        "CONFLUENCE_USERNAME": confluence.username,
        "CONFLUENCE_API_TOKEN": confluence.api_token,
    }
    stack = local_stack(frontend_dist=dist, extra_env={"ADMIN_TOKEN": ADMIN_TOKEN, **confluence_env})
    up = stack.up
    assert up.returncode == 0, f"up.sh failed\n{up.stdout}\n{up.stderr}"
    assert f"chat page    {stack.nginx_url}/" in up.stdout
    assert set(stack.pids) == {"chroma", "worker", "api", "nginx"}

    # Liveness and readiness, through nginx as the browser sees them.
    assert httpx.get(f"{stack.nginx_url}/api/health", timeout=10).json() == {"status": "ok"}
    ready = httpx.get(f"{stack.nginx_url}/api/ready", timeout=30)
    assert ready.status_code == 200, ready.text
    assert ready.json()["ready"] is True and ready.json()["vector_store"] == "ok"
    assert ready.json()["mode"] == "extractive"
    assert httpx.get(f"{stack.worker_url}/health", timeout=10).json() == {"status": "ok"}
    assert httpx.get(f"{stack.chroma_url}/api/v2/heartbeat", timeout=10).status_code == 200
    assert "<app-root>" in httpx.get(f"{stack.nginx_url}/", timeout=10).text

    # Ingestion control goes nginx -> query API -> worker (WORKER_URL); the worker writes into the
    # stack's Chroma server, where the query API finds it.
    job = ingest_via_api(stack.nginx_url, "ENG", ADMIN_TOKEN)
    assert job["status"] == "succeeded", job
    assert job["chunks_written"] > 0
    assert (stack.run_dir / "data" / "state").is_dir()
    spaces = {s["key"]: s for s in httpx.get(f"{stack.nginx_url}/api/spaces", timeout=30).json()["spaces"]}
    assert spaces["ENG"]["chunks"] > 0

    # `make ingest` while the local stack runs: the CLI in the foreground, into the stack's Chroma.
    # (make_venv=true: the venv is there already; `make venv` is not what is tested here.)
    ingest = subprocess.run(
        ["make", "--no-print-directory", "ingest", "SPACE=ENG", f"LOCAL_RUN_DIR={stack.run_dir}", "make_venv=true"],
        cwd=REPO,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert ingest.returncode == 0, ingest.stdout + ingest.stderr
    assert "local stack running" in ingest.stdout
    # Unchanged: it saw what the worker had written, so it used the stack's Chroma and state.
    assert "ENG" in ingest.stdout, ingest.stdout
    assert re.search(r"\b0 added\b", ingest.stdout), ingest.stdout
    assert re.search(r"\b[1-9]\d* unchanged\b", ingest.stdout), ingest.stdout

    # Chat: a server-sent event stream through nginx, read event by event.
    with httpx.stream(
        "POST",
        f"{stack.nginx_url}/api/chat",
        json={"messages": [{"role": "user", "content": "Comment poser un congé ?"}]},
        headers={"Accept": "text/event-stream"},
        timeout=120,
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert "content-length" not in r.headers and r.headers.get("transfer-encoding") == "chunked"
        events = sse_events(r)
        first_name, first_data = next(events)  # arrives before the stream has ended
        assert first_name == "sources" and first_data["mode"] == "extractive"
        rest = [name for name, _ in events]
    assert rest and rest[-1] in {"done", "error"}
    assert rest[-1] == "done", rest

    pids = dict(stack.pids)
    down = stack.down()
    assert down.returncode == 0, down.stdout + down.stderr
    assert wait_until(lambda: not any(pid_alive(p) for p in pids.values()), 15), pids
    assert all(port_is_free(port) for port in stack.ports.values()), stack.ports
