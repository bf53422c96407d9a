"""ingest_space against the Confluence fake and a real Chroma (embedded and server)."""

from __future__ import annotations

import pytest

from confluence_rag.container import Components
from confluence_rag.worker.runs import ingest_space
from tests.conftest import confluence_settings


@pytest.fixture(params=["embedded", "server"])
def components(request, fake_confluence, make_settings):
    extra = {}
    if request.param == "server":
        server = request.getfixturevalue("chroma_server")
        extra = {"chroma_host": "127.0.0.1", "chroma_port": server.port}
    return Components(make_settings(**confluence_settings(fake_confluence), **extra))


def _index(components: Components) -> dict[str, dict]:
    got = components.store().collection.get(include=["metadatas"])
    return dict(zip(got["ids"], got["metadatas"], strict=True))


def test_ingest_then_rerun_writes_nothing_new(components, fake_confluence):
    first = ingest_space(components, "ENG")
    assert (first.pages_added, first.pages_done, first.pages_failed) == (5, 5, 0)
    index = _index(components)
    assert len(index) == first.chunks_written > 5
    assert {m["page_id"] for m in index.values()} == set(fake_confluence.pages)
    meta = next(m for m in index.values() if m["title"] == "Rollback procedure")
    for key in (
        "page_id",
        "space_key",
        "title",
        "url",
        "version",
        "last_modified",
        "labels",
        "breadcrumb",
        "heading",
        "author",
    ):
        assert meta[key] not in (None, ""), key
    assert all("do-not-index" not in d for d in components.store().collection.get()["documents"])

    second = ingest_space(components, "ENG")
    assert (second.pages_unchanged, second.chunks_written, second.pages_added) == (
        5,
        0,
        0,
    )
    assert _index(components) == index  # same ids, same metadata, no duplicates


def test_edits_deletions_and_relabels_are_applied(components, fake_confluence):
    ingest_space(components, "ENG")
    ids = {p.title: p.id for p in fake_confluence.pages.values()}
    fake_confluence.edit_page(ids["On-call rotation"], html="<p>The pager moves every Tuesday now.</p>")
    fake_confluence.delete_page(ids["Rollback procedure"])
    fake_confluence.relabel(ids["Congés de l'équipe"], ["rh", "absences"])

    stats = ingest_space(components, "ENG")
    assert (stats.pages_updated, stats.pages_deleted, stats.pages_unchanged) == (
        2,
        1,
        2,
    )
    index = _index(components)
    assert ids["Rollback procedure"] not in {m["page_id"] for m in index.values()}
    oncall = [m for m in index.values() if m["page_id"] == ids["On-call rotation"]]
    assert len(oncall) == 1 and oncall[0]["version"] == 2
    conges = next(m for m in index.values() if m["page_id"] == ids["Congés de l'équipe"])
    assert conges["label:absences"] is True


def test_full_reingest_rewrites_every_page_without_duplicates(components):
    first = ingest_space(components, "ENG")
    full = ingest_space(components, "ENG", full=True)
    assert full.pages_updated == 5 and full.chunks_written == first.chunks_written
    assert len(_index(components)) == first.chunks_written
