"""No side channel through ranking: pages a reader cannot open never move that reader's results.

A user who may edit a readable page could otherwise watch their own scores while restricted pages
change, and learn whether a word appears in them. Synced from the Confluence fake over HTTP with the
real pipeline (real embedding model, Chroma); then only pages alice cannot read are edited (a page
full of the query words added, one deleted, one rewritten; in a space she may not view and behind a
page restriction in one she may) and synced again. Alice's results, scores and order, must not move,
in every retrieval mode and fusion; bob, who may read the edited pages, must see the change.
"""

from __future__ import annotations

import pytest

from confluence_rag.auth.identity import Identity
from confluence_rag.container import Components
from confluence_rag.retrieval.search import SearchService
from confluence_rag.worker.runs import ingest_space
from tests.conftest import confluence_settings
from tests.fakes.confluence import FakeConfluence

QUERY = "budget trimestriel des fournisseurs"
READABLE = [
    "<p>Le budget trimestriel est validé en comité. Les fournisseurs sont payés à trente jours.</p>",
    "<p>Budget : chaque équipe présente son budget trimestriel avant le 15 du mois.</p>",
    "<p>La liste des fournisseurs agréés se trouve dans l'outil achats.</p>",
    "<p>Procédure de congés et de remboursement des frais de déplacement.</p>",
    "<p>Le budget des fournisseurs informatiques est revu chaque année.</p>",
]
FULL_OF_QUERY = "<p>" + " ".join(["budget trimestriel fournisseurs"] * 40) + "</p>"


def site() -> tuple[FakeConfluence, dict[str, str]]:
    """PUB: viewed by staff (alice, bob), with pages restricted to bob; SEC: viewed by bob only."""
    fake = FakeConfluence(cloud=True, page_cap=50)
    fake.add_group("staff", ["alice", "bob"])
    for space in ("PUB", "SEC"):
        fake.add_space(space)
    fake.set_space_permissions("PUB", groups=["staff"])
    fake.set_space_permissions("SEC", users=["bob"])
    for i, html in enumerate(READABLE):
        fake.add_page("PUB", f"Page {i}", html)
    pages = {
        "restricted": fake.add_page("PUB", "Restreinte", "<p>Le budget trimestriel secret.</p>").id,
        "doomed": fake.add_page("PUB", "Vouée", "<p>Fournisseurs en litige, budget gelé.</p>").id,
        "sec": fake.add_page("SEC", "Secret", "<p>Le budget trimestriel de la fusion.</p>").id,
    }
    fake.set_read_restriction(pages["restricted"], users=["bob"])
    fake.set_read_restriction(pages["doomed"], users=["bob"])
    return fake, pages


def results(service: SearchService, who: Identity, mode: str) -> list[tuple[str, float]]:
    return [(s.chunk_id, s.score) for s in service.search(QUERY, top_k=10, mode=mode, identity=who)]


@pytest.mark.timeout(600)
def test_edits_to_unreadable_pages_leave_a_readers_scores_and_order_unchanged(make_settings) -> None:
    fake, pages = site()
    fake.start()
    try:
        settings = make_settings(**confluence_settings(fake), permissions="confluence")
        components = Components(settings)
        alice = Identity(fake.users["alice"].account_id, frozenset(), False)
        bob = Identity(fake.users["bob"].account_id, frozenset(), False)
        modes = [("score", "keyword"), ("score", "vector"), ("score", "hybrid"), ("rrf", "hybrid")]

        def sync_and_search() -> dict:
            for space in ("PUB", "SEC"):
                ingest_space(components, space)
            services = {}  # new ones: their first search builds the keyword index from the synced Chroma
            for fusion in ("score", "rrf"):
                services[fusion] = SearchService(Components(settings.model_copy(update={"fusion": fusion})))
                services[fusion].components.__dict__["embedder"] = components.embedder  # one model in memory
            return {
                (who, fusion, mode): results(services[fusion], identity, mode)
                for who, identity in (("alice", alice), ("bob", bob))
                for fusion, mode in modes
            }

        before = sync_and_search()
        assert before["alice", "score", "keyword"], "the query must find alice's readable pages"

        fake.add_page("SEC", "Bourrage", FULL_OF_QUERY)
        fake.set_read_restriction(fake.add_page("PUB", "Bourrage restreint", FULL_OF_QUERY).id, users=["bob"])
        fake.delete_page(pages["doomed"])
        fake.edit_page(pages["restricted"], html=FULL_OF_QUERY)
        fake.edit_page(pages["sec"], html="<p>Plus rien à voir.</p>")
        after = sync_and_search()

        assert after["bob", "score", "keyword"] != before["bob", "score", "keyword"]  # the edits were synced
        for fusion, mode in modes:
            assert after["alice", fusion, mode] == before["alice", fusion, mode], (fusion, mode)
    finally:
        fake.stop()
