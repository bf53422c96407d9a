"""ConfluenceClient against the Confluence fake, over real HTTP, Cloud and Server/DC styles."""

from __future__ import annotations

import time

import pytest

from confluence_rag.sources.confluence import (
    ConfluenceAuthError,
    ConfluenceClient,
    ConfluenceError,
    ConfluenceUnreachable,
)
from tests.conftest import confluence_settings, free_port
from tests.fakes.confluence import FakeConfluence, sample_space


@pytest.fixture(params=["cloud", "server"])
def any_fake(request):
    fake = FakeConfluence(cloud=request.param == "cloud", page_cap=2)
    sample_space(fake, "ENG")
    fake.start()
    yield fake
    fake.stop()


def test_lists_every_page_with_metadata_across_pages(any_fake, make_settings):
    client = ConfluenceClient(make_settings(**confluence_settings(any_fake), confluence_page_batch=50))
    pages = list(client.iter_space_pages("ENG"))

    assert sorted(p.title for p in pages) == sorted(p.title for p in any_fake.pages.values())
    searches = [r for r in any_fake.requests if "/content/search" in r]
    assert len(searches) == 3  # 5 pages, server cap 2: the client followed the next links
    if any_fake.cloud:
        assert any("cursor=" in r for r in searches[1:])
    else:
        assert all("cursor=" not in r for r in searches) and "start=2" in searches[1]
    rollback = next(p for p in pages if p.title == "Rollback procedure")
    assert rollback.breadcrumb == ["Engineering handbook", "Deployment guide"]
    assert rollback.labels == ["ops"] and rollback.space_key == "ENG"
    assert rollback.version == 1 and rollback.last_modified and rollback.author == "Alice Martin"
    assert rollback.url == any_fake.base_url + any_fake.webui(any_fake.pages[rollback.page_id])
    assert "<table>" in rollback.html


def test_listing_asks_for_no_bodies_and_matches_full_pages(fake_confluence, make_settings):
    client = ConfluenceClient(make_settings(**confluence_settings(fake_confluence)))
    listing = client.listing("ENG")
    assert set(listing) == set(fake_confluence.pages)
    assert all("body" not in r for r in fake_confluence.requests if "/content/search" in r)
    # The signature from the cheap listing equals the one computed from a full fetch.
    assert listing == {p.page_id: p.signature for p in client.iter_space_pages("ENG")}


def test_unknown_space_is_a_clear_error(fake_confluence, make_settings):
    client = ConfluenceClient(make_settings(**confluence_settings(fake_confluence)))
    with pytest.raises(ConfluenceError, match="Space 'NOPE' not found"):
        client.get_space("NOPE")


def test_unreachable_confluence_is_not_a_missing_space(make_settings):
    settings = make_settings(
        confluence_url=f"http://127.0.0.1:{free_port()}/wiki",
        confluence_username="bot@example.com",
        confluence_api_token="token",
        confluence_max_retries=0,
    )
    with pytest.raises(ConfluenceUnreachable, match="unreachable") as caught:
        ConfluenceClient(settings).get_space("ENG")
    assert "not found" not in str(caught.value)


def test_wrong_credentials_name_the_settings_to_fix(fake_confluence, make_settings):
    settings = make_settings(
        **{
            **confluence_settings(fake_confluence),
            "confluence_api_token": "wrong-secret",
        }
    )
    with pytest.raises(ConfluenceAuthError) as err:
        ConfluenceClient(settings).get_space("ENG")
    assert "CONFLUENCE_API_TOKEN" in str(err.value) and "wrong-secret" not in str(err.value)


def test_forbidden_space_is_a_403_with_a_hint(make_settings):
    fake = FakeConfluence(forbidden_spaces=("SECRET",))
    fake.add_space("SECRET")
    fake.start()
    try:
        with pytest.raises(ConfluenceAuthError, match="403"):
            ConfluenceClient(make_settings(**confluence_settings(fake))).get_space("SECRET")
    finally:
        fake.stop()


def test_missing_credentials_are_reported_before_any_request(make_settings):
    with pytest.raises(ConfluenceAuthError, match="CONFLUENCE_PAT"):
        ConfluenceClient(make_settings(confluence_url="http://127.0.0.1:9/wiki"))


def test_429_with_retry_after_is_retried_then_succeeds(fake_confluence, make_settings):
    fake_confluence.fail_next(429, times=2, retry_after="1", path_contains="/content/search")
    client = ConfluenceClient(make_settings(**confluence_settings(fake_confluence)))
    start = time.monotonic()
    pages = list(client.iter_space_pages("ENG"))
    assert len(pages) == 5
    assert time.monotonic() - start >= 2.0  # it honoured Retry-After twice
    first = [r for r in fake_confluence.requests if "/content/search" in r][:3]
    assert first[0] == first[1] == first[2]  # the same request, resent


def test_retry_after_is_capped_and_http_dates_are_accepted(fake_confluence, make_settings):
    fake_confluence.fail_next(503, times=1, retry_after="3600", path_contains="/content/search")
    fake_confluence.fail_next(
        429,
        times=1,
        retry_after="Wed, 21 Oct 2099 07:28:00 GMT",
        path_contains="/content/search",
    )
    client = ConfluenceClient(make_settings(**confluence_settings(fake_confluence), confluence_max_backoff_s=1.0))
    start = time.monotonic()
    assert len(list(client.iter_space_pages("ENG"))) == 5
    assert time.monotonic() - start < 10


def test_persistent_429_gives_up_with_a_clear_error(fake_confluence, make_settings):
    fake_confluence.fail_next(429, times=100, retry_after="0", path_contains="/content/search")
    client = ConfluenceClient(make_settings(**confluence_settings(fake_confluence), confluence_max_retries=2))
    with pytest.raises(ConfluenceError, match="429"):
        list(client.iter_space_pages("ENG"))
    assert len([r for r in fake_confluence.requests if "/content/search" in r]) == 3  # 1 try + 2 retries


def test_server_errors_are_retried(fake_confluence, make_settings):
    fake_confluence.fail_next(500, times=2, path_contains="/content/search")
    client = ConfluenceClient(make_settings(**confluence_settings(fake_confluence)))
    assert len(list(client.iter_space_pages("ENG"))) == 5


def test_server_dc_uses_a_bearer_pat_under_a_context_path(make_settings):
    fake = FakeConfluence(cloud=False, context_path="/confluence")
    sample_space(fake)
    fake.start()
    try:
        client = ConfluenceClient(make_settings(**confluence_settings(fake)))
        pages = list(client.iter_space_pages("ENG"))
        assert len(pages) == 5
        assert all(p.url.startswith(f"http://127.0.0.1:{fake.port}/confluence/display/ENG/") for p in pages)
    finally:
        fake.stop()


@pytest.mark.parametrize("site", ["v1_gone", "no_v2"])
def test_cloud_space_check_reads_v2_and_falls_back_to_v1(fake_confluence, make_settings, site):
    if site == "v1_gone":
        fake_confluence.v1_space_gone = True  # v1 /rest/api/space answers "Gone": v2 alone must do
    else:
        fake_confluence.v2_status = 404  # no v2 space API on this site: v1
    client = ConfluenceClient(make_settings(**confluence_settings(fake_confluence), confluence_max_retries=0))
    assert client.get_space("ENG")["key"] == "ENG"
    with pytest.raises(ConfluenceError, match="Space 'NOPE' not found"):
        client.get_space("NOPE")
    v1 = [r for r in fake_confluence.requests if "/rest/api/space/" in r]
    assert [r for r in fake_confluence.requests if "/api/v2/spaces?keys=ENG" in r]
    assert bool(v1) == (site == "no_v2")
