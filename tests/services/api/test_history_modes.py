"""History settings and faults over real HTTP: HISTORY=off, AUTH_MODE=none, retention, a stopped
PostgreSQL (search and chat keep answering, history routes 503), and the operators' analytics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from benchmarks.processes import LocalPostgres
from confluence_rag.api.app import create_app
from confluence_rag.container import Components
from confluence_rag.history.database import Database
from confluence_rag.history.service import HistoryService
from confluence_rag.worker.runs import ingest_space
from tests.conftest import ServerThread, confluence_settings, database_rows, llm_settings

QUESTION = "How do I deploy a release?"
JSON = {"Accept": "application/json"}
ADMIN = "admin-token-for-tests"
CAROL = {"X-Forwarded-User": "carol"}
OPERATOR = {"X-Forwarded-User": "olga", "X-Forwarded-Groups": "ops"}


@pytest.fixture
def serve(fake_confluence, fake_llm, make_settings):
    """start(**settings) -> a client of a query API over the fake's ENG space (permissions off)."""
    servers = []

    def start(**overrides) -> tuple[httpx.Client, object]:
        settings = make_settings(
            **confluence_settings(fake_confluence),
            **llm_settings(fake_llm),
            permissions="off",
            admin_token=ADMIN,
            admin_groups=["ops"],
            **overrides,
        )
        ingest_space(Components(settings), "ENG")
        server = ServerThread(create_app(settings)).__enter__()
        servers.append(server)
        return httpx.Client(base_url=server.url, timeout=60), settings

    yield start
    for server in servers:
        server.__exit__(None, None, None)


def ask(api: httpx.Client, headers: dict | None = None, question: str = QUESTION) -> dict:
    response = api.post(
        "/api/chat", json={"messages": [{"role": "user", "content": question}]}, headers={**JSON, **(headers or {})}
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_history_off_stores_no_text_but_keeps_feedback_and_usage(serve):
    api, settings = serve(auth_mode="proxy", history="off")
    asked = ask(api, CAROL)
    assert asked["conversation_id"] is None and asked["message_id"]
    rating = {"message_id": asked["message_id"], "rating": "down", "comment": "faux"}
    assert api.post("/api/feedback", json=rating, headers=CAROL).status_code == 204
    assert api.get("/api/conversations", headers=CAROL).status_code == 403
    assert database_rows(settings, "SELECT question, answer FROM messages") == [(None, None)]
    assert database_rows(settings, "SELECT rating, comment FROM feedback") == [("down", None)]
    assert database_rows(settings, "SELECT count(*) FROM conversations") == [(0,)]
    everything = "\n".join(
        str(row) for table in ("messages", "feedback") for row in database_rows(settings, f"SELECT * FROM {table}")
    )
    assert QUESTION not in everything and "faux" not in everything and '"text"' not in everything
    assert api.get("/api/auth/config").json()["history"] is False


def test_without_sign_in_the_browser_keeps_the_conversation(serve):
    api, settings = serve(auth_mode="none")
    asked = ask(api)
    assert asked["conversation_id"] is None and asked["message_id"]
    assert api.post("/api/feedback", json={"message_id": asked["message_id"], "rating": "up"}).status_code == 204
    refused = api.get("/api/conversations")
    assert refused.status_code == 403 and "browser" in refused.json()["detail"]
    assert api.get("/api/auth/config").json()["history"] is False
    assert database_rows(settings, "SELECT owner, question FROM messages") == [(None, QUESTION)]


def test_retention_deletes_old_rows(serve):
    api, settings = serve(auth_mode="proxy", history_retention_days=30)
    ask(api, CAROL)  # a conversation (its message goes with it)
    ask(api)  # anonymous: a message without conversation
    service = HistoryService(settings, Database(settings))
    assert service.purge(datetime.now(UTC) + timedelta(days=29)) == 0
    assert service.purge(datetime.now(UTC) + timedelta(days=31)) == 2
    assert database_rows(settings, "SELECT count(*) FROM messages") == [(0,)]
    assert api.get("/api/conversations", headers=CAROL).json()["conversations"] == []


def test_a_stopped_database_costs_the_history_not_the_answers(serve):
    postgres = LocalPostgres()
    postgres.start()
    try:
        api, _ = serve(auth_mode="proxy", database_url=postgres.create_database(), database_timeout_s=2.0)
        assert ask(api, CAROL)["conversation_id"]
        postgres.stop()
        asked = ask(api, CAROL)
        assert asked["answer"] and asked["sources"] and asked["conversation_id"] is None and asked["message_id"] is None
        assert api.post("/api/search", json={"query": QUESTION}, headers=CAROL).json()["results"]
        down = api.get("/api/conversations", headers=CAROL)
        assert down.status_code == 503 and "history database" in down.json()["detail"]
        rating = {"message_id": "00000000-0000-4000-8000-000000000000", "rating": "up"}
        assert api.post("/api/feedback", json=rating, headers=CAROL).status_code == 503
        postgres.start()  # back: the history answers again, without restarting the API
        assert len(api.get("/api/conversations", headers=CAROL).json()["conversations"]) == 1
    finally:
        postgres.stop()
        postgres.remove()


def test_operators_see_unanswered_and_thumbed_down_questions(serve):
    api, _ = serve(auth_mode="proxy")
    answered = ask(api, CAROL)
    unanswered = ask(api, CAROL, "Quelle est la couleur du chat de la comptable ?")
    rating = {"message_id": answered["message_id"], "rating": "down", "comment": "Wrong version"}
    assert api.post("/api/feedback", json=rating, headers=CAROL).status_code == 204

    assert api.get("/api/admin/analytics", headers=CAROL).status_code == 403
    report = api.get("/api/admin/analytics", headers=OPERATOR).json()
    assert report["questions"] == 2 and report["thumbs_down"] == 1
    assert [(q["question"], q["comment"]) for q in report["thumbed_down"]] == [(QUESTION, "Wrong version")]
    if not unanswered["sources"] or not unanswered["answer_found"]:
        assert unanswered["message_id"] in [q["message_id"] for q in report["unanswered"]]
    cited = {p["page_id"] for p in report["most_cited"]}
    assert cited == {s["page_id"] for s in answered["sources"] + unanswered["sources"]}
    assert report["never_cited_total"] == len(report["never_cited"]) and not cited & {
        p["page_id"] for p in report["never_cited"]
    }
    assert report["spaces"][0]["space_key"] == "ENG" and report["latency_ms"]["total"]["p50"] > 0

    assert api.get("/api/admin/analytics", params={"start": "0.5"}, headers=OPERATOR).status_code == 422
    # Edges of the calendar (found by schemathesis): an empty period or a 422 with a message, never a 500.
    year_one = api.get("/api/admin/analytics", params={"end": "0001-01-01T00:03:00Z"}, headers=OPERATOR)
    assert year_one.status_code == 200 and year_one.json()["questions"] == 0
    for edge in ({"start": "0001-01-01T00:00:00+01:00"}, {"end": "9999-12-31T23:00:00-05:00"}):
        refused = api.get("/api/admin/analytics.csv", params=edge, headers=OPERATOR)
        assert refused.status_code == 422 and "out of the supported range" in refused.json()["detail"], edge
    later = {"start": "2000-01-01T00:00:00", "end": "2000-02-01T00:00:00"}
    assert (
        api.get("/api/admin/analytics", params=later, headers={"Authorization": f"Bearer {ADMIN}"}).json()["questions"]
        == 0
    )

    export = api.get("/api/admin/analytics.csv", headers=OPERATOR)
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    lines = export.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("created_at,message_id,question") and len(lines) == 3
    assert any(QUESTION in line and "down" in line and "Wrong version" in line for line in lines)
