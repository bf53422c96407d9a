"""Hybrid search over a space ingested from the Confluence fake."""

from __future__ import annotations

import pytest

from confluence_rag.container import Components
from confluence_rag.retrieval.filters import SearchFilters
from confluence_rag.retrieval.search import SearchService
from confluence_rag.worker.runs import ingest_space
from tests.conftest import confluence_settings


@pytest.fixture
def indexed(fake_confluence, make_settings):
    fake_confluence.add_space("HR", "Ressources humaines")
    fake_confluence.add_page(
        "HR", "Télétravail", "<p>Le télétravail est possible trois jours par semaine.</p>", labels=["rh"]
    )
    components = Components(make_settings(**confluence_settings(fake_confluence)))
    ingest_space(components, "ENG")
    ingest_space(components, "HR")
    return components, fake_confluence


@pytest.mark.parametrize("mode", ["hybrid", "keyword", "vector"])
def test_finds_the_right_page_in_every_mode(indexed, mode):
    components, fake = indexed
    results = SearchService(components).search("When can we deploy to production?", top_k=3, mode=mode)
    assert results[0].title == "Deployment guide"
    deploy = next(p for p in fake.pages.values() if p.title == "Deployment guide")
    assert results[0].url.startswith(fake.base_url + fake.webui(deploy))
    assert results[0].breadcrumb == ["Engineering handbook"]
    assert [r.n for r in results] == list(range(1, len(results) + 1))


def test_results_are_one_per_page(indexed):
    components, _ = indexed
    results = SearchService(components).search("deployment rollback zephyr production", top_k=5)
    pages = [r.page_id for r in results]
    assert len(pages) == len(set(pages)) >= 2


def test_space_and_label_filters_apply_to_both_retrievers(indexed):
    components, _ = indexed
    service = SearchService(components)
    for mode in ("keyword", "vector", "hybrid"):
        hr_only = service.search(
            "deploy production télétravail", top_k=5, filters=SearchFilters(spaces=("HR",)), mode=mode
        )
        assert {r.space_key for r in hr_only} == {"HR"}, mode
        ops_only = service.search("deploy on-call rollback", top_k=5, filters=SearchFilters(labels=("ops",)), mode=mode)
        assert ops_only and all("ops" in r.labels for r in ops_only), mode


def test_keyword_index_follows_new_ingestions(indexed):
    components, fake = indexed
    service = SearchService(components)
    assert not [r for r in service.search("quokka", mode="keyword")]
    fake.add_page("ENG", "Mascot", "<p>Our mascot is a quokka named Kiki.</p>")
    ingest_space(components, "ENG")
    service.keyword.sync(components.store())  # refresh_s=0 in tests: the next query sees the change
    for _ in range(50):
        hits = service.search("quokka", mode="keyword")
        if hits:
            break
        import time

        time.sleep(0.1)
    assert hits and hits[0].title == "Mascot"


def test_snippets_are_plain_text():
    from confluence_rag.retrieval.search import snippet

    text = "## Étapes\n\n| Outil | Délai |\n| --- | --- |\n| **VPN** | 1 jour |\n\n- voir [la page](https://x/y)"
    assert snippet(text) == "Étapes Outil Délai VPN 1 jour voir la page"
    assert snippet("mot " * 200).endswith("…") and len(snippet("mot " * 200)) <= 301
