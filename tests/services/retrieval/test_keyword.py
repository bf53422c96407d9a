"""The keyword index over a real (embedded) Chroma collection: incremental re-tokenizing, rate-limited rebuilds."""

from __future__ import annotations

import time

import pytest

from confluence_rag import index_schema as keys
from confluence_rag.components.vector_store import build_chroma_client, open_chunk_store
from confluence_rag.retrieval.filters import SearchFilters
from confluence_rag.retrieval.keyword import KeywordIndex
from confluence_rag.retrieval.text import KeywordAnalyzer
from confluence_rag.settings import Settings

TEXTS = {
    "a#0": "La procédure de remboursement des frais de déplacement.",
    "b#0": "Configurer le VPN de l'entreprise sur un portable.",
    "c#0": "Demander des congés payés dans l'outil RH.",
}


class CountingAnalyzer(KeywordAnalyzer):
    """The real analyzer, counting the texts it tokenizes."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def __call__(self, text: str) -> list[str]:
        self.calls += 1
        return super().__call__(text)


@pytest.fixture
def store(tmp_path):
    settings = Settings(chroma_path=tmp_path / "chroma")
    store = open_chunk_store(build_chroma_client(settings), "keywords", {"test": "keyword"})
    store.collection.add(
        ids=list(TEXTS),
        documents=list(TEXTS.values()),
        metadatas=[{keys.PAGE_ID: i[0], keys.SPACE_KEY: "S", keys.CHUNK_INDEX: 0} for i in TEXTS],
        embeddings=[[1.0, 0.0]] * len(TEXTS),
    )
    store.bump_generation()
    return store


def ranked(index: KeywordIndex, query: str) -> list[tuple[str, float]]:
    return [(h.id, round(h.score, 6)) for h in index.search(query, 10, SearchFilters())]


def test_rebuild_retokenizes_only_changed_chunks_and_scores_like_a_fresh_index(store) -> None:
    analyzer = CountingAnalyzer()
    index = KeywordIndex(analyzer, refresh_s=0)
    index.sync(store)
    assert analyzer.calls == 3
    assert ranked(index, "VPN portable")[0][0] == "b#0"

    store.collection.update(
        ids=["b#0"], documents=["Installer l'imprimante du troisième étage."], embeddings=[[1.0, 0.0]]
    )
    store.collection.delete(ids=["c#0"])
    store.bump_generation()
    analyzer.calls = 0
    index._rebuild(store, store.generation())

    assert analyzer.calls == 1  # only the changed chunk; the deleted one left the cache
    assert ranked(index, "VPN") == []
    assert ranked(index, "imprimante")[0][0] == "b#0"
    fresh = KeywordIndex(refresh_s=0)
    fresh.sync(store)
    for query in ("imprimante étage", "remboursement frais", "congés"):
        assert ranked(index, query) == ranked(fresh, query)


def test_rebuilds_are_rate_limited(store) -> None:
    index = KeywordIndex(refresh_s=0)
    index.sync(store)
    index._rebuild(store, store.generation())  # as the background thread does
    built_in = sum(index.last_build_s.values())
    assert index._next_build_at >= time.monotonic() - 1 + 2.9 * built_in  # duty 0.25: wait 3× the build

    index._next_build_at = time.monotonic() + 60  # as after a 20 s rebuild of a large index
    store.collection.update(ids=["a#0"], documents=["Nouveau texte sur les astreintes."], embeddings=[[1.0, 0.0]])
    store.bump_generation()
    index.sync(store)  # the generation moved, but the window is not over: keep serving the last index
    assert not index._rebuilding
    assert ranked(index, "astreintes") == []
    assert ranked(index, "remboursement")[0][0] == "a#0"

    index._next_build_at = 0.0  # the window is over: the last state is reached
    index.sync(store)
    deadline = time.monotonic() + 30
    while ranked(index, "astreintes") == [] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ranked(index, "astreintes")[0][0] == "a#0"
