"""GET /api/access/explain: why can (or can't) a user read a page, for operators only, over real HTTP
against a real ingestion from the Confluence fake (Server/DC, AUTH_MODE=proxy)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from confluence_rag.api.app import create_app
from confluence_rag.container import Components
from confluence_rag.worker.runs import ingest_space
from tests.conftest import ServerThread, confluence_settings
from tests.fakes.confluence import FakeConfluence

ADMIN_TOKEN = "operator-secret-token"


@pytest.fixture
def fake():
    fake = FakeConfluence(cloud=False, page_cap=5)
    fake.add_group("finance", ["carol"])
    fake.add_group("staff", ["carol", "erin"])
    fake.add_group("ops", ["olga"])
    fake.add_space("HR", "Human resources")
    fake.set_space_permissions("HR", groups=["staff"], anonymous=False)
    home = fake.add_page("HR", "HR Home", "<p>Welcome to the HR space.</p>")
    payroll = fake.add_page("HR", "Payroll", "<p>Paid on the 25th.</p>", parent=home.id)
    fake.set_read_restriction(payroll.id, groups=["finance"])
    fake.add_page("HR", "Salaries", "<p>The salary grid.</p>", parent=payroll.id)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def settings(fake, make_settings):
    return make_settings(**confluence_settings(fake), auth_mode="proxy", admin_groups=["ops"], admin_token=ADMIN_TOKEN)


@pytest.fixture
def api(settings):
    ingest_space(Components(settings), "HR")
    with ServerThread(create_app(settings)) as server:
        yield httpx.Client(base_url=server.url, timeout=60)


def page_id(fake: FakeConfluence, title: str) -> str:
    return next(p.id for p in fake.pages.values() if p.title == title)


OPERATOR = {"X-Forwarded-User": "olga", "X-Forwarded-Groups": "ops"}
TOKEN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def explain(api: httpx.Client, page: str, user: str | None, headers: dict = OPERATOR) -> httpx.Response:
    params = {"page_id": page, **({"user": user} if user else {})}
    return api.get("/api/access/explain", params=params, headers=headers)


def test_member_of_every_layer_reads_the_page_and_each_fact_is_shown(api, fake):
    salaries = page_id(fake, "Salaries")
    got = explain(api, salaries, "carol")
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["can_read"] is True and body["enforced"] is True
    assert body["title"] == "Salaries" and body["space_key"] == "HR"
    assert body["principals"] == ["g:finance", "g:staff", "u:carol"]
    assert body["space"]["grants"] is True and body["space"]["matched"] == ["g:staff"]
    # One entry per content on the chain, root first: HR Home (no restriction), Payroll (finance), Salaries.
    assert [(layer["title"], layer["restricted"], layer["principals"]) for layer in body["layers"]] == [
        ("HR Home", False, []),
        ("Payroll", True, ["g:finance"]),
        ("Salaries", False, []),
    ]
    assert [layer["content_id"] for layer in body["layers"]] == [
        page_id(fake, "HR Home"),
        page_id(fake, "Payroll"),
        salaries,
    ]
    assert body["layers"][1]["matched"] == ["g:finance"] and all(layer["passes"] for layer in body["layers"])
    # When each fact was last read from Confluence: just now, by the ingestion above.
    now = datetime.now(UTC)
    for stamp in (body["space"]["read_at"], body["layers_read_at"], *(g["read_at"] for g in body["groups"])):
        assert now - timedelta(minutes=5) < datetime.fromisoformat(stamp) <= now
    assert [g["group"] for g in body["groups"]] == ["g:finance", "g:staff"]


def test_denials_name_the_layer_or_the_space_that_refuses(api, fake):
    salaries = page_id(fake, "Salaries")
    erin = explain(api, salaries, "erin").json()
    assert erin["can_read"] is False and erin["space"]["grants"] is True
    assert [layer["passes"] for layer in erin["layers"]] == [True, False, True]
    assert any(page_id(fake, "Payroll") in reason for reason in erin["reasons"])

    mallory = explain(api, page_id(fake, "HR Home"), "mallory").json()
    assert mallory["can_read"] is False and mallory["space"]["grants"] is False
    assert mallory["principals"] == ["u:mallory"] and mallory["groups"] == []

    anonymous = explain(api, page_id(fake, "HR Home"), None).json()
    assert anonymous["user"] is None and anonymous["can_read"] is False and anonymous["principals"] == []


def test_the_explanation_matches_what_search_enforces(api, fake):
    for user in ("carol", "erin", "mallory"):
        found = api.post("/api/search", json={"query": "salary grid"}, headers={"X-Forwarded-User": user}).json()
        readable = any(r["title"] == "Salaries" for r in found["results"])
        assert explain(api, page_id(fake, "Salaries"), user).json()["can_read"] is readable


def test_a_restriction_change_is_explained_after_the_next_pass(api, fake, settings):
    fake.set_read_restriction(page_id(fake, "HR Home"), groups=["ops"])
    ingest_space(Components(settings), "HR")
    body = explain(api, page_id(fake, "Salaries"), "carol").json()
    assert body["can_read"] is False
    assert body["layers"][0]["principals"] == ["g:ops"] and body["layers"][0]["passes"] is False


def test_unknown_page_is_404_and_bad_ids_are_4xx(api):
    assert explain(api, "999999", "carol").status_code == 404
    assert explain(api, "1\x002", "carol").status_code in (400, 422)
    assert explain(api, "9" * 300, "carol").status_code == 422


def test_only_operators_may_ask(api, fake):
    home = page_id(fake, "HR Home")
    assert explain(api, home, "carol", headers=TOKEN).status_code == 200
    assert explain(api, home, "carol", headers=OPERATOR).status_code == 200
    plain = explain(api, home, "carol", headers={"X-Forwarded-User": "carol"})
    assert plain.status_code == 403 and "carol" not in plain.text
    assert explain(api, home, "carol", headers={}).status_code == 401
    assert explain(api, home, "carol", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_user_supplied_ids_never_reach_the_log(api, fake, caplog):
    caplog.set_level(logging.DEBUG)
    user, page = "secret-user-name", page_id(fake, "HR Home")
    assert explain(api, page, user).status_code == 200
    assert explain(api, "secret-page-id", user).status_code == 404
    # The server's side (the test's own HTTP client logs the URLs it requests).
    server = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    logged = "\n".join(record.getMessage() for record in server)
    assert "access explained" in logged
    assert user not in logged and "secret-page-id" not in logged and f"page {page}" not in logged


def test_with_groups_from_the_token_the_operator_names_them(api, fake, settings):
    """GROUPS_SOURCE=token: the product does not know a user's groups outside their requests."""
    token_settings = settings.model_copy(update={"groups_source": "token"})
    with ServerThread(create_app(token_settings)) as server:
        client = httpx.Client(base_url=server.url, timeout=60)
        params = {"page_id": page_id(fake, "Payroll"), "user": "carol"}
        alone = client.get("/api/access/explain", params=params, headers=TOKEN).json()
        assert alone["groups_source"] == "token" and alone["principals"] == ["u:carol"] and not alone["can_read"]
        named = client.get("/api/access/explain", params={**params, "groups": ["staff", "finance"]}, headers=TOKEN)
        body = named.json()
        assert body["principals"] == ["g:finance", "g:staff", "u:carol"] and body["can_read"] is True
