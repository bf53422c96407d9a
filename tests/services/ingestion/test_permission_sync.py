"""Ingestion mirrors Confluence read access in the same run as content, and the permission pass keeps
it in step without re-embedding: Server/DC (PAT, usernames and group names: the contract other
tooling drives) and Cloud (accountIds, group ids, folders), over HTTP against the fake."""

from __future__ import annotations

import json

import pytest
from llama_index.embeddings.huggingface import HuggingFaceEmbedding

from confluence_rag import index_schema as keys
from confluence_rag.auth.identity import ANONYMOUS, Identity
from confluence_rag.container import Components
from confluence_rag.retrieval.search import SearchService
from confluence_rag.worker.runs import ingest_space, permission_pass
from tests.conftest import confluence_settings
from tests.fakes.confluence import FakeConfluence
from tests.services.access.test_confluence import populate

PAYROLL_Q = "When are salaries paid?"


def who(fake: FakeConfluence, username: str | None) -> Identity:
    if username is None:
        return ANONYMOUS
    return Identity(fake.users[username].account_id if fake.cloud else username, frozenset(), False)


def readable_titles(components: Components, fake: FakeConfluence, username: str | None, query: str = PAYROLL_Q):
    search = SearchService(components)  # fresh: reflects the index now
    return {r.title for r in search.search(query, top_k=20, identity=who(fake, username))}


@pytest.fixture
def dc():
    fake = FakeConfluence(cloud=False, page_cap=2, restriction_cap=2)
    fake.ids = populate(fake)
    fake.add_page("HR", "Holidays", "<p>Salaries and holidays: ask HR.</p>", parent=fake.ids["home"])
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def embed_calls(monkeypatch) -> list[int]:
    """Counts texts the real model embeds (the spy delegates to the real method)."""
    calls: list[int] = []
    original = HuggingFaceEmbedding._get_text_embeddings

    def counting(self, texts):
        calls.append(len(texts))
        return original(self, texts)

    monkeypatch.setattr(HuggingFaceEmbedding, "_get_text_embeddings", counting)
    return calls


def test_dc_sync_mirrors_access_with_usernames_and_group_names(dc, make_settings):
    settings = make_settings(**confluence_settings(dc))
    assert settings.permissions == "confluence" and settings.confluence_cloud is False  # the default with a URL
    components = Components(settings)
    stats = ingest_space(components, "HR")
    assert stats.pages_added == 4 and stats.access_problems == []
    # alice: listed on Executive and on Payroll. bob: Executive through leads ⊃ board, listed on Payroll.
    # carol: in finance (Payroll) but not allowed by Executive: denied. dave: space view as a user,
    # Executive through leads, but not on Payroll: denied. Anonymous: no anonymous access to HR.
    assert "Payroll" in readable_titles(components, dc, "alice")
    assert "Payroll" in readable_titles(components, dc, "bob")
    assert readable_titles(components, dc, "carol") == {"HR Home", "Holidays"}
    assert readable_titles(components, dc, "dave") == {"HR Home", "Holidays", "Executive"}
    assert readable_titles(components, dc, None) == set()
    assert SearchService(components).spaces(identity=who(dc, "carol")) == [{"key": "HR", "pages": 2, "chunks": 2}]
    assert SearchService(components).spaces(identity=ANONYMOUS) == []

    meta = next(
        m for m in components.store().collection.get(include=["metadatas"])["metadatas"] if m["title"] == "Payroll"
    )
    layers = json.loads(meta[keys.ACCESS_LAYERS])
    assert layers == [["g:board", "g:finance", "u:alice", "u:bob", "u:carol"], ["g:leads", "u:alice"]]


def test_restriction_changes_reach_the_subtree_without_reembedding(dc, make_settings, embed_calls):
    components = Components(make_settings(**confluence_settings(dc)))
    ingest_space(components, "HR")
    before = components.store().collection.get(include=["embeddings", "documents"])
    embed_calls.clear()

    dc.set_read_restriction(dc.ids["home"], groups=["finance"])  # on the root: the whole space
    stats = permission_pass(components, "HR")
    assert stats.mode == "permissions" and stats.access_pages_updated == 4
    assert embed_calls == [] and stats.chunks_written == 0
    after = components.store().collection.get(include=["embeddings", "documents"])
    assert after["ids"] == before["ids"] and after["documents"] == before["documents"]
    assert (after["embeddings"] == before["embeddings"]).all()
    assert readable_titles(components, dc, "dave") == set()  # not in finance
    assert readable_titles(components, dc, "carol") == {"HR Home", "Holidays"}
    assert "Payroll" in readable_titles(components, dc, "alice")

    # The same change seen by a plain sync (no version moved): the pass at its end applies it.
    dc.set_read_restriction(dc.ids["home"])
    dc.groups["finance"].members.add("dave")
    dc.set_read_restriction(dc.ids["exec"])
    stats = ingest_space(components, "HR")
    assert stats.mode == "incremental" and stats.chunks_written == 0 and embed_calls == []
    assert stats.access_pages_updated == 4  # Executive + Payroll (layers), and all: the finance members
    assert "Payroll" in readable_titles(components, dc, "dave")  # now in finance, Executive open


def test_a_page_moved_under_a_restricted_parent_takes_its_restriction(dc, make_settings):
    components = Components(make_settings(**confluence_settings(dc)))
    ingest_space(components, "HR")
    holidays = next(p.id for p in dc.pages.values() if p.title == "Holidays")
    assert "Holidays" in readable_titles(components, dc, "carol")
    dc.move_page(holidays, parent=dc.ids["exec"])
    ingest_space(components, "HR")
    assert "Holidays" not in readable_titles(components, dc, "carol")
    assert "Holidays" in readable_titles(components, dc, "dave")


def test_cloud_sync_uses_account_ids_group_ids_and_folder_restrictions(make_settings):
    fake = FakeConfluence(cloud=True, page_cap=3, restriction_cap=1)
    ids = populate(fake)
    folder = fake.add_page("HR", "Reviews", "", type="folder", parent=ids["home"])
    fake.add_page("HR", "Annual review", "<p>Annual salary review in March.</p>", parent=folder.id)
    fake.set_read_restriction(folder.id, groups=["finance"])
    fake.v1_space_gone = True  # v1 /rest/api/space answers "Gone" (some gateways already do): v2 alone
    fake.start()
    try:
        components = Components(make_settings(**confluence_settings(fake)))
        ingest_space(components, "HR")
        assert not [r for r in fake.requests if "/rest/api/space/" in r]
        query = "salary review"
        assert "Annual review" in readable_titles(components, fake, "carol", query)
        assert "Annual review" not in readable_titles(components, fake, "dave", query)
        assert "Payroll" in readable_titles(components, fake, "alice")
        # Groups from the identity provider's token instead of Confluence (GROUPS_SOURCE=token).
        token = Components(components.settings.model_copy(update={"groups_source": "token"}))
        search = SearchService(token)
        carol = fake.users["carol"].account_id
        with_groups = Identity(carol, frozenset({fake.groups["finance"].id, fake.groups["staff"].id}), False)
        assert "Annual review" in {r.title for r in search.search(query, identity=with_groups)}
        without = Identity(carol, frozenset({fake.groups["staff"].id}), False)
        assert "Annual review" not in {r.title for r in search.search(query, identity=without)}
    finally:
        fake.stop()


def test_cloud_trashed_ancestor_is_denied_and_reported_not_a_failed_sync(make_settings):
    fake = FakeConfluence(cloud=True, page_cap=3)
    ids = populate(fake)
    trashed = fake.add_page("HR", "Old plans", "<p>old</p>", status="trashed", parent=ids["home"])
    fake.add_page("HR", "Salary bands", "<p>Salary bands are paid by grade.</p>", parent=trashed.id)
    fake.start()
    try:
        components = Components(make_settings(**confluence_settings(fake)))
        stats = ingest_space(components, "HR")  # CONFCLOUD-77618 cannot hit: ancestors.restrictions never expanded
        assert stats.pages_added == 4
        assert any(trashed.id in problem for problem in stats.access_problems)
        assert not any("ancestors.restrictions" in r for r in fake.requests)
        assert "Salary bands" not in readable_titles(components, fake, "alice", "salary bands grade")
        assert "HR Home" in readable_titles(components, fake, "alice", "Welcome to HR")
    finally:
        fake.stop()


def test_chunks_without_access_metadata_are_denied_when_permissions_are_on(dc, make_settings):
    off = Components(make_settings(**confluence_settings(dc), permissions="off"))
    ingest_space(off, "HR")
    assert readable_titles(off, dc, None) >= {"Payroll", "HR Home"}  # off: today's behaviour
    on = Components(off.settings.model_copy(update={"permissions": "confluence"}))
    assert readable_titles(on, dc, "alice") == set()
    ingest_space(on, "HR")  # the permission pass stamps every chunk, nothing re-embedded
    assert "Payroll" in readable_titles(on, dc, "alice")
