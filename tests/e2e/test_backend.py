"""End to end with real processes: `confluence-rag ingest` (what `make ingest` runs) into a Chroma
server, then `confluence-rag api`, asked over HTTP; and the embedded demo that `make run` serves."""

from __future__ import annotations

import subprocess
import time

import httpx
import pytest

from tests.conftest import VENV_BIN, ChromaServer, free_port, sse_events, subprocess_env, wait_http
from tests.fakes.confluence import FakeConfluence, sample_space
from tests.fakes.llm import FakeLLM

pytestmark = pytest.mark.slow


def _env(tmp_path, fake: FakeConfluence, chroma: ChromaServer | None, **extra: str) -> dict[str, str]:
    env = {
        "CONFLUENCE_URL": fake.base_url,
        "CONFLUENCE_CLOUD": str(fake.cloud).lower(),
        "STATE_DIR": str(tmp_path / "state"),
        "LOG_LEVEL": "INFO",
    }
    if fake.cloud:
        env |= {"CONFLUENCE_USERNAME": fake.username, "CONFLUENCE_API_TOKEN": fake.api_token}
    else:
        env |= {"CONFLUENCE_PAT": fake.pat}
    env |= (
        {"CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": str(chroma.port)}
        if chroma
        else {"CHROMA_PATH": str(tmp_path / "chroma")}
    )
    return subprocess_env(env | extra)


class Api:
    def __init__(self, env: dict[str, str], tmp_path):
        self.port = free_port()
        self.log = open(tmp_path / f"api-{self.port}.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "confluence-rag"), "api", "--port", str(self.port)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        wait_http(self.url + "/api/health", 120, self.proc)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(15)
        self.log.close()


def _chat(url: str, question: str) -> list[tuple[str, dict]]:
    with httpx.stream(
        "POST", url + "/api/chat", json={"messages": [{"role": "user", "content": question}]}, timeout=60
    ) as response:
        assert response.status_code == 200
        return sse_events(response)


@pytest.mark.parametrize("style", ["cloud", "server"])
def test_ingest_cli_then_api_answers_with_citations(tmp_path, chroma_server, style):
    fake = FakeConfluence(cloud=style == "cloud")
    sample_space(fake)
    fake.start()
    llm = FakeLLM(token_delay_s=0.01)
    llm.start()
    try:
        env = _env(
            tmp_path,
            fake,
            chroma_server,
            CHROMA_COLLECTION=f"e2e_{style}",
            LLM_MODEL="openai/fake",
            LLM_API_BASE=llm.api_base,
            LLM_API_KEY=llm.api_key,
        )
        ingest = subprocess.run(
            [str(VENV_BIN / "confluence-rag"), "ingest", "ENG"], env=env, capture_output=True, text=True, timeout=300
        )
        assert ingest.returncode == 0, ingest.stderr
        assert "full sync" in ingest.stdout and "(5 added" in ingest.stdout
        again = subprocess.run(
            [str(VENV_BIN / "confluence-rag"), "ingest", "ENG"], env=env, capture_output=True, text=True, timeout=300
        )
        assert "incremental sync" in again.stdout and "0 added, 0 updated" in again.stdout
        assert "0 deleted, 0 failed), 0 chunks written" in again.stdout

        api = Api(env, tmp_path)
        try:
            hits = httpx.post(api.url + "/api/search", json={"query": "rollback steps"}).json()["results"]
            assert hits[0]["title"] == "Rollback procedure" and hits[0]["url"].startswith(fake.base_url)
            events = _chat(api.url, "What are the rollback steps?")
            assert [e for e, _ in events][0] == "sources" and events[-1][0] == "done"
            answer = "".join(d["text"] for e, d in events if e == "token")
            assert "[1]" in answer
            assert events[0][1]["sources"][0]["url"].startswith(fake.base_url)
        finally:
            api.stop()
    finally:
        fake.stop()
        llm.stop()


def test_ingest_exits_non_zero_on_failure(tmp_path, fake_confluence):
    env = _env(tmp_path, fake_confluence, None, CONFLUENCE_API_TOKEN="wrong")
    result = subprocess.run(
        [str(VENV_BIN / "confluence-rag"), "ingest", "ENG"], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 1
    assert "401" in result.stderr and "CONFLUENCE_API_TOKEN" in result.stderr and "wrong" not in result.stderr


def test_chroma_outage_gives_503_and_the_api_recovers(tmp_path, fake_confluence):
    chroma = ChromaServer(tmp_path / "chroma-data")
    chroma.start()
    env = _env(tmp_path, fake_confluence, chroma, CHROMA_COLLECTION="outage")
    subprocess.run(
        [str(VENV_BIN / "confluence-rag"), "ingest", "ENG"], env=env, check=True, capture_output=True, timeout=300
    )
    api = Api(env, tmp_path)
    try:
        assert httpx.post(api.url + "/api/search", json={"query": "pager"}).status_code == 200
        chroma.stop()
        down = httpx.post(api.url + "/api/search", json={"query": "pager"}, timeout=30)
        assert down.status_code == 503 and "unreachable" in down.json()["detail"]
        assert httpx.get(api.url + "/api/ready", timeout=30).status_code == 503
        events = _chat(api.url, "who has the pager?")
        assert events[-1][0] == "error" and events[-1][1]["status"] == 503
        chroma.start()  # same port, same data
        for _ in range(50):
            if httpx.get(api.url + "/api/ready", timeout=30).status_code == 200:
                break
            time.sleep(0.2)
        up = httpx.post(api.url + "/api/search", json={"query": "pager"})
        assert up.status_code == 200 and up.json()["results"][0]["title"] == "On-call rotation"
    finally:
        api.stop()
        chroma.stop()


def test_embedded_demo_answers_in_french(tmp_path):
    env = subprocess_env(
        {"CHROMA_PATH": str(tmp_path / "chroma"), "STATE_DIR": str(tmp_path / "state"), "DEMO_CONTENT": "true"}
    )
    api = Api(env, tmp_path)
    try:
        events = _chat(api.url, "Combien de jours de télétravail par semaine ?")
        assert events[0][1]["mode"] == "extractive"
        assert events[0][1]["sources"][0]["title"] == "Télétravail"
        answer = "".join(d["text"] for e, d in events if e == "token")
        assert "trois jours par semaine" in answer and answer.startswith("*Mode extractif")
        page = httpx.get(api.url + events[0][1]["sources"][0]["url"].split("#")[0])
        assert page.status_code == 200 and "trois jours par semaine" in page.text
    finally:
        api.stop()
