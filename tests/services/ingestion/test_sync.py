"""Sync stays exactly in step with Confluence: after every sync the index equals what a full
re-index would give (same pages, same chunk ids and metadata, no duplicates), cheaply."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from urllib.parse import unquote_plus
from zoneinfo import ZoneInfo

import pytest

from confluence_rag.container import Components
from confluence_rag.ingestion.indexer import PAGE_BATCH
from confluence_rag.worker.runs import ingest_space
from tests.conftest import confluence_settings
from tests.fakes.confluence import FakeConfluence, sample_space


@pytest.fixture
def fake():
    fake = FakeConfluence(cloud=True, page_cap=7, timezone="Europe/Paris")
    pages = sample_space(fake, "ENG")
    for i in range(40):  # many pages, small server page cap
        fake.add_page(
            "ENG",
            f"Note {i:02d}",
            f"<h1>Note {i}</h1><p>Runbook entry number {i} for service s{i}.</p>",
            parent=pages["root"].id,
        )
    fake.add_space("OPS")
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def make_components(fake, make_settings):
    def make(**extra) -> Components:
        return Components(
            make_settings(
                **confluence_settings(fake), confluence_timezone="Europe/Paris", confluence_page_batch=50, **extra
            )
        )

    return make


def snapshot(components: Components) -> dict[str, tuple[str, dict]]:
    got = components.store().collection.get(include=["metadatas", "documents"])
    return {i: (d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)}


def assert_matches_full_reindex(components: Components, make_components, space: str = "ENG") -> None:
    fresh = make_components(
        chroma_collection=components.settings.chroma_collection + "_fresh",
        state_dir=components.settings.state_dir / "fresh",
    )
    ingest_space(fresh, space)
    mine = {k: v for k, v in snapshot(components).items() if v[1]["space_key"] == space}
    assert mine == {k: v for k, v in snapshot(fresh).items() if v[1]["space_key"] == space}


def body_fetches(fake: FakeConfluence) -> int:
    return sum(1 for r in fake.requests if "/content/search" in r and "body.export_view" in r)


def test_no_change_resync_fetches_few_bodies_and_embeds_nothing(fake, make_components):
    components = make_components()
    first = ingest_space(components, "ENG")
    assert first.mode == "full" and first.pages_added == 45
    before = snapshot(components)
    fake.requests.clear()
    second = ingest_space(components, "ENG")
    assert second.mode == "incremental" and second.pages_seen == 45
    assert second.chunks_written == 0 and second.pages_added == second.pages_updated == second.pages_deleted == 0
    assert snapshot(components) == before
    listing = [r for r in fake.requests if "/content/search" in r and "body.export_view" not in r]
    assert len(listing) == 7  # 45 pages / cap 7, no bodies


def test_incremental_window_uses_the_account_time_zone(fake, make_components):
    components = make_components()
    ingest_space(components, "ENG")
    state = json.loads((components.settings.state_dir / "sync_state.json").read_text())
    fake.requests.clear()
    ingest_space(components, "ENG")
    window = [unquote_plus(r) for r in fake.requests if "lastmodified" in r]
    # The last sync point minus the overlap, at minute precision, in Paris time (not UTC).
    since = datetime.fromisoformat(state["ENG"]["last_success"]) - timedelta(minutes=10)
    expected = since.astimezone(ZoneInfo("Europe/Paris")).strftime("%Y-%m-%d %H:%M")
    assert since.astimezone(ZoneInfo("Europe/Paris")).utcoffset() == timedelta(hours=1)  # November
    assert any(f'lastmodified >= "{expected}"' in r for r in window), window


def test_edit_add_delete_move_relabel_restrict_rename(fake, make_components):
    components = make_components()
    ingest_space(components, "ENG")
    ids = {p.title: p.id for p in fake.pages.values()}
    fake.edit_page(ids["On-call rotation"], html="<p>The pager now rotates every Tuesday.</p>")
    fake.add_page("ENG", "Brand new page", "<p>Freshly written content about quokkas.</p>")
    fake.delete_page(ids["Note 00"])
    fake.move_page(ids["Note 01"], space="OPS")
    fake.relabel(ids["Note 02"], ["archived-runbook"])
    fake.restrict(ids["Note 03"])
    fake.edit_page(ids["Deployment guide"], title="Deployment handbook")  # its child's breadcrumb changes

    stats = ingest_space(components, "ENG")
    assert stats.mode == "incremental"
    assert stats.pages_deleted == 3  # deleted, moved out, restricted
    assert_matches_full_reindex(components, make_components)
    index = snapshot(components)
    rollback = next(m for _, m in index.values() if m["title"] == "Rollback procedure")
    assert json.loads(rollback["breadcrumb"]) == ["Engineering handbook", "Deployment handbook"]
    assert any(m.get("label:archived-runbook") for _, m in index.values())

    ops = ingest_space(components, "OPS")  # the moved page appears in its new space, once
    assert ops.pages_added == 1
    assert [m["space_key"] for _, m in snapshot(components).values() if m["page_id"] == ids["Note 01"]] == ["OPS"]


def test_rate_limits_and_server_errors_during_sync_are_survived(fake, make_components):
    components = make_components()
    fake.fail_next(429, times=2, retry_after="1", path_contains="/content/search")
    fake.fail_next(503, times=1, retry_after="1", path_contains="/content/search")
    fake.fail_next(502, times=1, path_contains="/content/search")
    stats = ingest_space(components, "ENG")
    assert stats.pages_added == 45
    assert_matches_full_reindex(components, make_components)


def test_interrupted_sync_resumes_without_duplicates(fake, make_components):
    components = make_components(confluence_max_retries=1)
    ingest_space(components, "ENG")
    for i in range(40):
        fake.edit_page(
            next(p.id for p in fake.pages.values() if p.title == f"Note {i:02d}"),
            html=f"<p>Rewritten runbook {i}, version two.</p>",
        )
    # The listing succeeds, then the server breaks down after enough requests of 7 bodies for the
    # first batch of pages to be written, but not the rest.
    requests = PAGE_BATCH // 7 + 1
    assert requests * 7 < 40, "the test needs more edited pages than one batch"
    fake.fail_next(500, times=1000, path_contains="lastmodified", after=requests)
    with pytest.raises(Exception, match="500"):
        ingest_space(components, "ENG")
    written = sum(m["version"] == 2 for _, m in snapshot(components).values())
    assert 0 < written < 40
    fake.failures.clear()
    stats = ingest_space(components, "ENG")
    assert stats.mode == "incremental" and stats.pages_updated == 40 - written
    assert_matches_full_reindex(components, make_components)
    ids = list(snapshot(components))
    assert len(ids) == len(set(ids))


def test_scope_root_page_excluded_labels_cql_filter_and_blogposts(fake, make_components):
    deploy = next(p for p in fake.pages.values() if p.title == "Deployment guide")
    fake.add_page("ENG", "Team news", "<p>We shipped the quokka release.</p>", type="blogpost")
    sub = make_components(confluence_root_page_id=deploy.id, chroma_collection="sub")
    ingest_space(sub, "ENG")
    assert {m["title"] for _, m in snapshot(sub).values()} == {"Deployment guide", "Rollback procedure"}

    scoped = make_components(
        confluence_exclude_labels=["rh", "handbook"],
        confluence_cql_filter='title !~ "Note"',
        confluence_include_blogposts=True,
        chroma_collection="scoped",
    )
    ingest_space(scoped, "ENG")
    titles = {m["title"] for _, m in snapshot(scoped).values()}
    assert titles == {"Deployment guide", "Rollback procedure", "On-call rotation", "Team news"}

    fake.relabel(deploy.id, ["ops", "rh"])  # now excluded: it must leave the index
    ingest_space(scoped, "ENG")
    assert "Deployment guide" not in {m["title"] for _, m in snapshot(scoped).values()}


def test_changed_scope_settings_force_a_full_sync(fake, make_components):
    ingest_space(make_components(chroma_collection="scope"), "ENG")
    stats = ingest_space(make_components(chroma_collection="scope", confluence_exclude_labels=["ops"]), "ENG")
    assert stats.mode == "full" and stats.pages_deleted == 3
