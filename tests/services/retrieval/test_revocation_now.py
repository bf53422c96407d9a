"""A revocation applies at once in a replica whose keyword snapshot is stale (issue 17 point 9).

The replica's BM25 snapshot is rebuilt in the background after a change, and here never (a refresh
period of an hour): right after a permission pass, the snapshot still holds the old access, and
the search must not serve it. Real embedding model, Chroma server, Confluence fake over HTTP."""

from __future__ import annotations

from confluence_rag.auth.identity import Identity
from confluence_rag.container import Components
from confluence_rag.ingestion.sync import sync_permissions
from confluence_rag.retrieval.search import SearchService
from confluence_rag.worker.runs import ingest_space
from tests.conftest import confluence_settings
from tests.fakes.confluence import HR_QUESTIONS, FakeConfluence, hr_space, revoke_for_carol

CAROL = Identity(user="carol", groups=frozenset(), is_admin=False)


def test_revoked_and_deleted_pages_are_not_served_while_the_keyword_snapshot_is_stale(make_settings, chroma_server):
    fake = FakeConfluence(cloud=False, page_cap=5)
    pages = hr_space(fake)
    fake.start()
    try:
        settings = make_settings(
            **confluence_settings(fake), chroma_host="127.0.0.1", chroma_port=chroma_server.port, keyword_refresh_s=3600
        )
        components = Components(settings)
        ingest_space(components, "HR")
        search = SearchService(components)
        for title, question in HR_QUESTIONS.items():
            assert title in [s.title for s in search.search(question, identity=CAROL)]
        stale = search.keyword.snapshot.generation

        revoke_for_carol(fake, pages)
        sync_permissions(components.source("HR"), components.indexer(), "HR")  # the scheduled pass

        for mode in ("hybrid", "keyword", "vector"):
            for title, question in HR_QUESTIONS.items():
                found = [s.title for s in search.search(question, mode=mode, identity=CAROL)]
                assert title not in found, (mode, title)
                assert search.keyword.snapshot.generation == stale  # still the old snapshot
        # What carol may still read is still found.
        assert [s.title for s in search.search("Welcome to the HR space", identity=CAROL)][:1] == ["HR Home"]

        fake.set_space_permissions("HR", groups=["managers"], anonymous=False)  # staff loses the space
        sync_permissions(components.source("HR"), components.indexer(), "HR")
        assert search.search("Welcome to the HR space", identity=CAROL) == []
        assert search.spaces(CAROL) == []  # the space list too, before the snapshot is rebuilt
        assert search.keyword.snapshot.generation == stale
    finally:
        fake.stop()
