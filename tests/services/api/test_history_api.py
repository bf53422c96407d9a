"""Conversations and feedback over real HTTP (AUTH_MODE=proxy, a fake Server/DC with a restricted page,
the fake LLM), on SQLite and on a real PostgreSQL server: each user's own, 404 for anybody else's,
sources re-checked on reopening, deletion removing the rows, feedback stored with the answer."""

from __future__ import annotations

import time

import httpx
import pytest

from confluence_rag.api.app import create_app
from confluence_rag.container import Components
from confluence_rag.worker.runs import ingest_space, permission_pass
from tests.conftest import ServerThread, confluence_settings, database_rows, llm_settings, sse_events
from tests.fakes.confluence import FakeConfluence

QUESTION = "When is the payroll paid?"
JSON = {"Accept": "application/json"}


@pytest.fixture
def fake():
    fake = FakeConfluence(cloud=False, page_cap=5)
    fake.add_group("finance", ["carol"])
    fake.add_group("staff", ["carol", "erin"])
    fake.add_group("board", ["dave"])
    fake.add_space("HR", "Human resources")
    fake.set_space_permissions("HR", groups=["staff", "board"], anonymous=False)
    home = fake.add_page("HR", "HR Home", "<p>Welcome to the HR space. Payroll questions go to finance.</p>")
    fake.payroll = fake.add_page(
        "HR", "Payroll", "<p>The payroll is paid on the 25th of every month by bank transfer.</p>", parent=home.id
    )
    fake.set_read_restriction(fake.payroll.id, groups=["finance"])
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def settings(fake, fake_llm, make_settings, database_url):
    return make_settings(
        **confluence_settings(fake), **llm_settings(fake_llm), auth_mode="proxy", database_url=database_url
    )


@pytest.fixture
def api(settings):
    ingest_space(Components(settings), "HR")
    with ServerThread(create_app(settings)) as server:
        yield httpx.Client(base_url=server.url, timeout=60)


def as_user(user: str) -> dict:
    return {"X-Forwarded-User": user}


def ask(api: httpx.Client, user: str, question: str = QUESTION, **extra) -> dict:
    body = {"messages": [{"role": "user", "content": question}], **extra}
    response = api.post("/api/chat", json=body, headers={**as_user(user), **JSON})
    assert response.status_code == 200, response.text
    return response.json()


def test_each_user_has_their_own_conversations(api, settings):
    first = ask(api, "carol")
    assert first["conversation_id"] and first["message_id"] and "25th" in first["answer"]
    follow = ask(api, "carol", "And by which means?", conversation_id=first["conversation_id"])
    assert follow["conversation_id"] == first["conversation_id"] and follow["message_id"] != first["message_id"]

    listed = api.get("/api/conversations", headers=as_user("carol")).json()["conversations"]
    assert [(c["id"], c["title"]) for c in listed] == [(first["conversation_id"], QUESTION)]
    opened = api.get(f"/api/conversations/{first['conversation_id']}", headers=as_user("carol")).json()
    assert [m["question"] for m in opened["messages"]] == [QUESTION, "And by which means?"]
    assert opened["messages"][0]["sources"][0]["title"] == "Payroll" and opened["messages"][0]["withheld_sources"] == 0

    # Erin cannot read, rename, delete, continue or rate Carol's: 404, as for an id that does not exist.
    cid = first["conversation_id"]
    assert api.get("/api/conversations", headers=as_user("erin")).json()["conversations"] == []
    assert api.get(f"/api/conversations/{cid}", headers=as_user("erin")).status_code == 404
    assert api.patch(f"/api/conversations/{cid}", json={"title": "x"}, headers=as_user("erin")).status_code == 404
    assert api.delete(f"/api/conversations/{cid}", headers=as_user("erin")).status_code == 404
    body = {"messages": [{"role": "user", "content": "hi"}], "conversation_id": cid}
    assert api.post("/api/chat", json=body, headers={**as_user("erin"), **JSON}).status_code == 404
    rating = {"message_id": first["message_id"], "rating": "down"}
    assert api.post("/api/feedback", json=rating, headers=as_user("erin")).status_code == 404
    unknown = "00000000-0000-4000-8000-000000000000"
    assert api.get(f"/api/conversations/{unknown}", headers=as_user("carol")).status_code == 404

    renamed = api.patch(f"/api/conversations/{cid}", json={"title": "Paie"}, headers=as_user("carol"))
    assert renamed.status_code == 200 and renamed.json()["title"] == "Paie"
    assert api.delete(f"/api/conversations/{cid}", headers=as_user("carol")).status_code == 204
    assert api.get(f"/api/conversations/{cid}", headers=as_user("carol")).status_code == 404
    assert database_rows(settings, "SELECT question FROM messages") == []  # the text is gone, not flagged


def test_delete_all_of_mine_leaves_the_others(api, settings):
    ask(api, "carol")
    ask(api, "carol", "Who answers payroll questions?")
    ask(api, "erin")
    deleted = api.delete("/api/conversations", headers=as_user("carol"))
    assert deleted.json() == {"deleted": 2}
    assert api.get("/api/conversations", headers=as_user("carol")).json()["conversations"] == []
    assert len(api.get("/api/conversations", headers=as_user("erin")).json()["conversations"]) == 1
    assert database_rows(settings, "SELECT owner FROM messages") == [("erin",)]


def test_the_stream_done_event_carries_the_ids(api):
    body = {"messages": [{"role": "user", "content": QUESTION}]}
    with api.stream("POST", "/api/chat", json=body, headers=as_user("carol")) as response:
        events = sse_events(response)
    done = next(data for event, data in events if event == "done")
    opened = api.get(f"/api/conversations/{done['conversation_id']}", headers=as_user("carol")).json()
    assert [m["message_id"] for m in opened["messages"]] == [done["message_id"]]


def test_a_reopened_conversation_withholds_what_the_user_can_no_longer_read(api, fake, settings):
    asked = ask(api, "carol")
    assert [s["title"] for s in asked["sources"]][0] == "Payroll"
    fake.set_read_restriction(fake.payroll.id, groups=["board"])  # Carol loses access to Payroll
    permission_pass(Components(settings), "HR")
    deadline = time.monotonic() + 30
    while True:  # the API's keyword snapshot follows the index in the background
        message = api.get(f"/api/conversations/{asked['conversation_id']}", headers=as_user("carol")).json()
        message = message["messages"][0]
        if message["withheld_sources"] or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert message["withheld_sources"] == 1 and message["answer"] is None
    assert "Payroll" not in [s["title"] for s in message["sources"]]
    assert message["question"] == QUESTION


def test_feedback_is_stored_with_the_answer(api, settings):
    asked = ask(api, "carol")
    chunk = asked["sources"][0]["chunk_id"]
    good = {"message_id": asked["message_id"], "rating": "down", "comment": "Pas à jour", "wrong_chunk_ids": [chunk]}
    assert api.post("/api/feedback", json=good, headers=as_user("carol")).status_code == 204
    assert api.post("/api/feedback", json={**good, "comment": "x" * 2001}, headers=as_user("carol")).status_code == 422
    assert api.post("/api/feedback", json={**good, "rating": "meh"}, headers=as_user("carol")).status_code == 422
    not_cited = {**good, "wrong_chunk_ids": ["other#0"]}
    refused = api.post("/api/feedback", json=not_cited, headers=as_user("carol"))
    assert refused.status_code == 422 and "not cited" in refused.json()["detail"]
    stored = database_rows(
        settings,
        "SELECT f.rating, f.comment, f.wrong_chunk_ids, m.question, m.answer, m.model, m.retrieval_mode, m.timings "
        "FROM feedback f JOIN messages m ON m.id = f.message_id",
    )
    assert len(stored) == 1
    rating, comment, wrong, question, answer, model, retrieval_mode, timings = stored[0]
    assert (rating, comment, question, model, retrieval_mode) == (
        "down",
        "Pas à jour",
        QUESTION,
        "openai/fake-model",
        "hybrid",
    )
    assert chunk in str(wrong) and "25th" in answer and "total_ms" in str(timings)
    opened = api.get(f"/api/conversations/{asked['conversation_id']}", headers=as_user("carol")).json()
    reopened = opened["messages"][0]
    # The whole feedback comes back, so that the page can send it whole with the next change.
    assert (reopened["rating"], reopened["comment"], reopened["wrong_chunk_ids"]) == ("down", "Pas à jour", [chunk])
