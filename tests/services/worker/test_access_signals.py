"""The cheap change signals before the scheduled pass: the audit log (Cloud and DC shapes) and DC
webhooks start a permission pass at once; an audit log the account may not read is left quietly.
The scheduled pass is set to an hour here so that only the signal can explain a fast revocation.
Real embedding model, Chroma server, the Confluence fake over HTTP, the worker over HTTP."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time

import httpx
import pytest

from confluence_rag.auth.identity import Identity
from confluence_rag.container import Components
from confluence_rag.retrieval.search import SearchService
from confluence_rag.worker.access_watch import AccessWatch
from confluence_rag.worker.app import create_worker_app
from confluence_rag.worker.runs import ingest_space
from tests.conftest import ServerThread, confluence_settings
from tests.fakes.confluence import HR_QUESTIONS, FakeConfluence, hr_space, revoke_for_carol

SECRET = "webhook-secret-for-tests"
SIGNAL_S = 20.0  # a signalled revocation: one poll or post, then one pass over 5 pages


class WorkerThread(ServerThread):
    health_path = "/health"


def carol(fake: FakeConfluence) -> Identity:
    user = fake.users["carol"]
    return Identity(user=user.account_id if fake.cloud else user.username, groups=frozenset(), is_admin=False)


def served(search: SearchService, who: Identity) -> set[str]:
    return {t for t, q in HR_QUESTIONS.items() if t in [s.title for s in search.search(q, identity=who)]}


def wait_until(condition, timeout: float) -> float:
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, "not within the bounded wait"
        time.sleep(0.2)
    return time.monotonic() - start


@pytest.fixture(params=[True, False], ids=["cloud", "dc"])
def hr(request):
    fake = FakeConfluence(cloud=request.param, page_cap=5)
    pages = hr_space(fake)
    fake.start()
    yield fake, pages
    fake.stop()


def signal_settings(make_settings, chroma_server, fake, **extra):
    values = {
        **confluence_settings(fake),
        "confluence_spaces": ["HR"],
        "chroma_host": "127.0.0.1",
        "chroma_port": chroma_server.port,
        "permission_sync_minutes": 60,  # the scheduled pass would come in an hour: only a signal is fast
    }
    return make_settings(**{**values, **extra})


def test_the_audit_log_starts_a_pass_at_once(hr, make_settings, chroma_server):
    fake, pages = hr
    settings = signal_settings(make_settings, chroma_server, fake, permission_audit_seconds=0.5)
    components = Components(settings)
    ingest_space(components, "HR")
    search = SearchService(components)
    assert served(search, carol(fake)) == set(HR_QUESTIONS)
    watch = AccessWatch(components, threading.Lock())
    watch.start()
    try:
        wait_until(lambda: watch.state.passes >= 1 and watch.state.audit == "polling", 30)
        revoke_for_carol(fake, pages)
        took = wait_until(lambda: not served(search, carol(fake)), SIGNAL_S)
    finally:
        watch.stop()
    assert watch.state.signals >= 1 and watch.state.audit_requests > 0
    path = "/rest/api/audit" if fake.cloud else "/rest/auditing/1.0/events"
    assert any(path in r for r in fake.requests), took


@pytest.mark.parametrize("status", [401, 403, 400])
def test_an_unreadable_audit_log_falls_back_quietly_to_the_scheduled_pass(status, make_settings, chroma_server):
    fake = FakeConfluence(cloud=True, page_cap=5)
    pages = hr_space(fake)
    fake.audit_status = status  # no admin right (401/403), or the Free plan (400)
    fake.start()
    try:
        settings = signal_settings(
            make_settings, chroma_server, fake, permission_audit_seconds=0.2, permission_sync_minutes=0.02
        )
        components = Components(settings)
        ingest_space(components, "HR")
        watch = AccessWatch(components, threading.Lock())
        watch.start()
        try:
            wait_until(lambda: watch.state.audit == "unavailable", 30)
            revoke_for_carol(fake, pages)
            passes = watch.state.passes
            wait_until(lambda: watch.state.passes > passes + 1, 30)  # the clock keeps passing
        finally:
            watch.stop()
        assert served(SearchService(components), carol(fake)) == set()
        assert sum("/rest/api/audit" in r for r in fake.requests) == 1  # asked once, then left alone
    finally:
        fake.stop()


def test_dc_webhooks_start_a_pass_and_unsigned_posts_are_refused(make_settings, chroma_server):
    fake = FakeConfluence(cloud=False, page_cap=5)
    pages = hr_space(fake)
    fake.start()
    try:
        settings = signal_settings(
            make_settings, chroma_server, fake, permission_audit="off", confluence_webhook_secret=SECRET
        )
        components = Components(settings)
        ingest_space(components, "HR")
        search = SearchService(components)
        with WorkerThread(create_worker_app(settings)) as worker:
            url = worker.url + "/webhooks/confluence"
            body = b'{"event": "content_permissions_updated", "page": {"id": 1}}'
            good = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            for headers, status in (
                ({}, 401),
                ({"X-Hub-Signature": "sha256=" + "0" * 64}, 401),
                ({"X-Hub-Signature": good.replace("sha256=", "sha1=")}, 401),
            ):
                assert httpx.post(url, content=body, headers=headers).status_code == status
            not_json = b"not json"
            signed = "sha256=" + hmac.new(SECRET.encode(), not_json, hashlib.sha256).hexdigest()
            assert httpx.post(url, content=not_json, headers={"X-Hub-Signature": signed}).status_code == 400
            other = b'{"event": "label_added"}'
            signed = hmac.new(SECRET.encode(), other, hashlib.sha256).hexdigest()  # bare hex is accepted too
            answer = httpx.post(url, content=other, headers={"X-Hub-Signature": signed})
            assert (answer.status_code, answer.json()) == (202, {"accepted": False})

            wait_until(lambda: worker_passes(worker) >= 1, 30)
            fake.add_webhook(url, SECRET)
            fake.set_read_restriction(
                pages["Bonus scheme"].id, groups=["managers"]
            )  # posts content_permissions_updated
            fake.delete_page(pages["Canteen"].id)  # posts page_removed
            wait_until(lambda: not served(search, carol(fake)) & {"Bonus scheme", "Canteen"}, SIGNAL_S)
            assert fake.webhook_deliveries and set(fake.webhook_deliveries) == {202}
    finally:
        fake.stop()


def test_webhooks_are_refused_without_a_secret(make_settings, fake_confluence):
    settings = make_settings(**confluence_settings(fake_confluence), permission_sync_minutes=0)
    with WorkerThread(create_worker_app(settings)) as worker:
        answer = httpx.post(worker.url + "/webhooks/confluence", json={"event": "page_removed"})
        assert answer.status_code == 403 and "CONFLUENCE_WEBHOOK_SECRET" in answer.json()["detail"]


def worker_passes(worker: WorkerThread) -> int:
    return worker.server.config.app.state.access_watch.state.passes


def test_passes_are_paced_on_the_request_budget(make_settings, chroma_server, fake_confluence):
    """A pass that cost R requests is followed by the next one R / budget minutes later at the earliest,
    however short PERMISSION_SYNC_MINUTES is: the request rate stays within the budget."""
    budget = 60.0  # requests per minute: one per second
    settings = make_settings(
        **confluence_settings(fake_confluence),
        confluence_spaces=["ENG"],
        chroma_host="127.0.0.1",
        chroma_port=chroma_server.port,
        permission_sync_minutes=0.001,  # a pass every 60 ms, were it not for the budget
        permission_budget_per_minute=budget,
        permission_audit="off",
    )
    components = Components(settings)
    components.embedder  # loaded before, as the worker does at its start  # noqa: B018
    watch = AccessWatch(components, threading.Lock())
    start = time.monotonic()
    watch.start()
    time.sleep(8)
    watch.stop()
    elapsed = time.monotonic() - start
    per_pass = watch.state.requests / watch.state.passes
    assert per_pass >= 4  # listing, space, grant, group members: the budget has something to pace
    assert watch.state.requests <= budget * elapsed / 60 + per_pass, (watch.state.passes, per_pass)
