"""The contract other tooling drives, end to end over real HTTP from 127.0.0.1: AUTH_MODE=proxy with the
default headers, Server/DC with a PAT, principals by username and group name, `ingest` mirroring
permissions in the same run, and /api/search + /api/chat answering for the user in the headers."""

from __future__ import annotations

import httpx
import pytest

from confluence_rag.api.app import create_app
from confluence_rag.container import Components
from confluence_rag.worker.runs import ingest_space
from tests.conftest import ServerThread, confluence_settings, llm_settings, sse_events
from tests.fakes.confluence import FakeConfluence

QUESTION = "When is the payroll paid?"


@pytest.fixture
def fake():
    fake = FakeConfluence(cloud=False, page_cap=5)
    fake.add_group("finance", ["carol"])
    fake.add_group("staff", ["carol", "erin"])
    fake.add_space("HR", "Human resources")
    fake.set_space_permissions("HR", groups=["staff"], anonymous=False)
    home = fake.add_page("HR", "HR Home", "<p>Welcome to the HR space. Payroll questions go to finance.</p>")
    payroll = fake.add_page(
        "HR", "Payroll", "<p>The payroll is paid on the 25th of every month by bank transfer.</p>", parent=home.id
    )
    fake.set_read_restriction(payroll.id, groups=["finance"])
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def api(fake, fake_llm, make_settings):
    settings = make_settings(**confluence_settings(fake), **llm_settings(fake_llm), auth_mode="proxy")
    assert settings.permissions == "confluence" and settings.groups_source == "confluence"
    ingest_space(Components(settings), "HR")  # what `make ingest SPACE=HR` runs
    with ServerThread(create_app(settings)) as server:
        yield httpx.Client(base_url=server.url, timeout=60)


def as_user(user: str, groups: str = "") -> dict:
    headers = {"X-Forwarded-User": user}
    if groups:
        headers["X-Forwarded-Groups"] = groups
    return headers


def test_finance_member_gets_payroll_and_colleague_does_not(api, fake_llm):
    carol = api.post("/api/search", json={"query": QUESTION}, headers=as_user("carol")).json()["results"]
    assert carol[0]["title"] == "Payroll"
    erin = api.post("/api/search", json={"query": QUESTION}, headers=as_user("erin")).json()["results"]
    assert [r["title"] for r in erin] == ["HR Home"]

    body = {"messages": [{"role": "user", "content": QUESTION}]}
    json_accept = {"Accept": "application/json"}
    answer = api.post("/api/chat", json=body, headers={**as_user("carol"), **json_accept}).json()
    assert answer["sources"][0]["title"] == "Payroll" and "25th" in answer["answer"] and "[1]" in answer["answer"]
    assert "25th" in fake_llm.answer_requests[-1]["messages"][0]["content"]

    with api.stream("POST", "/api/chat", json=body, headers=as_user("erin")) as response:
        events = sse_events(response)
    sources = next(data for event, data in events if event == "sources")["sources"]
    assert [s["title"] for s in sources] == ["HR Home"]
    text = "".join(data["text"] for event, data in events if event == "token")
    assert "25th" not in text
    prompt = fake_llm.answer_requests[-1]["messages"][0]["content"]
    assert "25th" not in prompt and "Payroll questions go to finance" in prompt


def test_spaces_and_counts_follow_the_user_and_anonymous_sees_nothing(api):
    assert api.get("/api/spaces", headers=as_user("carol")).json()["spaces"] == [{"key": "HR", "pages": 2, "chunks": 2}]
    assert api.get("/api/spaces", headers=as_user("erin")).json()["spaces"] == [{"key": "HR", "pages": 1, "chunks": 1}]
    # No user header in proxy mode: anonymous. HR has no anonymous access: nothing, and HR is unknown.
    assert api.get("/api/spaces").json()["spaces"] == []
    assert api.post("/api/search", json={"query": QUESTION}).json()["results"] == []
    unknown = api.post("/api/search", json={"query": QUESTION, "spaces": ["HR"]})
    assert unknown.status_code == 404
    # A user Confluence does not know sees what anonymous sees.
    assert api.post("/api/search", json={"query": QUESTION}, headers=as_user("mallory")).json()["results"] == []


def test_server_dc_usernames_are_case_insensitive(fake_llm, make_settings):
    """Confluence DC treats `Carol` and `carol` as one user: whichever case Confluence and the proxy use."""
    fake = FakeConfluence(cloud=False, page_cap=5)
    fake.add_user("Dave")
    fake.add_group("staff", ["Carol", "erin"])
    fake.add_space("HR", "Human resources")
    fake.set_space_permissions("HR", groups=["staff"], users=["Dave"])
    home = fake.add_page("HR", "HR Home", "<p>Welcome to the HR space.</p>")
    payroll = fake.add_page("HR", "Payroll", "<p>The payroll is paid on the 25th of every month.</p>", parent=home.id)
    fake.set_read_restriction(payroll.id, users=["Carol", "Dave"])
    fake.start()
    try:
        settings = make_settings(**confluence_settings(fake), **llm_settings(fake_llm), auth_mode="proxy")
        ingest_space(Components(settings), "HR")
        with ServerThread(create_app(settings)) as server:
            api = httpx.Client(base_url=server.url, timeout=60)
            for user in ("Carol", "carol", "CAROL", "dave", "DAVE"):
                results = api.post("/api/search", json={"query": QUESTION}, headers=as_user(user)).json()["results"]
                assert "Payroll" in [r["title"] for r in results], user
            erin = api.post("/api/search", json={"query": QUESTION}, headers=as_user("Erin")).json()["results"]
            assert [r["title"] for r in erin] == ["HR Home"]
            assert api.get("/api/auth/me", headers=as_user("CAROL")).json()["user"] == "carol"
    finally:
        fake.stop()
